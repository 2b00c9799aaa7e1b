//! Insert: one record through `insert_record`; answered once consumer-insert committed.

use super::{call, unexpected, Context};
use crate::body::RecordBody;
use crate::error::ApiError;
use protocol::{Reply, Request, StudentRecord};

/// Stores `record`.
///
/// Fails with `Conflict` (carrying the stored record) when the SRN exists.
pub async fn insert(ctx: &Context<'_>, record: StudentRecord) -> Result<RecordBody, ApiError> {
    let answer = call(ctx.gateway, Request::InsertRecord { record }, ctx.meta).await?;
    match answer.reply {
        Reply::Inserted { record } => Ok(RecordBody::new("inserted", record, answer.request_id)),
        _ => Err(unexpected(answer)),
    }
}
