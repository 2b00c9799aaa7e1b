//! One request-handling path per operation: build the message, call the gateway, map
//! the consumer's reply to an [`Outcome`] or an [`ApiError`]. Every row of the table
//! of shapes, in either family, ends here with the same `Input`, so an insert takes the
//! same walk whether it came as JSON, a form, a query or path segments.
//!
//! - [`health`]: the round trip through `health_check`;
//! - [`insert`]: one record into `insert_record`;
//! - [`delete`]: one record out, through `delete_record`;
//! - [`read`]: one record, a page, or the whole list, through `read_database` and the
//!   list the producer holds.

pub mod delete;
pub mod health;
pub mod insert;
pub mod read;

use crate::body::{HealthBody, RecordBody};
use crate::error::ApiError;
use crate::gateway::{Answer, Gateway};
use crate::metadata::Metadata;
use crate::snapshot::Snapshots;
use protocol::input::Input;
use protocol::message::TableVersion;
use protocol::{Reply, Request, StudentRecord};

/// What an operation needs besides its input.
pub struct Context<'a> {
    pub gateway: &'a Gateway,
    pub snapshots: &'a Snapshots,
    /// Sent on with every message (deadline, trace context, idempotency key).
    pub meta: &'a Metadata,
    /// The full list's version the client says it holds (`If-None-Match`).
    pub client_holds: Option<TableVersion>,
}

/// What an operation did, before it is presented in a route family's way.
pub enum Outcome {
    Health(HealthBody),
    Inserted(RecordBody),
    Deleted(RecordBody),
    Record {
        record: StudentRecord,
        request_id: String,
    },
    Listing(read::Listing),
}

/// Runs the operation `input` asks for.
///
/// Fails with the consumer's refusal (404, 409, 422), or the gateway's (503, 504, 502).
pub async fn run(ctx: &Context<'_>, input: Input) -> Result<Outcome, ApiError> {
    Ok(match input {
        Input::HealthCheck { message } => Outcome::Health(health::check(ctx, message).await?),
        Input::InsertRecord(record) => Outcome::Inserted(insert::insert(ctx, record).await?),
        Input::DeleteRecord(srn) => Outcome::Deleted(delete::delete(ctx, srn).await?),
        Input::ReadRecord(srn) => {
            let (record, request_id) = read::record(ctx, srn).await?;
            Outcome::Record { record, request_id }
        }
        Input::ReadDatabase { after, limit } => {
            Outcome::Listing(read::list(ctx, after, limit).await?)
        }
    })
}

/// Calls the gateway; a consumer's refusal (`NotFound`, `AlreadyExists`, `Invalid`,
/// `Failed`) becomes its [`ApiError`].
pub async fn call(
    gateway: &Gateway,
    request: Request,
    meta: &Metadata,
) -> Result<Answer, ApiError> {
    let answer = gateway.call(&request, meta).await?;
    let reply = refused(answer.reply, &answer.request_id)?;
    Ok(Answer { reply, ..answer })
}

/// Turns the replies that say the consumer refused, failed or found nothing to act on
/// into their error.
fn refused(reply: Reply, request_id: &str) -> Result<Reply, ApiError> {
    match reply {
        Reply::NotFound { srn } => Err(ApiError::NotFound {
            srn: srn.to_string(),
            request_id: request_id.to_owned(),
        }),
        Reply::AlreadyExists { record } => Err(ApiError::Conflict {
            record,
            request_id: request_id.to_owned(),
        }),
        Reply::Invalid { detail } => Err(ApiError::Rejected {
            detail,
            request_id: request_id.to_owned(),
        }),
        Reply::Failed { detail } => Err(ApiError::ConsumerFailed {
            detail,
            request_id: request_id.to_owned(),
        }),
        reply => Ok(reply),
    }
}

/// A reply that does not answer the request it was sent for.
fn unexpected(answer: Answer) -> ApiError {
    ApiError::ConsumerFailed {
        detail: format!("unexpected reply {:?}", answer.reply),
        request_id: answer.request_id,
    }
}
