//! Removing what the run inserted, and saying what is left.
//!
//! Only SRNs the run itself sent are deleted. Before deleting, the run waits about as
//! long as its writes took to show (all of `--settle` when the checks were cut short,
//! since a write may still be in flight), so that an insert the deployment stores late
//! is not stored after its delete. A final read lists any record of the run still there;
//! if one is, its delete is sent once more (a read that lags may show it once). When
//! the checks were cut short before a delete shape was found, cleanup looks for one.

use crate::ctx::Ctx;
use crate::report::Cleanup;
use crate::variants::{self, Value};
use protocol::shapes::{Action, SRN};
use std::time::Duration;

/// The longest cleanup may take, on top of `--deadline`.
pub const BUDGET: Duration = Duration::from_secs(60);

pub async fn run(ctx: &mut Ctx, cut_short: bool) -> Cleanup {
    ctx.current = "cleanup";
    match tokio::time::timeout(BUDGET, remove(ctx, cut_short)).await {
        Ok(cleanup) => cleanup,
        Err(_) => Cleanup {
            deleted: 0,
            left: ctx.created.iter().cloned().collect(),
            note: format!("cleanup did not finish within {} s", BUDGET.as_secs()),
        },
    }
}

async fn remove(ctx: &mut Ctx, cut_short: bool) -> Cleanup {
    let mut cleanup = Cleanup::default();
    if ctx.sent.is_empty() {
        cleanup.note = "nothing was inserted".into();
        return cleanup;
    }
    if ctx.down.is_some() {
        cleanup.left = ctx.created.iter().cloned().collect();
        cleanup.note = "the service stopped answering, so records of this run may be left".into();
        return cleanup;
    }
    if cut_short {
        tokio::time::sleep(ctx.opts.settle).await;
    } else if ctx.lag > Duration::from_millis(200) {
        tokio::time::sleep((ctx.lag * 3 / 2).min(ctx.opts.settle)).await;
    }
    if ctx.found.delete.is_none() && ctx.found.read.is_some() {
        find_delete(ctx).await;
    }
    let (Some(_), Some(_)) = (ctx.found.delete, ctx.found.read) else {
        cleanup.left = ctx.created.iter().cloned().collect();
        cleanup.note = "no working delete or read shape: records of this run may be left; \
                        delete them by hand"
            .into();
        return cleanup;
    };
    for round in 0..2 {
        for srn in ctx.created.clone() {
            let (answer, _) = ctx.delete(&srn).await;
            if answer.is_success() {
                cleanup.deleted += 1;
            }
            if ctx.down.is_some() {
                cleanup.note = "the service stopped answering during cleanup".into();
                cleanup.left = ctx.created.iter().cloned().collect();
                return cleanup;
            }
        }
        let listing = match ctx.read().await {
            Ok((listing, _)) => listing,
            Err(outcome) => {
                cleanup.note = format!("the final read failed: {}", outcome.why);
                return cleanup;
            }
        };
        cleanup.left = left_in(ctx, &listing);
        if cleanup.left.is_empty() || round == 1 {
            break;
        }
        ctx.created.extend(cleanup.left.iter().cloned());
    }
    cleanup.note = if cleanup.left.is_empty() {
        format!("no record of this run ({}…) is left", ctx.srns.prefix())
    } else {
        format!(
            "{} records of this run are still in the reads",
            cleanup.left.len()
        )
    };
    cleanup
}

/// When the checks never found how to delete (cut short before `delete`), tries the
/// delete shapes on one of the run's records, as discovery would have.
async fn find_delete(ctx: &mut Ctx) {
    let Some(srn) = ctx.created.iter().next().cloned() else {
        return;
    };
    for v in variants::discovery(Action::DeleteRecord) {
        let answer = ctx
            .send(&v.request(&[(&SRN, Value::Text(srn.clone()))]))
            .await;
        if answer.is_success() {
            ctx.found.delete = Some(v);
            ctx.created.remove(&srn);
            return;
        }
        if answer.status.is_none() {
            return;
        }
    }
}

/// This run's SRNs the read still shows: every one with its own prefix, and the
/// sample-format ones it sent (others with that prefix are not its own).
fn left_in(ctx: &Ctx, listing: &crate::listing::Listing) -> Vec<String> {
    let mut left = listing.words_with_prefix(&format!("CHK-{}-", ctx.srns.run));
    left.extend(
        listing
            .words_with_prefix(crate::srn::SAMPLE_PREFIX)
            .into_iter()
            .filter(|srn| ctx.sent.contains(srn)),
    );
    left
}
