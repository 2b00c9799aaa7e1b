//! Reads through `read_database`: one record, a page, or the whole list.
//!
//! Every read travels to consumer-read, naming the version of the full list held here
//! ([`Snapshots`]); when the table is still at that version consumer-read answers
//! `unchanged` and the read is answered from the held list. Records are passed on as
//! the JSON the consumer wrote, never decoded record by record.

use super::{call, refused, unexpected, Context};
use crate::answer::JsonBody;
use crate::error::ApiError;
use crate::gateway::{Answer, Gateway, GatewayError, RawAnswer};
use protocol::message::{ReadReply, TableVersion};
use protocol::{Operation, Reply, Request, Srn, StudentRecord};

/// A read of many records, as the consumer (or the held list) answered it.
pub enum Listing {
    /// The whole list (no `after`, no `limit`).
    Full {
        body: JsonBody,
        /// The table version it is at; `None` from a consumer that does not say.
        version: Option<TableVersion>,
        /// The client holds this version already (`If-None-Match`).
        not_modified: bool,
        request_id: String,
    },
    Page {
        page: RawPage,
        /// The page size asked for, for the next page's link.
        limit: Option<u32>,
        request_id: String,
    },
}

/// One page of records, left as the JSON the consumer wrote.
pub struct RawPage {
    /// The JSON array of records.
    pub records: Vec<u8>,
    pub next_after: Option<Srn>,
}

/// One record by SRN.
///
/// Fails with `NotFound` when there is none.
pub async fn record(ctx: &Context<'_>, srn: Srn) -> Result<(StudentRecord, String), ApiError> {
    let answer = call(ctx.gateway, Request::ReadRecord { srn }, ctx.meta).await?;
    match answer.reply {
        Reply::Record { record } => Ok((record, answer.request_id)),
        _ => Err(unexpected(answer)),
    }
}

/// The whole list without `after` and `limit`; else one page (everything after
/// `after`, without `limit`).
pub async fn list(
    ctx: &Context<'_>,
    after: Option<Srn>,
    limit: Option<u32>,
) -> Result<Listing, ApiError> {
    if after.is_none() && limit.is_none() {
        return full(ctx).await;
    }
    let (page, request_id) = page(ctx, after, limit).await?;
    Ok(Listing::Page {
        page,
        limit,
        request_id,
    })
}

/// The whole list. It still travels to consumer-read every time, naming the version
/// of the list held here (or the one the client holds); the list itself moves only
/// when the table changed.
async fn full(ctx: &Context<'_>) -> Result<Listing, ApiError> {
    let (gateway, snapshots) = (ctx.gateway, ctx.snapshots);
    let client_holds = ctx.client_holds.as_ref();
    let held = snapshots.current();
    let known_version = held
        .as_ref()
        .map(|s| s.version.clone())
        .or_else(|| client_holds.cloned());
    let request = Request::ReadDatabase {
        after: None,
        limit: None,
        known_version,
    };
    let raw = gateway.call_raw(&request, ctx.meta).await?;
    let (version, body) = match read_reply(&raw)? {
        ReadReply::Records {
            records, version, ..
        } => {
            count(gateway, "records");
            let body = match &version {
                Some(version) => JsonBody::Shared(snapshots.offer(version.clone(), records)),
                None => JsonBody::Owned(records.to_vec()),
            };
            (version, body)
        }
        ReadReply::Other(Reply::Unchanged { version }) => {
            count(gateway, "unchanged");
            let body = match held {
                Some(held) if held.version == version => JsonBody::Shared(held.body.clone()),
                // We named the client's version, and the client holds the list.
                _ if client_holds == Some(&version) => JsonBody::Empty,
                _ => return Err(not_held(&version, raw.request_id)),
            };
            (Some(version), body)
        }
        ReadReply::Other(reply) => return Err(unexpected_read(gateway, reply, raw)),
    };
    let not_modified = version.is_some() && version.as_ref() == client_holds;
    Ok(Listing::Full {
        body: if not_modified { JsonBody::Empty } else { body },
        version,
        not_modified,
        request_id: raw.request_id,
    })
}

/// One page (or, without `limit`, everything after `after`), read through consumer-read:
/// from the database, or from the full list held here when consumer-read says the
/// table is still at its version.
async fn page(
    ctx: &Context<'_>,
    after: Option<Srn>,
    limit: Option<u32>,
) -> Result<(RawPage, String), ApiError> {
    let held = ctx.snapshots.current();
    let request = Request::ReadDatabase {
        after: after.clone(),
        limit,
        known_version: held.as_ref().map(|s| s.version.clone()),
    };
    let raw = ctx.gateway.call_raw(&request, ctx.meta).await?;
    let page = match read_reply(&raw)? {
        ReadReply::Other(Reply::Unchanged { version }) => {
            count(ctx.gateway, "unchanged");
            let held = held
                .filter(|s| s.version == version)
                .ok_or_else(|| not_held(&version, raw.request_id.clone()))?;
            let page = held.page(after.as_ref(), limit);
            RawPage {
                records: page.records,
                next_after: page.next_after,
            }
        }
        ReadReply::Records {
            records,
            next_after,
            ..
        } => {
            count(ctx.gateway, "records");
            RawPage {
                records: records.to_vec(),
                next_after,
            }
        }
        ReadReply::Other(reply) => return Err(unexpected_read(ctx.gateway, reply, raw)),
    };
    Ok((page, raw.request_id))
}

/// Counts consumer-read's reply by outcome, for `/metrics`.
fn count(gateway: &Gateway, outcome: &str) {
    gateway.count_reply(Operation::ReadDatabase.consumer_name(), outcome);
}

/// A read's reply, with the records left as the consumer wrote them.
fn read_reply(raw: &RawAnswer) -> Result<ReadReply<'_>, ApiError> {
    ReadReply::decode(&raw.body).map_err(|e| {
        ApiError::from(GatewayError::BadReply {
            consumer: Operation::ReadDatabase.consumer_name(),
            detail: e.to_string(),
        })
    })
}

/// consumer-read said the table is at a version whose list is not held here.
fn not_held(version: &TableVersion, request_id: String) -> ApiError {
    ApiError::ConsumerFailed {
        detail: format!("consumer-read answered unchanged at {version}, which is not held"),
        request_id,
    }
}

/// Any other reply to a read: counted, and its error (refused, failed, or unexpected).
fn unexpected_read(gateway: &Gateway, reply: Reply, raw: RawAnswer) -> ApiError {
    count(gateway, reply.outcome());
    match refused(reply, &raw.request_id) {
        Err(refusal) => refusal,
        Ok(reply) => unexpected(Answer {
            reply,
            request_id: raw.request_id,
            round_trip: raw.round_trip,
        }),
    }
}
