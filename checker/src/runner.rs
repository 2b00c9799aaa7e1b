//! Runs every check against one deployment, in catalogue order, and decides which are
//! skipped: a check is skipped, not failed, when the service stopped answering, when
//! an action it needs has no working shape or stopped working earlier (the failure is
//! reported once, where it was seen), or when the overall time limit ran out.

use crate::catalogue::{CheckId, CheckInfo, CHECKS};
use crate::checks;
use crate::cleanup;
use crate::ctx::{Ctx, Options, PARALLEL};
use crate::http::Http;
use crate::report::{Limits, Outcome, Report, Status};
use indicatif::ProgressBar;
use protocol::shapes::Action;
use std::time::{Instant, SystemTime};
use tokio::sync::watch;

/// What an action is called in a skip reason, and which check finds its shape.
fn action_name(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::HealthCheck => ("health check", "health"),
        Action::ReadDatabase | Action::ReadRecord => ("read", "read"),
        Action::InsertRecord => ("insert", "insert"),
        Action::DeleteRecord => ("delete", "delete"),
    }
}

fn skip_reason(ctx: &Ctx, info: &CheckInfo, stopped: Option<&str>) -> Option<String> {
    // Latency only reads what the other checks measured.
    if info.id == CheckId::Latency {
        return None;
    }
    if let Some(reason) = stopped {
        return Some(reason.to_string());
    }
    if let Some(down) = &ctx.down {
        return Some(format!(
            "the service stopped answering during `{}`",
            down.check
        ));
    }
    for &action in info.needs {
        let (name, discovered_by) = action_name(action);
        if let Some(broken) = ctx.is_broken(action) {
            return Some(format!(
                "{name} stopped working in `{}` (see there)",
                broken.check
            ));
        }
        if ctx.found.get(action).is_none() {
            return Some(format!(
                "no working {name} shape (`{discovered_by}` did not pass)"
            ));
        }
    }
    None
}

/// Checks one deployment. `stop` turning true (Ctrl-C) ends the checks early; cleanup
/// still runs.
pub async fn check(
    url: &str,
    opts: Options,
    bar: &ProgressBar,
    mut stop: watch::Receiver<bool>,
) -> Report {
    let started = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let t0 = Instant::now();
    let http = Http::new(url, opts.timeout).expect("an HTTP client without TLS always builds");
    let mut ctx = Ctx::new(http, opts.clone());
    let deadline = tokio::time::Instant::now() + opts.deadline;
    let mut stopped: Option<String> = None;
    let mut results = Vec::new();
    for info in CHECKS {
        bar.set_message(format!("{url}: {}", info.key));
        let start = Instant::now();
        let outcome = match skip_reason(&ctx, info, stopped.as_deref()) {
            Some(reason) => Outcome::new(Status::Skipped, reason),
            None => {
                ctx.current = info.key;
                tokio::select! {
                    // The check first: latency, which sends nothing, finishes even
                    // after the deadline.
                    biased;
                    outcome = checks::run(info.id, &mut ctx) => outcome,
                    _ = tokio::time::sleep_until(deadline) => {
                        stopped = Some(format!("the overall time limit (--deadline {} s) ran out during `{}`", opts.deadline.as_secs_f64(), info.key));
                        Outcome::fail(format!("did not finish within the overall time limit (--deadline {} s)", opts.deadline.as_secs_f64()))
                    }
                    _ = stop.wait_for(|s| *s) => {
                        stopped = Some(format!("the run was interrupted during `{}`", info.key));
                        Outcome::new(Status::Skipped, "interrupted (Ctrl-C)")
                    }
                }
            }
        };
        results.push(outcome.into_result(info, start.elapsed().as_secs_f64()));
        bar.inc(1);
    }
    bar.set_message(format!("{url}: cleanup"));
    let cleanup = cleanup::run(&mut ctx, stopped.is_some()).await;
    let mut report = Report {
        url: url.to_string(),
        tool: concat!("inventory-check ", env!("CARGO_PKG_VERSION")).to_string(),
        started,
        seconds: (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        ok: false,
        srn_format: ctx.srns.format,
        srn_prefix: ctx.srns.prefix(),
        accepted: ctx.found.map(|found| found.map(|v| v.label())),
        checks: results,
        latency: ctx.http.latencies().summary(),
        cleanup,
        limits: Limits {
            request_timeout_s: opts.timeout.as_secs_f64(),
            deadline_s: opts.deadline.as_secs_f64(),
            settle_s: opts.settle.as_secs_f64(),
            most_requests_at_once: PARALLEL,
        },
    };
    report.ok = report.required_not_passed().is_empty();
    report
}
