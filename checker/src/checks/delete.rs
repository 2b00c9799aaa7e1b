//! Checks of delete: it removes exactly the named record (`delete-exact`), and a
//! missing one is reported (`delete-missing`).

use crate::ctx::{secs, Ctx};
use crate::report::Outcome;

pub(super) async fn delete_exact(ctx: &mut Ctx) -> Outcome {
    let target = ctx.srns.fresh();
    // Its SRN contains the target's: `LIKE '%target%'` would remove it too.
    let containing = ctx.srns.containing(&target);
    let other = ctx.srns.fresh();
    let mut curl = Vec::new();
    for srn in [&other, &containing, &target] {
        match ctx.insert_ok(srn).await {
            Ok(req) => curl.push(ctx.curl(&req)),
            Err(outcome) => return outcome,
        }
    }
    let keep = [containing.clone(), other.clone()];
    let all = [target.clone(), containing.clone(), other.clone()];
    match ctx.wait_until(|l| all.iter().all(|s| l.contains(s))).await {
        Ok(w) if w.met => {}
        Ok(w) => {
            return Outcome::fail(format!(
                "the three records inserted for this check ({}) did not all show in the reads",
                all.join(", ")
            ))
            .with_curl([ctx.curl(&w.read_req)])
        }
        Err(outcome) => return outcome,
    }
    let (answer, req) = ctx.delete(&target).await;
    curl.push(ctx.curl(&req));
    if !answer.is_success() {
        return Outcome::fail(format!(
            "the delete of {target} answered {}{}",
            answer.summary(),
            ctx.down_note()
        ))
        .with_curl(curl);
    }
    let gone = match ctx.wait_until(|l| !l.contains(&target)).await {
        Ok(w) => w,
        Err(outcome) => return outcome,
    };
    if !gone.met {
        curl.push(ctx.curl(&gone.read_req));
        ctx.created.insert(target.clone());
        return Outcome::fail(format!(
            "the delete of {target} answered {}, but the record was still in the reads {} later",
            answer.summary(),
            secs(gone.after)
        ))
        .with_curl(curl);
    }
    // A delete that also removes others may do so late: watch as long as writes lag.
    let watched = match ctx.watch(|l| keep.iter().any(|s| !l.contains(s))).await {
        Ok(w) => w,
        Err(outcome) => return outcome,
    };
    curl.push(ctx.curl(&watched.read_req));
    let lost: Vec<&String> = keep
        .iter()
        .filter(|s| !watched.listing.contains(s))
        .collect();
    if lost.is_empty() {
        return Outcome::pass(format!(
            "deleting {target} removed it and kept {containing} and {other}"
        ))
        .with_curl(curl);
    }
    for srn in &lost {
        ctx.created.remove(srn.as_str());
    }
    let because = if lost.contains(&&containing) && containing.contains(&target) {
        format!(" ({containing} contains {target}: the delete matches more than the exact SRN)")
    } else {
        String::new()
    };
    Outcome::fail(format!(
        "deleting {target} also removed {}{because}",
        lost.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    ))
    .with_curl(curl)
}

/// Words that say a delete found nothing, in the answers deployments give.
const NOT_FOUND: &[&str] = &[
    "not found",
    "not_found",
    "notfound",
    "no record",
    "no such",
    "does not exist",
    "doesn't exist",
    "not exist",
    "no student",
    "nothing to delete",
    "0 rows",
    "no rows",
];

pub(super) async fn delete_missing(ctx: &mut Ctx) -> Outcome {
    // Never inserted: fresh SRNs of this run exist nowhere.
    let srn = ctx.srns.fresh();
    let (answer, req) = ctx.delete(&srn).await;
    let curl = [ctx.curl(&req)];
    let body = answer.body.to_lowercase();
    match answer.status {
        Some(s) if answer.is_client_error() => Outcome::pass(format!(
            "deleting {srn}, which does not exist, answered {s}"
        ))
        .with_curl(curl),
        Some(s) if answer.is_success() && NOT_FOUND.iter().any(|w| body.contains(w)) => {
            Outcome::pass(format!(
                "deleting {srn}, which does not exist, answered {} (the body says so; a 404 \
                 would let clients tell without reading it)",
                crate::http::shorten(&format!("{s} {}", answer.body.trim()), 120)
            ))
            .with_curl(curl)
        }
        Some(_) if answer.is_success() => Outcome::fail(format!(
            "deleting {srn}, which does not exist, answered {}: nothing says it was not found",
            answer.summary()
        ))
        .with_curl(curl),
        _ => Outcome::fail(format!(
            "deleting {srn}, which does not exist, answered {}{}",
            answer.summary(),
            ctx.down_note()
        ))
        .with_curl(curl),
    }
}
