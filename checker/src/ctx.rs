//! What a run knows while it checks one deployment, and the steps every check is built
//! from: send a request (noticing when the service stops answering), insert, delete,
//! read, and wait for a read to show something.
//!
//! A record an insert acknowledged may take time to show in reads (a deployment that
//! answers before it stores). Only `read-your-write` judges that delay; every other
//! check waits up to `--settle` for what it expects, so that it judges its own
//! property and not the delay again.

use crate::http::{Answer, Http, Req};
use crate::listing::Listing;
use crate::report::{Outcome, PerAction};
use crate::srn::SrnPool;
use crate::variants::{Value, Variant};
use protocol::shapes::{Action, FieldName, NAME, SECTION, SRN};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The limits of a run.
#[derive(Debug, Clone)]
pub struct Options {
    pub timeout: Duration,
    pub deadline: Duration,
    pub settle: Duration,
    pub slow: Duration,
}

/// How many inserts the parallel check sends at once: the most requests a run ever has
/// in flight against one deployment.
pub const PARALLEL: usize = 32;

/// The shape discovery settled on for each action.
pub type Found = PerAction<Option<Variant>>;

/// Something that stopped working, where it was seen and how.
#[derive(Debug, Clone)]
pub struct Broken {
    pub check: &'static str,
    pub why: String,
}

/// The outcome of waiting for reads to show something.
pub struct Waited {
    pub listing: Listing,
    /// Reads made, the first one included.
    pub reads: u32,
    /// From the start of the wait to the read that met the condition (or the last).
    pub after: Duration,
    pub met: bool,
    pub read_req: Req,
}

pub struct Ctx {
    pub http: Http,
    pub opts: Options,
    pub srns: SrnPool,
    pub found: Found,
    /// Actions that stopped working during the run.
    pub broken: Vec<(Action, Broken)>,
    /// Set when the service stopped answering HTTP at all.
    pub down: Option<Broken>,
    /// The check running now.
    pub current: &'static str,
    /// SRNs sent in an insert and not deleted since: what cleanup removes.
    pub created: BTreeSet<String>,
    /// Every SRN ever sent in an insert: the only records the run may touch.
    pub sent: BTreeSet<String>,
    /// The longest an acknowledged write took to show in reads.
    pub lag: Duration,
    /// The record insert discovery stored, for delete discovery to remove.
    pub discovery_srn: Option<String>,
}

pub const NAME_TEXT: &str = "Inventory Check";

impl Ctx {
    pub fn new(http: Http, opts: Options) -> Ctx {
        Ctx {
            http,
            opts,
            srns: SrnPool::new(),
            found: Found::default(),
            broken: Vec::new(),
            down: None,
            current: "",
            created: BTreeSet::new(),
            sent: BTreeSet::new(),
            lag: Duration::ZERO,
            discovery_srn: None,
        }
    }

    pub fn curl(&self, req: &Req) -> String {
        self.http.curl(req)
    }

    /// Sends a request. When no answer comes, asks whether the service answers at
    /// all (`GET /`); if not, the run notes where it went down.
    pub async fn send(&mut self, req: &Req) -> Answer {
        let answer = self.http.send(req).await;
        if answer.status.is_none() && self.down.is_none() && !self.http.answers_at_all().await {
            self.down = Some(Broken {
                check: self.current,
                why: answer.summary(),
            });
        }
        answer
    }

