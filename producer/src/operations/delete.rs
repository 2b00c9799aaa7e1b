//! Delete: one record by SRN through `delete_record`; the deleted record is returned.

use super::{call, unexpected, Context};
use crate::body::RecordBody;
use crate::error::ApiError;
use protocol::{Reply, Request, Srn};

/// Deletes the record with `srn`.
///
/// Fails with `NotFound` when there is none.
pub async fn delete(ctx: &Context<'_>, srn: Srn) -> Result<RecordBody, ApiError> {
    let answer = call(ctx.gateway, Request::DeleteRecord { srn }, ctx.meta).await?;
    match answer.reply {
        Reply::Deleted { record } => Ok(RecordBody::new("deleted", record, answer.request_id)),
        _ => Err(unexpected(answer)),
    }
}
