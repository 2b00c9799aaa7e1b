//! The checks' code, one module per kind; [`run`] dispatches by [`CheckId`]. What each
//! check means, whether it is required and what it needs is in `catalogue`.

mod coverage;
mod data;
mod delete;
mod discover;
mod input;
mod load;

use crate::catalogue::CheckId;
use crate::ctx::Ctx;
use crate::report::Outcome;

pub async fn run(id: CheckId, ctx: &mut Ctx) -> Outcome {
    match id {
        CheckId::Health => discover::health(ctx).await,
        CheckId::Read => discover::read(ctx).await,
        CheckId::Insert => discover::insert(ctx).await,
        CheckId::Delete => discover::delete(ctx).await,
        CheckId::ReadYourWrite => data::read_your_write(ctx).await,
        CheckId::ReadAll => data::read_all(ctx).await,
        CheckId::Duplicate => data::duplicate(ctx).await,
        CheckId::DeleteExact => delete::delete_exact(ctx).await,
        CheckId::DeleteMissing => delete::delete_missing(ctx).await,
        CheckId::BadInput => input::bad_input(ctx).await,
        CheckId::Parallel => load::parallel(ctx).await,
        CheckId::Shapes => coverage::shapes(ctx).await,
        CheckId::Alive => load::alive(ctx).await,
        CheckId::Latency => load::latency(ctx).await,
    }
}
