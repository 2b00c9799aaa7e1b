//! Checks of what reads show after inserts: the very next read (`read-your-write`),
//! every record (`read-all`) and no second record for one SRN (`duplicate`).

use crate::ctx::{secs, Ctx, NAME_TEXT};
use crate::report::Outcome;
use protocol::shapes::Action;

/// Rounds of insert-then-read: one lucky round must not hide a race.
const ROUNDS: usize = 3;

pub(super) async fn read_your_write(ctx: &mut Ctx) -> Outcome {
    let mut notes = Vec::new();
    let mut last = Vec::new();
    for round in 1..=ROUNDS {
        let srn = ctx.srns.fresh();
        let insert = match ctx.insert_ok(&srn).await {
            Ok(req) => req,
            Err(outcome) => return outcome,
        };
        let (first, read) = match ctx.read().await {
            Ok(read) => read,
            Err(outcome) => return outcome,
        };
        if first.contains(&srn) {
            notes.push(srn);
            last = vec![ctx.curl(&insert), ctx.curl(&read)];
            continue;
        }
        let curl = vec![ctx.curl(&insert), ctx.curl(&read)];
        // Not in the next read: find out whether it shows later, and when.
        let waited = match ctx.wait_until(|l| l.contains(&srn)).await {
            Ok(w) => w,
            Err(outcome) => return outcome,
        };
        if waited.met {
            ctx.saw_lag(waited.after);
            return Outcome::fail(format!(
                "round {round}: the insert of {srn} answered 2xx, but the next read did not show \
                 it; read number {} after the insert did, {} later: the answer came before the \
                 record was readable, or reads answer with an older state",
                waited.reads + 1,
                secs(waited.after)
            ))
            .with_curl(curl);
        }
        let why = format!(
            "round {round}: the insert of {srn} answered 2xx, but the record was not in the next \
             read nor in any read for {} after it: an acknowledged insert was not stored",
            secs(waited.after)
        );
        ctx.mark_broken(Action::InsertRecord, why.clone());
        return Outcome::fail(why).with_curl(curl);
    }
    Outcome::pass(format!(
        "each of {ROUNDS} inserts ({}) was in the very next read",
        notes.join(", ")
    ))
    .with_curl(last)
}

/// Inserts beyond a typical page (10) or a forgotten `LIMIT`.
const MANY: usize = 12;

pub(super) async fn read_all(ctx: &mut Ctx) -> Outcome {
    let mut srns = Vec::new();
    let mut last = None;
    for _ in 0..MANY {
        let srn = ctx.srns.fresh();
        match ctx.insert_ok(&srn).await {
            Ok(req) => last = Some(req),
            Err(outcome) => return outcome,
        }
        srns.push(srn);
    }
    let waited = match ctx.wait_until(|l| srns.iter().all(|s| l.contains(s))).await {
        Ok(w) => w,
        Err(outcome) => return outcome,
    };
    let mut curl: Vec<String> = last.iter().map(|r| ctx.curl(r)).collect();
    curl.push(ctx.curl(&waited.read_req));
    if waited.met {
        return Outcome::pass(format!(
            "all {MANY} records inserted ({} … {}) are in one read{}",
            srns[0],
            srns[MANY - 1],
            waited
                .listing
                .size_hint()
                .map(|n| format!(" of {n} records"))
                .unwrap_or_default()
        ))
        .with_curl(curl);
    }
    let missing: Vec<&String> = srns
        .iter()
        .filter(|s| !waited.listing.contains(s))
        .collect();
    let why = format!(
        "{} of {MANY} records inserted with a 2xx answer are not in the read (for example {}){}, \
         after waiting {}",
        missing.len(),
        missing[0],
        waited
            .listing
            .size_hint()
            .map(|n| format!("; the read returned {n} records"))
            .unwrap_or_default(),
        secs(waited.after)
    );
    ctx.mark_broken(
        Action::ReadDatabase,
        format!("reads do not return every record: {why}"),
    );
    Outcome::fail(why).with_curl(curl)
}

pub(super) async fn duplicate(ctx: &mut Ctx) -> Outcome {
    let srn = ctx.srns.fresh();
    let first = match ctx.insert_ok(&srn).await {
        Ok(req) => req,
        Err(outcome) => return outcome,
    };
    match ctx.wait_until(|l| l.contains(&srn)).await {
        Ok(w) if w.met => {}
        Ok(w) => {
            return Outcome::fail(format!("{srn} never showed in the reads after its insert"))
                .with_curl([ctx.curl(&first), ctx.curl(&w.read_req)])
        }
        Err(outcome) => return outcome,
    }
    let other_name = format!("{NAME_TEXT} Duplicate");
    let (answer, second) = ctx.insert(&srn, &other_name).await;
    if answer.status.is_none() {
        return Outcome::fail(format!(
            "the second insert of {srn} got {}{}",
            answer.summary(),
            ctx.down_note()
        ))
        .with_curl([ctx.curl(&first), ctx.curl(&second)]);
    }
    let watched = match ctx.watch(|l| l.count(&srn) != 1).await {
        Ok(w) => w,
        Err(outcome) => return outcome,
    };
    let curl = vec![
        ctx.curl(&first),
        ctx.curl(&second),
        ctx.curl(&watched.read_req),
    ];
    let count = watched.listing.count(&srn);
    let answered = match answer.status {
        Some(409) => "refused it with 409".to_string(),
        Some(s) if answer.is_client_error() => format!("refused it with {s}"),
        Some(s) if answer.is_success() => {
            format!("answered {s} (a client cannot tell it was a duplicate; 409 says so)")
        }
        _ => format!(
            "answered {} (a duplicate is the client's error: 4xx)",
            answer.summary()
        ),
    };
    match count {
        1 => {
            let replaced = if watched.listing.body.contains(&other_name) {
                "; the stored record was replaced by the second one"
            } else {
                ""
            };
            Outcome::pass(format!(
                "the second insert of {srn} {answered}; the reads hold one record with it{replaced}"
            ))
            .with_curl(curl)
        }
        0 => Outcome::fail(format!(
            "the second insert of {srn} {answered}, and then the reads held no record with it: \
             the first one was lost"
        ))
        .with_curl(curl),
        n => Outcome::fail(format!(
            "the second insert of {srn} {answered}, and then the reads held {n} records with that SRN"
        ))
        .with_curl(curl),
    }
}
