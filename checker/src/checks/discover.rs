//! The first four checks, which also find out how to talk to the deployment: for each
//! action, the variants of the shape table are tried in order and the first one that
//! works is kept for the rest of the run.
//!
//! A 4xx means "not this shape" and the next is tried; no answer at all ends the search
//! (a hang is not an unsupported shape). An insert counts only once its record shows in
//! a read, a delete once it is gone. If every insert is refused with the checker's own
//! SRNs, the same shapes are tried with the assignment's sample SRN format.

use crate::ctx::{secs, Ctx, NAME_TEXT};
use crate::http::{Answer, Req};
use crate::report::{Detail, Outcome, Status};
use crate::srn::{Format, SAMPLE_PREFIX};
use crate::variants::{self, Encoding, Value, Variant};
use protocol::shapes::{Action, FieldName, MESSAGE, SRN};

/// Notes a refused attempt.
fn refused(ctx: &Ctx, v: &Variant, answer: &Answer, req: &Req) -> Detail {
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
fn none_worked(what: &str, tried: &[Detail]) -> Outcome {
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
}

/// Sends one attempt: its answer when it worked (2xx); `None` when it was refused
/// (noted in `tried`, and the next shape is tried); `Err` when nothing answered, which
/// ends the search (a hang is not an unsupported shape).
async fn attempt(
    ctx: &mut Ctx,
    v: &Variant,
    req: &Req,
    tried: &mut Vec<Detail>,
) -> Result<Option<Answer>, Outcome> {
    let answer = ctx.send(req).await;
    if answer.status.is_none() {
        return Err(Outcome::fail(format!(
            "{}: {}{}",
            v.label(),
            answer.summary(),
            ctx.down_note()
        ))
        .with_curl([ctx.curl(req)]));
    }
    if !answer.is_success() {
        tried.push(refused(ctx, v, &answer, req));
        return Ok(None);
    }
    Ok(Some(answer))
}

/// Tries `action`'s variants in order, each with `fields`, until one answers 2xx: that
/// one, its request and its answer. `Err` when one answered nothing, or none worked.
async fn first_working(
    ctx: &mut Ctx,
    (action, what): (Action, &str),
    fields: &[(&FieldName, Value)],
    tried: &mut Vec<Detail>,
) -> Result<(Variant, Req, Answer), Outcome> {
    for v in variants::discovery(action) {
        let req = v.request(fields);
        if let Some(answer) = attempt(ctx, &v, &req, tried).await? {
            return Ok((v, req, answer));
        }
    }
    Err(none_worked(what, tried))
}

/// What a search concluded, with the attempts it saw refused.
fn concluded(outcome: Result<Outcome, Outcome>, tried: Vec<Detail>) -> Outcome {
    outcome.unwrap_or_else(|failed| failed).with_details(tried)
}

pub(super) async fn health(ctx: &mut Ctx) -> Outcome {
    let mut tried = Vec::new();
    let outcome = find_health(ctx, &mut tried).await;
    concluded(outcome, tried)
}

async fn find_health(ctx: &mut Ctx, tried: &mut Vec<Detail>) -> Result<Outcome, Outcome> {
    let message = format!("inventory-check-{}", ctx.srns.run);
    let fields = [(&MESSAGE, Value::Text(message.clone()))];
    let (v, req, answer) =
        first_working(ctx, (Action::HealthCheck, "health-check"), &fields, tried).await?;
    ctx.found.health = Some(v);
    let echo = if answer.body.contains(&message) {
        "; the reply carries the message back"
    } else if v.encoding == Encoding::Path && !v.shape.path.contains('<') {
        ""
    } else {
        "; the reply does not carry the message back, so it does not show that a consumer received it"
    };
    Ok(
        Outcome::pass(format!("{} answered {}{echo}", v.label(), answer.summary()))
            .with_curl([ctx.curl(&req)]),
    )
}

pub(super) async fn read(ctx: &mut Ctx) -> Outcome {
    let mut tried = Vec::new();
    let outcome = find_read(ctx, &mut tried).await;
    concluded(outcome, tried)
}

async fn find_read(ctx: &mut Ctx, tried: &mut Vec<Detail>) -> Result<Outcome, Outcome> {
    let (v, req, answer) = first_working(ctx, (Action::ReadDatabase, "read"), &[], tried).await?;
    ctx.found.read = Some(v);
    let size = crate::listing::Listing::new(answer.body.clone())
        .size_hint()
        .map(|n| format!(" ({n} records)"))
        .unwrap_or_default();
    let status = answer.status.unwrap_or_default();
    Ok(Outcome::pass(format!("{} answered {status}{size}", v.label())).with_curl([ctx.curl(&req)]))
}

pub(super) async fn insert(ctx: &mut Ctx) -> Outcome {
    let mut tried = Vec::new();
    let outcome = find_insert(ctx, &mut tried).await;
    concluded(outcome, tried)
}

async fn find_insert(ctx: &mut Ctx, tried: &mut Vec<Detail>) -> Result<Outcome, Outcome> {
    let all = variants::discovery(Action::InsertRecord);
    let spellings = all.iter().map(|v| v.spelling).max().unwrap_or(0);
    let mut own_refused: Option<String> = None;
    for spelling in 0..=spellings {
        for format in [Format::Own, Format::Sample] {
            if format == Format::Sample {
                let (listing, _) = ctx.read().await?;
                ctx.srns
                    .use_sample(listing.words_with_prefix(SAMPLE_PREFIX));
            } else {
                ctx.srns.format = Format::Own;
            }
            for v in all.iter().filter(|v| v.spelling == spelling) {
                let srn = ctx.srns.fresh();
                let req = v.request(&Ctx::record(&srn, NAME_TEXT, "A"));
                ctx.track(&srn);
                let Some(answer) = attempt(ctx, v, &req, tried).await? else {
                    if format == Format::Own && own_refused.is_none() {
                        own_refused = tried.last().map(|d| format!("{}: {}", d.label, d.note));
                    }
                    continue;
                };
                ctx.found.insert = Some(*v);
                let waited = ctx.wait_until(|l| l.contains(&srn)).await?;
                let curl = vec![ctx.curl(&req), ctx.curl(&waited.read_req)];
                if !waited.met {
                    ctx.found.insert = None;
                    return Err(Outcome::fail(format!(
                        "{} answered {}, but {srn} was not in any read for {} ({} reads)",
                        v.label(),
                        answer.summary(),
                        secs(waited.after),
                        waited.reads
                    ))
                    .with_curl(curl));
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
                return Ok(Outcome::pass(why).with_curl(curl));
            }
        }
    }
    ctx.srns.format = Format::Own;
    Err(none_worked("insert", tried))
}

pub(super) async fn delete(ctx: &mut Ctx) -> Outcome {
    let Some(srn) = ctx.discovery_srn.clone() else {
        return Outcome::new(Status::Skipped, "insert discovery left no record to delete");
    };
    let mut tried = Vec::new();
    let outcome = find_delete(ctx, &srn, &mut tried).await;
    concluded(outcome, tried)
}

async fn find_delete(
    ctx: &mut Ctx,
    srn: &str,
    tried: &mut Vec<Detail>,
) -> Result<Outcome, Outcome> {
    let fields = [(&SRN, Value::Text(srn.to_owned()))];
    let (v, req, answer) =
        first_working(ctx, (Action::DeleteRecord, "delete"), &fields, tried).await?;
    let waited = ctx.wait_until(|l| !l.contains(srn)).await?;
    let curl = vec![ctx.curl(&req), ctx.curl(&waited.read_req)];
    if !waited.met {
        return Err(Outcome::fail(format!(
            "{} answered {}, but {srn} was still in the reads {} later",
            v.label(),
            answer.summary(),
            secs(waited.after)
        ))
        .with_curl(curl));
    }
    ctx.found.delete = Some(v);
    ctx.created.remove(srn);
    ctx.saw_lag(waited.after);
    Ok(Outcome::pass(format!(
        "{} answered {}; {srn} is gone from the reads",
        v.label(),
        answer.summary()
    ))
    .with_curl(curl))
}
