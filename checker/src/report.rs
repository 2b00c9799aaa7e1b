//! What a run found, as data: one [`Report`] per deployment, one [`CheckResult`] per
//! check. The terminal table, `--json` and `--html` are all renderings of it; `--json`
//! is exactly its serde form.

use crate::catalogue::CheckInfo;
use crate::latency::RouteLatency;
use crate::srn::Format;
use protocol::shapes::Action;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
    NotApplicable,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Skipped => "skipped",
            Status::NotApplicable => "n/a",
        }
    }
}

/// One observation inside a check: a probe, a shape, a route's latency.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub label: String,
    pub status: Status,
    pub note: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
}

/// What one check found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub group: &'static str,
    pub required: bool,
    pub meaning: &'static str,
    pub status: Status,
    /// Why it has this status, in plain words.
    pub why: String,
    /// The requests that reproduce what it observed, in order.
    pub curl: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    pub seconds: f64,
}

/// What a check's code returns; the runner adds the catalogue's facts.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub why: String,
    pub curl: Vec<String>,
    pub details: Vec<Detail>,
}

impl Outcome {
    pub fn new(status: Status, why: impl Into<String>) -> Outcome {
        Outcome {
            status,
            why: why.into(),
            curl: Vec::new(),
            details: Vec::new(),
        }
    }
    pub fn pass(why: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, why)
    }
    pub fn fail(why: impl Into<String>) -> Outcome {
        Outcome::new(Status::Fail, why)
    }
    pub fn with_curl(mut self, curl: impl IntoIterator<Item = String>) -> Outcome {
        self.curl.extend(curl);
        self
    }
    pub fn with_details(mut self, details: Vec<Detail>) -> Outcome {
        self.details = details;
        self
    }

    pub fn into_result(self, info: &CheckInfo, seconds: f64) -> CheckResult {
        CheckResult {
            check: info.key,
            group: info.group,
            required: info.required,
            meaning: info.meaning,
            status: self.status,
            why: self.why,
            curl: self.curl,
            details: self.details,
            seconds: (seconds * 1000.0).round() / 1000.0,
        }
    }
}

/// One value for each action discovery finds a shape for (a read of one record goes
/// by the read's).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PerAction<T> {
    pub health: T,
    pub read: T,
    pub insert: T,
    pub delete: T,
}

impl<T> PerAction<T> {
    /// Each action's key and value, in the order reports list them.
    pub fn by_key(&self) -> [(&'static str, &T); 4] {
        [
            ("health", &self.health),
            ("read", &self.read),
            ("insert", &self.insert),
            ("delete", &self.delete),
        ]
    }

    /// The same actions with `f` of each value.
    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> PerAction<U> {
        PerAction {
            health: f(&self.health),
            read: f(&self.read),
            insert: f(&self.insert),
            delete: f(&self.delete),
        }
    }
}

impl<T: Copy> PerAction<T> {
    /// The value for `action`.
    pub fn get(&self, action: Action) -> T {
        match action {
            Action::HealthCheck => self.health,
            Action::ReadDatabase | Action::ReadRecord => self.read,
            Action::InsertRecord => self.insert,
            Action::DeleteRecord => self.delete,
        }
    }
}

/// Which shape discovery settled on for each action (the label of its variant).
pub type Accepted = PerAction<Option<String>>;

/// The records the run made and whether they are gone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cleanup {
    /// Deletes sent at the end for records the checks left.
    pub deleted: usize,
    /// SRNs of this run a final read still shows.
    pub left: Vec<String>,
    pub note: String,
}

/// Everything about one deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub tool: String,
    pub started: String,
    pub seconds: f64,
    /// Whether every required check passed: the exit status.
    pub ok: bool,
    pub srn_format: Format,
    pub srn_prefix: String,
    pub accepted: Accepted,
    pub checks: Vec<CheckResult>,
    pub latency: Vec<RouteLatency>,
    pub cleanup: Cleanup,
    pub limits: Limits,
}

/// The safety limits the run kept.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub request_timeout_s: f64,
    pub deadline_s: f64,
    pub settle_s: f64,
    pub most_requests_at_once: usize,
}

impl Report {
    /// Required checks that did not pass (failed, or could not run).
    pub fn required_not_passed(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .filter(|c| c.required && matches!(c.status, Status::Fail | Status::Skipped))
            .collect()
    }

    /// `required check failed: insert (2 more skipped because of it)`.
    pub fn failure_summary(&self) -> String {
        let names = |status| -> Vec<&str> {
            self.checks
                .iter()
                .filter(|c| c.required && c.status == status)
                .map(|c| c.check)
                .collect()
        };
        let (failed, skipped) = (names(Status::Fail), names(Status::Skipped));
        let mut text = match failed.len() {
            0 => "no required check failed".to_string(),
            1 => format!("required check failed: {}", failed[0]),
            _ => format!("required checks failed: {}", failed.join(", ")),
        };
        if !skipped.is_empty() {
            text.push_str(&format!(
                " ({} more could not run: {})",
                skipped.len(),
                skipped.join(", ")
            ));
        }
        text
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}
