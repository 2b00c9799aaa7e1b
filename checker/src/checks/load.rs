//! `parallel` (32 inserts at once, each stored exactly once), `alive` (still answering
//! after everything) and `latency` (percentiles of every route used).

use crate::ctx::{secs, Ctx, NAME_TEXT, PARALLEL};
use crate::report::{Detail, Outcome, Status};
use futures_util::future::join_all;
use protocol::shapes::Action;
use std::collections::BTreeMap;

pub(super) async fn parallel(ctx: &mut Ctx) -> Outcome {
    let variant = ctx
        .found
        .insert
        .expect("the runner checks insert was found");
    let srns: Vec<String> = (0..PARALLEL).map(|_| ctx.srns.fresh()).collect();
    let reqs: Vec<_> = srns
        .iter()
        .map(|srn| variant.request(&Ctx::record(srn, NAME_TEXT, "A")))
        .collect();
    for srn in &srns {
        ctx.track(srn);
    }
    let answers = join_all(reqs.iter().map(|r| ctx.http.send(r))).await;
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for a in &answers {
        let key = match a.status {
            Some(s) => s.to_string(),
            None => "no answer".into(),
        };
        *statuses.entry(key).or_default() += 1;
    }
    let statuses = statuses
        .iter()
        .map(|(s, n)| format!("{n}× {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    let refused: Vec<usize> = (0..PARALLEL)
        .filter(|&i| !answers[i].is_success())
        .collect();
    if answers.iter().any(|a| a.status.is_none()) && !ctx.http.answers_at_all().await {
        ctx.down = Some(crate::ctx::Broken {
            check: ctx.current,
            why: "no answer to the parallel inserts".into(),
        });
    }
    let mut curl = vec![ctx.curl(&reqs[refused.first().copied().unwrap_or(0)])];
    if ctx.down.is_some() {
        return Outcome::fail(format!("32 inserts at once: {statuses}{}", ctx.down_note()))
            .with_curl(curl);
    }
    let acked: Vec<&String> = (0..PARALLEL)
        .filter(|i| !refused.contains(i))
        .map(|i| &srns[i])
        .collect();
    let waited = match ctx
        .wait_until(|l| acked.iter().all(|s| l.count(s) == 1))
        .await
    {
        Ok(w) => w,
        Err(outcome) => return outcome,
    };
    let watched = if waited.met {
        match ctx.watch(|l| srns.iter().any(|s| l.count(s) > 1)).await {
            Ok(w) => w,
            Err(outcome) => return outcome,
        }
    } else {
        waited
    };
    curl.push(ctx.curl(&watched.read_req));
    let lost: Vec<&&String> = acked
        .iter()
        .filter(|s| watched.listing.count(s) == 0)
        .collect();
    let doubled: Vec<&String> = srns
        .iter()
        .filter(|s| watched.listing.count(s) > 1)
        .collect();
    if refused.is_empty() && lost.is_empty() && doubled.is_empty() {
        return Outcome::pass(format!(
            "all {PARALLEL} answered 2xx ({statuses}) and each record is stored exactly once"
        ))
        .with_curl(curl);
    }
    let mut problems = Vec::new();
    if !refused.is_empty() {
        problems.push(format!("{} did not answer 2xx ({statuses})", refused.len()));
    }
    if !lost.is_empty() {
        problems.push(format!(
            "{} answered 2xx but never showed in the reads within {} (e.g. {})",
            lost.len(),
            secs(ctx.opts.settle),
            lost[0]
        ));
    }
    if !doubled.is_empty() {
        problems.push(format!(
            "{} are stored more than once (e.g. {})",
            doubled.len(),
            doubled[0]
        ));
    }
    Outcome::fail(format!(
        "of {PARALLEL} inserts sent at once, {}",
        problems.join("; ")
    ))
    .with_curl(curl)
}

pub(super) async fn alive(ctx: &mut Ctx) -> Outcome {
    let mut probed = Vec::new();
    let mut failed = Vec::new();
    let mut curl = Vec::new();
    let mut notes = Vec::new();
    for action in [Action::HealthCheck, Action::ReadDatabase] {
        let Some(variant) = ctx.found.get(action) else {
            continue;
        };
        if let Some(broken) = ctx.is_broken(action) {
            notes.push(format!(
                "{} was not probed again (it stopped working in {})",
                variant.label(),
                broken.check
            ));
            continue;
        }
        let req = match action {
            Action::HealthCheck => variant.request(&[(
                &protocol::shapes::MESSAGE,
                crate::variants::Value::Text("still-there".into()),
            )]),
            _ => variant.request(&[]),
        };
        let answer = ctx.send(&req).await;
        curl.push(ctx.curl(&req));
        probed.push(variant.label());
        if !answer.is_success() {
            failed.push(format!("{}: {}", variant.label(), answer.summary()));
        }
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    if probed.is_empty() {
        return Outcome::new(Status::Skipped, format!("nothing left to probe{notes}"));
    }
    if failed.is_empty() {
        Outcome::pass(format!("{} still answer 2xx{notes}", probed.join(" and "))).with_curl(curl)
    } else {
        Outcome::fail(format!("{}{}{notes}", failed.join("; "), ctx.down_note())).with_curl(curl)
    }
}

pub(super) async fn latency(ctx: &mut Ctx) -> Outcome {
    let routes = ctx.http.latencies().summary();
    if routes.is_empty() {
        return Outcome::new(Status::NotApplicable, "no request was answered");
    }
    let slow_ms = ctx.opts.slow.as_secs_f64() * 1000.0;
    let details: Vec<Detail> = routes
        .iter()
        .map(|r| Detail {
            label: r.route.clone(),
            status: if r.p99_ms > slow_ms {
                Status::Fail
            } else {
                Status::Pass
            },
            note: format!(
                "{} requests: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
                r.requests, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
            ),
            curl: None,
        })
        .collect();
    let slow: Vec<&str> = routes
        .iter()
        .filter(|r| r.p99_ms > slow_ms)
        .map(|r| r.route.as_str())
        .collect();
    let busiest = routes.iter().max_by_key(|r| r.requests).expect("not empty");
    if slow.is_empty() {
        Outcome::pass(format!(
            "every route's p99 is under {slow_ms} ms ({}: p50 {} ms, p99 {} ms over {} requests)",
            busiest.route, busiest.p50_ms, busiest.p99_ms, busiest.requests
        ))
        .with_details(details)
    } else {
        Outcome::fail(format!("p99 over {slow_ms} ms on {}", slow.join(", "))).with_details(details)
    }
}