    /// `; the service then stopped answering at all` when it did.
    pub fn down_note(&self) -> &'static str {
        if self.down.is_some() {
            "; after that the service did not answer any request (GET / included)"
        } else {
            ""
        }
    }

    pub fn mark_broken(&mut self, action: Action, why: impl Into<String>) {
        self.broken.push((
            action,
            Broken {
                check: self.current,
                why: why.into(),
            },
        ));
    }

    pub fn is_broken(&self, action: Action) -> Option<&Broken> {
        self.broken
            .iter()
            .find(|(a, _)| *a == action)
            .map(|(_, b)| b)
    }

    /// A record's fields for the current variant.
    pub fn record(srn: &str, name: &str, section: &str) -> Vec<(&'static FieldName, Value)> {
        vec![
            (&NAME, Value::Text(name.to_string())),
            (&SRN, Value::Text(srn.to_string())),
            (&SECTION, Value::Text(section.to_string())),
        ]
    }

    /// Notes that an insert of `srn` is about to be sent: cleanup will remove it.
    pub fn track(&mut self, srn: &str) {
        self.created.insert(srn.to_string());
        self.sent.insert(srn.to_string());
    }

    /// Sends an insert of `srn` with the accepted shape.
    pub async fn insert(&mut self, srn: &str, name: &str) -> (Answer, Req) {
        let variant = self
            .found
            .insert
            .expect("the runner checks insert was found");
        let req = variant.request(&Ctx::record(srn, name, "A"));
        self.track(srn);
        (self.send(&req).await, req)
    }

    /// Inserts and requires a 2xx; otherwise the check fails, and insert, which worked
    /// during discovery, is marked as stopped working.
    pub async fn insert_ok(&mut self, srn: &str) -> Result<Req, Outcome> {
        let (answer, req) = self.insert(srn, NAME_TEXT).await;
        if answer.is_success() {
            return Ok(req);
        }
        let why = format!("an insert answered {}", answer.summary());
        self.mark_broken(Action::InsertRecord, why.clone());
        Err(Outcome::fail(format!("{why}{}", self.down_note())).with_curl([self.curl(&req)]))
    }

    /// Sends a delete of `srn` with the accepted shape.
    pub async fn delete(&mut self, srn: &str) -> (Answer, Req) {
        let variant = self
            .found
            .delete
            .expect("the runner checks delete was found");
        let req = variant.request(&[(&SRN, Value::Text(srn.to_string()))]);
        let answer = self.send(&req).await;
        if answer.is_success() {
            self.created.remove(srn);
        }
        (answer, req)
    }

    pub fn read_req(&self) -> Req {
        let variant = self.found.read.expect("the runner checks read was found");
        variant.request(&[])
    }

    /// One read; a non-2xx answer fails the check (and marks read as stopped working).
    pub async fn read(&mut self) -> Result<(Listing, Req), Outcome> {
        let req = self.read_req();
        let answer = self.send(&req).await;
        if answer.is_success() {
            return Ok((Listing::new(answer.body), req));
        }
        let why = format!("a read answered {}", answer.summary());
        self.mark_broken(Action::ReadDatabase, why.clone());
        Err(Outcome::fail(format!("{why}{}", self.down_note())).with_curl([self.curl(&req)]))
    }

    /// Reads until `cond` holds or `--settle` has passed.
    pub async fn wait_until(&mut self, cond: impl Fn(&Listing) -> bool) -> Result<Waited, Outcome> {
        self.poll(self.opts.settle, |l| cond(l)).await
    }

    /// Keeps reading for about as long as writes have taken to show, and reports the
    /// first read where `bad` holds: a write acknowledged late must not go unseen.
    pub async fn watch(&mut self, bad: impl Fn(&Listing) -> bool) -> Result<Waited, Outcome> {
        let window = (self.lag * 3 / 2 + Duration::from_millis(300)).min(self.opts.settle);
        self.poll(window, bad).await
    }

    async fn poll(
        &mut self,
        window: Duration,
        cond: impl Fn(&Listing) -> bool,
    ) -> Result<Waited, Outcome> {
        let start = Instant::now();
        let mut reads = 0;
        loop {
            let (listing, read_req) = self.read().await?;
            reads += 1;
            let met = cond(&listing);
            if met || start.elapsed() >= window {
                return Ok(Waited {
                    listing,
                    reads,
                    after: start.elapsed(),
                    met,
                    read_req,
                });
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Remembers how long an acknowledged write took to show.
    pub fn saw_lag(&mut self, after: Duration) {
        self.lag = self.lag.max(after);
    }
}

/// `0.42 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
