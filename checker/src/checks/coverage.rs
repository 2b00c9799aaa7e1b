//! `shapes` (advice): every other row of the shape table, in every body encoding it
//! allows, tried once. A shape the deployment does not have (4xx) is listed as
//! unsupported, which is no fault: the assignment fixes only one shape per action. A
//! 5xx, no answer, or a 2xx that did nothing counts against it.

use crate::ctx::{Ctx, NAME_TEXT};
use crate::http::{Answer, Req};
use crate::report::{Detail, Outcome, Status};
use crate::variants::{self, Value, Variant};
use protocol::shapes::{Action, MESSAGE, SRN};

fn detail(ctx: &Ctx, v: &Variant, req: &Req, status: Status, note: String) -> Detail {
    Detail {
        label: v.label(),
        status,
        note,
        curl: Some(ctx.curl(req)),
    }
}

/// Judges everything but a 2xx, which each action judges by what it did.
fn judge_failure(answer: &Answer) -> (Status, String) {
    if answer.is_client_error() {
        (
            Status::NotApplicable,
            format!("unsupported: {}", answer.summary()),
        )
    } else {
        (Status::Fail, answer.summary())
    }
}

fn others(ctx: &Ctx, action: Action) -> Vec<Variant> {
    let found = ctx.found.get(action);
    variants::all(action)
        .into_iter()
        .filter(|v| found != Some(*v))
        .collect()
}

/// Shapes judged by their status alone: health checks, reads.
async fn by_status(ctx: &mut Ctx, action: Action, out: &mut Vec<Detail>) {
    for v in others(ctx, action) {
        let req = match action {
            Action::HealthCheck => v.request(&[(&MESSAGE, Value::Text("coverage".into()))]),
            _ => v.request(&[]),
        };
        let answer = ctx.send(&req).await;
        let (status, note) = if answer.is_success() {
            (Status::Pass, answer.summary())
        } else {
            judge_failure(&answer)
        };
        out.push(detail(ctx, &v, &req, status, note));
        if ctx.down.is_some() {
            return;
        }
    }
}

/// What an accepted request should have done to the reads.
#[derive(Clone, Copy, PartialEq)]
enum Effect {
    /// Its SRN shows (an insert).
    Shows,
    /// Its SRN is gone (a delete).
    Gone,
}

/// Sends one request per shape (`request` builds each and names the SRN it acts on),
/// waits until the reads show the effect of every accepted one, and judges each by
/// whether its own effect showed.
async fn send_and_judge(
    ctx: &mut Ctx,
    shapes: Vec<Variant>,
    mut request: impl FnMut(&mut Ctx, &Variant) -> (Req, String),
    effect: Effect,
    out: &mut Vec<Detail>,
) -> Result<(), Outcome> {
    let mut sent = Vec::new();
    for v in shapes {
        let (req, srn) = request(ctx, &v);
        let answer = ctx.send(&req).await;
        if ctx.down.is_some() {
            out.push(detail(ctx, &v, &req, Status::Fail, answer.summary()));
            return Ok(());
        }
        sent.push((v, req, answer, srn));
    }
    let shows = effect == Effect::Shows;
    let acked: Vec<String> = sent
        .iter()
        .filter(|s| s.2.is_success())
        .map(|s| s.3.clone())
        .collect();
    let waited = ctx
        .wait_until(|l| acked.iter().all(|s| l.contains(s) == shows))
        .await?;
    for (v, req, answer, srn) in sent {
        let done = waited.listing.contains(&srn) == shows;
        let (status, note) = match (answer.is_success(), done) {
            (true, true) => {
                if effect == Effect::Gone {
                    ctx.created.remove(&srn);
                }
                (Status::Pass, answer.summary())
            }
            (true, false) => {
                let missing = match effect {
                    Effect::Shows => "never showed in the reads",
                    Effect::Gone => "is still in the reads",
                };
                (
                    Status::Fail,
                    format!("{}, but {srn} {missing}", answer.summary()),
                )
            }
            (false, _) => judge_failure(&answer),
        };
        out.push(detail(ctx, &v, &req, status, note));
    }
    Ok(())
}

/// Every other insert shape, each with its own SRN; accepted when the record shows.
async fn inserts(ctx: &mut Ctx, out: &mut Vec<Detail>) -> Result<(), Outcome> {
    let shapes = others(ctx, Action::InsertRecord);
    let request = |ctx: &mut Ctx, v: &Variant| {
        let srn = ctx.srns.fresh();
        let req = v.request(&Ctx::record(&srn, NAME_TEXT, "A"));
        ctx.track(&srn);
        (req, srn)
    };
    send_and_judge(ctx, shapes, request, Effect::Shows, out).await
}

