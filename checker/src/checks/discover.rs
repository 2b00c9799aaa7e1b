//! The first four checks, which also find out how to talk to the deployment: for each
//! action, the variants of the shape table are tried in order and the first one that
//! works is kept for the rest of the run.
//!
//! A 4xx means "not this shape" and the next is tried; no answer at all ends the search
//! (a hang is not an unsupported shape). An insert counts only once its record shows in
//! a read, a delete once it is gone. If every insert is refused with the checker's own
//! SRNs, the same shapes are tried with the assignment's sample SRN format.

use crate::ctx::{secs, Ctx, NAME_TEXT};
use crate::report::{Detail, Outcome, Status};
use crate::srn::{Format, SAMPLE_PREFIX};
use crate::variants::{self, Encoding, Value, Variant};
use protocol::shapes::{Action, MESSAGE, SRN};

/// Notes a refused attempt.
fn refused(ctx: &Ctx, v: &Variant, answer: &crate::http::Answer, req: &crate::http::Req) -> Detail {
    Detail {
        label: v.label(),
        status: if answer.is_client_error() {
            Status::NotApplicable
        } else {
            Status::Fail
        },
        note: answer.summary(),
        curl: Some(ctx.curl(req)),
    }
}

/// No shape worked: the first attempt (the assignment's own shape) and the first 5xx
/// are what a reader needs to reproduce.
fn none_worked(what: &str, tried: Vec<Detail>) -> Outcome {
    let first = tried.first().map(|d| format!("{}: {}", d.label, d.note));
    let mut curl: Vec<String> = tried
        .iter()
        .take(1)
        .filter_map(|d| d.curl.clone())
        .collect();
    if let Some(error) = tried.iter().find(|d| d.status == Status::Fail) {
        curl.extend(error.curl.clone());
    }
    curl.dedup();
    Outcome::fail(format!(
        "no {what} shape answered 2xx ({} tried; {})",
        tried.len(),
        first.unwrap_or_default()
    ))
    .with_curl(curl)
    .with_details(tried)
}

fn no_answer(
    ctx: &Ctx,
    v: &Variant,
    answer: &crate::http::Answer,
    req: &crate::http::Req,
) -> Outcome {
    Outcome::fail(format!(
        "{}: {}{}",
        v.label(),
        answer.summary(),
        ctx.down_note()
    ))
    .with_curl([ctx.curl(req)])
}

pub(super) async fn health(ctx: &mut Ctx) -> Outcome {
    let message = format!("inventory-check-{}", ctx.srns.run);
    let mut tried = Vec::new();
    for v in variants::discovery(Action::HealthCheck) {
        let req = v.request(&[(&MESSAGE, Value::Text(message.clone()))]);
        let answer = ctx.send(&req).await;
        if answer.status.is_none() {
            return no_answer(ctx, &v, &answer, &req).with_details(tried);
        }
        if !answer.is_success() {
            tried.push(refused(ctx, &v, &answer, &req));
            continue;
        }
        ctx.found.health = Some(v);
        let echo = if answer.body.contains(&message) {
            "; the reply carries the message back"
        } else if v.encoding == Encoding::Path && !v.shape.path.contains('<') {
            ""
        } else {
            "; the reply does not carry the message back, so it does not show that a consumer received it"
        };
        return Outcome::pass(format!("{} answered {}{echo}", v.label(), answer.summary()))
            .with_curl([ctx.curl(&req)])
            .with_details(tried);
    }
    none_worked("health-check", tried)
}

pub(super) async fn read(ctx: &mut Ctx) -> Outcome {
    let mut tried = Vec::new();
    for v in variants::discovery(Action::ReadDatabase) {
        let req = v.request(&[]);
        let answer = ctx.send(&req).await;
        if answer.status.is_none() {
            return no_answer(ctx, &v, &answer, &req).with_details(tried);
        }
        if !answer.is_success() {
            tried.push(refused(ctx, &v, &answer, &req));
            continue;
        }
        ctx.found.read = Some(v);
        let size = crate::listing::Listing::new(answer.body.clone())
            .size_hint()
            .map(|n| format!(" ({n} records)"))
            .unwrap_or_default();
        let status = answer.status.unwrap_or_default();
        return Outcome::pass(format!("{} answered {status}{size}", v.label()))
            .with_curl([ctx.curl(&req)])
            .with_details(tried);
    }
    none_worked("read", tried)
}