/// Every other delete shape, each removing its own record inserted the accepted way.
async fn deletes(ctx: &mut Ctx, out: &mut Vec<Detail>) -> Result<(), Outcome> {
    let shapes = others(ctx, Action::DeleteRecord);
    let mut targets = Vec::new();
    for _ in &shapes {
        let srn = ctx.srns.fresh();
        ctx.insert_ok(&srn).await?;
        targets.push(srn);
    }
    let all = targets.clone();
    ctx.wait_until(|l| all.iter().all(|s| l.contains(s)))
        .await?;
    let mut targets = targets.into_iter();
    let request = |_: &mut Ctx, v: &Variant| {
        let srn = targets.next().expect("one target per shape");
        (v.request(&[(&SRN, Value::Text(srn.clone()))]), srn)
    };
    send_and_judge(ctx, shapes, request, Effect::Gone, out).await
}

/// One record by SRN (`GET /v1/records/<srn>`): accepted when the answer holds it.
async fn read_one(ctx: &mut Ctx, out: &mut Vec<Detail>) -> Result<(), Outcome> {
    let srn = ctx.srns.fresh();
    ctx.insert_ok(&srn).await?;
    let s = srn.clone();
    ctx.wait_until(|l| l.contains(&s)).await?;
    for v in variants::all(Action::ReadRecord) {
        let req = v.request(&[(&SRN, Value::Text(srn.clone()))]);
        let answer = ctx.send(&req).await;
        let (status, note) = if answer.is_success() {
            if crate::listing::Listing::new(answer.body.clone()).contains(&srn) {
                (Status::Pass, answer.summary())
            } else {
                (Status::Fail, format!("{}, without {srn}", answer.summary()))
            }
        } else {
            judge_failure(&answer)
        };
        out.push(detail(ctx, &v, &req, status, note));
    }
    Ok(())
}

fn not_tried(ctx: &Ctx, action: Action, needs: &[Action], out: &mut Vec<Detail>) -> bool {
    let missing = needs
        .iter()
        .find(|a| ctx.found.get(**a).is_none() || ctx.is_broken(**a).is_some());
    let Some(missing) = missing else { return false };
    for v in variants::all(action) {
        out.push(Detail {
            label: v.label(),
            status: Status::Skipped,
            note: format!("not tried: no working {:?} shape", missing),
            curl: None,
        });
    }
    true
}

pub(super) async fn shapes(ctx: &mut Ctx) -> Outcome {
    use Action::*;
    let mut out = Vec::new();
    let steps: [(Action, &[Action]); 5] = [
        (HealthCheck, &[HealthCheck]),
        (ReadDatabase, &[ReadDatabase]),
        (InsertRecord, &[InsertRecord, ReadDatabase]),
        (DeleteRecord, &[InsertRecord, ReadDatabase, DeleteRecord]),
        (ReadRecord, &[InsertRecord, ReadDatabase]),
    ];
    for (action, needs) in steps {
        if ctx.down.is_some() || not_tried(ctx, action, needs, &mut out) {
            continue;
        }
        if let Some(v) = ctx.found.get(action).filter(|_| action != ReadRecord) {
            out.push(Detail {
                label: v.label(),
                status: Status::Pass,
                note: "the shape the checks used".into(),
                curl: None,
            });
        }
        let step = match action {
            HealthCheck | ReadDatabase => {
                by_status(ctx, action, &mut out).await;
                Ok(())
            }
            InsertRecord => inserts(ctx, &mut out).await,
            DeleteRecord => deletes(ctx, &mut out).await,
            ReadRecord => read_one(ctx, &mut out).await,
        };
        if let Err(outcome) = step {
            return outcome.with_details(out);
        }
    }
    let count = |s: Status| out.iter().filter(|d| d.status == s).count();
    let (accepted, unsupported, failed) = (
        count(Status::Pass),
        count(Status::NotApplicable),
        count(Status::Fail),
    );
    let curl: Vec<String> = out
        .iter()
        .filter(|d| d.status == Status::Fail)
        .filter_map(|d| d.curl.clone())
        .take(3)
        .collect();
    let summary = format!(
        "{accepted} of {} shapes work, {unsupported} are unsupported",
        out.len()
    );
    if failed == 0 {
        return Outcome::pass(format!("{summary}{}", ctx.down_note())).with_details(out);
    }
    let bad: Vec<String> = out
        .iter()
        .filter(|d| d.status == Status::Fail)
        .map(|d| format!("{}: {}", d.label, d.note))
        .take(3)
        .collect();
    Outcome::fail(format!(
        "{summary}, {failed} misbehave: {}{}",
        bad.join("; "),
        ctx.down_note()
    ))
    .with_curl(curl)
    .with_details(out)
}