pub(super) async fn insert(ctx: &mut Ctx) -> Outcome {
    let all = variants::discovery(Action::InsertRecord);
    let spellings = all.iter().map(|v| v.spelling).max().unwrap_or(0);
    let mut tried = Vec::new();
    let mut own_refused: Option<String> = None;
    for spelling in 0..=spellings {
        for format in [Format::Own, Format::Sample] {
            if format == Format::Sample {
                let (listing, _) = match ctx.read().await {
                    Ok(read) => read,
                    Err(outcome) => return outcome.with_details(tried),
                };
                ctx.srns
                    .use_sample(listing.words_with_prefix(SAMPLE_PREFIX));
            } else {
                ctx.srns.format = Format::Own;
            }
            for v in all.iter().filter(|v| v.spelling == spelling) {
                let srn = ctx.srns.fresh();
                let req = v.request(&Ctx::record(&srn, NAME_TEXT, "A"));
                ctx.track(&srn);
                let answer = ctx.send(&req).await;
                if answer.status.is_none() {
                    return no_answer(ctx, v, &answer, &req).with_details(tried);
                }
                if !answer.is_success() {
                    if format == Format::Own && own_refused.is_none() {
                        own_refused = Some(format!("{}: {}", v.label(), answer.summary()));
                    }
                    tried.push(refused(ctx, v, &answer, &req));
                    continue;
                }
                ctx.found.insert = Some(*v);
                let waited = match ctx.wait_until(|l| l.contains(&srn)).await {
                    Ok(w) => w,
                    Err(outcome) => return outcome.with_details(tried),
                };
                let curl = vec![ctx.curl(&req), ctx.curl(&waited.read_req)];
                if !waited.met {
                    ctx.found.insert = None;
                    return Outcome::fail(format!(
                        "{} answered {}, but {srn} was not in any read for {} ({} reads)",
                        v.label(),
                        answer.summary(),
                        secs(waited.after),
                        waited.reads
                    ))
                    .with_curl(curl)
                    .with_details(tried);
                }
                ctx.saw_lag(waited.after);
                ctx.discovery_srn = Some(srn.clone());
                let mut why = format!(
                    "{} answered {}; {srn} is in the reads",
                    v.label(),
                    answer.summary()
                );
                if format == Format::Sample {
                    why.push_str(&format!(
                        ". SRNs in the checker's own format were refused ({}), so this run uses \
                         the assignment's sample format {SAMPLE_PREFIX}nnn",
                        own_refused.clone().unwrap_or_default()
                    ));
                }
                return Outcome::pass(why).with_curl(curl).with_details(tried);
            }
        }
    }
    ctx.srns.format = Format::Own;
    none_worked("insert", tried)
}

pub(super) async fn delete(ctx: &mut Ctx) -> Outcome {
    let Some(srn) = ctx.discovery_srn.clone() else {
        return Outcome::new(Status::Skipped, "insert discovery left no record to delete");
    };
    let mut tried = Vec::new();
    for v in variants::discovery(Action::DeleteRecord) {
        let req = v.request(&[(&SRN, Value::Text(srn.clone()))]);
        let answer = ctx.send(&req).await;
        if answer.status.is_none() {
            return no_answer(ctx, &v, &answer, &req).with_details(tried);
        }
        if !answer.is_success() {
            tried.push(refused(ctx, &v, &answer, &req));
            continue;
        }
        let waited = match ctx.wait_until(|l| !l.contains(&srn)).await {
            Ok(w) => w,
            Err(outcome) => return outcome.with_details(tried),
        };
        let curl = vec![ctx.curl(&req), ctx.curl(&waited.read_req)];
        if !waited.met {
            return Outcome::fail(format!(
                "{} answered {}, but {srn} was still in the reads {} later",
                v.label(),
                answer.summary(),
                secs(waited.after)
            ))
            .with_curl(curl)
            .with_details(tried);
        }
        ctx.found.delete = Some(v);
        ctx.created.remove(&srn);
        ctx.saw_lag(waited.after);
        return Outcome::pass(format!(
            "{} answered {}; {srn} is gone from the reads",
            v.label(),
            answer.summary()
        ))
        .with_curl(curl)
        .with_details(tried);
    }
    none_worked("delete", tried)
}
