//! The assignment's routes with the shapes clients send, plus the page and the probes.
//! Each route reads its fields, builds a [`Request`], calls the gateway and maps the
//! consumer's [`Reply`] to a status and a typed body (see [`crate::body`]).

use crate::auth::Authorized;
use crate::body::{ErrorBody, HealthBody, QueueStats, ReadyBody, RecordBody};
use crate::error::{json_body, ApiError};
use crate::gateway::{Answer, Gateway, GatewayError, RawAnswer};
use crate::input::{Body, Fields, Query, Value};
use crate::metrics::Metrics;
use crate::snapshot::{self, Snapshots};
use inventory::message::{ReadReply, Reply, Request, TableVersion};
use inventory::{Operation, Srn, StudentRecord};
use rocket::http::{ContentType, Header, Status};
use rocket::response::{self, Responder};
use rocket::State;
use rocket::{delete, get, post};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

/// Longest health-check message echoed, in characters.
pub const HEALTH_MESSAGE_MAX_CHARS: usize = 1024;
/// Largest page `limit` serves.
pub const PAGE_MAX: u32 = 1000;
/// Health-check message when the client sends none.
const DEFAULT_HEALTH_MESSAGE: &str = "ping";
const RECORD_FIELDS: &str = "Name, SRN and Section";

/// A successful answer: status, JSON body, the request id, extra headers.
pub struct Answered {
    status: Status,
    body: JsonBody,
    request_id: Option<String>,
    headers: Vec<Header<'static>>,
}

/// A response body that is already JSON text.
enum JsonBody {
    Owned(Vec<u8>),
    /// A full list held by [`Snapshots`], shared by every response that serves it.
    Shared(Arc<[u8]>),
    /// `304 Not Modified` has none.
    Empty,
}

impl Answered {
    pub fn new(status: Status, body: &impl Serialize, request_id: Option<&str>) -> Answered {
        let body = serde_json::to_vec(body).expect("response bodies always serialise");
        Answered::json(status, JsonBody::Owned(body), request_id)
    }

    /// A body that is already JSON text.
    pub fn raw(status: Status, body: Vec<u8>, request_id: Option<&str>) -> Answered {
        Answered::json(status, JsonBody::Owned(body), request_id)
    }

    fn json(status: Status, body: JsonBody, request_id: Option<&str>) -> Answered {
        Answered {
            status,
            body,
            request_id: request_id.map(str::to_owned),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, header: Header<'static>) -> Answered {
        self.headers.push(header);
        self
    }
}

impl<'r> Responder<'r, 'static> for Answered {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> response::Result<'static> {
        let mut response = rocket::Response::build();
        response.status(self.status);
        match self.body {
            JsonBody::Owned(bytes) => json_body(&mut response, bytes),
            JsonBody::Shared(bytes) => json_body(&mut response, bytes),
            JsonBody::Empty => {}
        }
        if let Some(id) = self.request_id {
            response.header(Header::new("X-Request-Id", id));
        }
        for header in self.headers {
            response.header_adjoin(header);
        }
        Ok(response.finalize())
    }
}

pub type ApiResult = Result<Answered, ApiError>;

/// Calls the gateway; a consumer's `Invalid`/`Failed` reply becomes an [`ApiError`].
pub async fn call(gateway: &Gateway, request: Request) -> Result<Answer, ApiError> {
    let answer = gateway.call(&request).await?;
    let reply = refused(answer.reply, &answer.request_id)?;
    Ok(Answer { reply, ..answer })
}

/// Turns the replies that say the consumer refused or failed into their error.
fn refused(reply: Reply, request_id: &str) -> Result<Reply, ApiError> {
    match reply {
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

pub fn unexpected(answer: Answer) -> ApiError {
    ApiError::ConsumerFailed {
        detail: format!("unexpected reply {:?}", answer.reply),
        request_id: answer.request_id,
    }
}

// ---- health_check ----------------------------------------------------------------

/// Health check: the message travels through the `health_check` queue and back.
///
/// The message may also be given as `msg`, `health_check`, `check`, `text`, any single
/// parameter, or a bare word (`?hello`); without one it is `ping`.
#[utoipa::path(
    tag = "assignment",
    params(("message" = Option<String>, Query, description = "Echoed back; at most 1024 characters")),
    responses(
        (status = 200, description = "The consumer acked the message", body = HealthBody),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 422, description = "Message too long, or control characters", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/health_check")]
pub async fn health_check(query: Query, gateway: &State<Gateway>) -> ApiResult {
    health(query.0?, gateway).await
}

/// Health check with the message in a JSON or form body (`{"message": "hello"}`).
#[utoipa::path(
    tag = "assignment",
    request_body(content = Object, description = "`{\"message\": \"hello\"}`, JSON or form"),
    responses(
        (status = 200, description = "The consumer acked the message", body = HealthBody),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Unsupported content type", body = ErrorBody),
        (status = 422, description = "Invalid message", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[post("/health_check", data = "<body>")]
pub async fn health_check_post(query: Query, body: Body, gateway: &State<Gateway>) -> ApiResult {
    let mut fields = body.fields?;
    fields.fill_from(query.0?);
    health(fields, gateway).await
}

/// Health check with the message as a path segment.
#[utoipa::path(
    tag = "assignment",
    params(("message" = String, Path, description = "Echoed back")),
    responses(
        (status = 200, description = "The consumer acked the message", body = HealthBody),
        (status = 422, description = "Invalid message", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/health_check/<message>")]
pub async fn health_check_path(message: &str, gateway: &State<Gateway>) -> ApiResult {
    health_message(gateway, message.to_owned()).await
}

async fn health(mut fields: Fields, gateway: &Gateway) -> ApiResult {
    let named = fields.take_text(
        "message",
        &[
            "msg",
            "health_check",
            "healthcheck",
            "check",
            "text",
            "ping",
        ],
        true,
    )?;
    let message = match named {
        Some(message) => message,
        None => match fields.clone().only_one() {
            // `?hello` (a bare word) or `?anything=hello`
            Some((key, Value::Text(value))) => {
                if value.is_empty() {
                    key
                } else {
                    value
                }
            }
            _ => {
                fields.reject_unknown("message")?;
                DEFAULT_HEALTH_MESSAGE.to_owned()
            }
        },
    };
    health_message(gateway, message).await
}

pub async fn health_message(gateway: &Gateway, message: String) -> ApiResult {
    if message.chars().count() > HEALTH_MESSAGE_MAX_CHARS {
        return Err(ApiError::InvalidField {
            field: "message".into(),
            detail: format!("message is longer than {HEALTH_MESSAGE_MAX_CHARS} characters"),
        });
    }
    if message.chars().any(char::is_control) {
        return Err(ApiError::InvalidField {
            field: "message".into(),
            detail: "message must not contain control characters".into(),
        });
    }
    let answer = call(gateway, Request::HealthCheck { message }).await?;
    let round_trip_ms = answer.round_trip.as_secs_f64() * 1000.0;
    match answer.reply {
        Reply::HealthOk { message, consumer } => {
            let body = HealthBody {
                status: "ok".into(),
                message,
                consumer,
                round_trip_ms: (round_trip_ms * 1000.0).round() / 1000.0,
                request_id: answer.request_id.clone(),
            };
            Ok(Answered::new(Status::Ok, &body, Some(&answer.request_id)))
        }
        _ => Err(unexpected(answer)),
    }
}

// ---- insert_record ---------------------------------------------------------------

/// Insert a record. 201 once it is committed.
///
/// Also accepted: a URL-encoded or multipart form, query parameters, field names in any
/// capitalisation, `Section` as a number. Unknown fields are refused.
#[utoipa::path(
    tag = "assignment",
    request_body(content = StudentRecord, description = "JSON, or the same fields as a form or query"),
    responses(
        (status = 201, description = "Stored and committed", body = RecordBody,
            headers(("Location" = String, description = "/v1/records/{SRN}"))),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 409, description = "The SRN exists; the stored record is returned", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Unsupported content type", body = ErrorBody),
        (status = 422, description = "A field is missing, invalid or unknown", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[post("/insert_record", data = "<body>")]
pub async fn insert_record(
    auth: Authorized,
    query: Query,
    body: Body,
    gateway: &State<Gateway>,
) -> ApiResult {
    auth.0?;
    let mut fields = body.fields?;
    fields.fill_from(query.0?);
    let record = record_from(fields)?;
    insert(gateway, record).await
}

/// Reads and validates a record's three fields; refuses any other field.
pub fn record_from(mut fields: Fields) -> Result<StudentRecord, ApiError> {
    if fields.is_empty() {
        return Err(ApiError::InvalidField {
            field: "Name".into(),
            detail: format!("{RECORD_FIELDS} are required (JSON body, form, or query parameters)"),
        });
    }
    let name = fields.take_text("Name", &[], false)?;
    let srn = fields.take_text("SRN", &[], false)?;
    let section = fields.take_text("Section", &[], true)?;
    // An unknown field first: `Sectoin` is more likely a typo than a second mistake.
    fields.reject_unknown(RECORD_FIELDS)?;
    let required = |value: Option<String>, field: &str| {
        value.ok_or_else(|| ApiError::InvalidField {
            field: field.into(),
            detail: format!("{field} is required"),
        })
    };
    Ok(StudentRecord::new(
        &required(name, "Name")?,
        &required(srn, "SRN")?,
        &required(section, "Section")?,
    )?)
}

pub async fn insert(gateway: &Gateway, record: StudentRecord) -> ApiResult {
    let answer = call(gateway, Request::InsertRecord { record }).await?;
    match answer.reply {
        Reply::Inserted { record } => {
            let location = format!("/v1/records/{}", record.srn);
            let body = RecordBody {
                status: "inserted".into(),
                record,
                request_id: answer.request_id.clone(),
            };
            Ok(
                Answered::new(Status::Created, &body, Some(&answer.request_id))
                    .with_header(Header::new("Location", location)),
            )
        }
        Reply::AlreadyExists { record } => Err(ApiError::Conflict {
            record,
            request_id: answer.request_id,
        }),
        _ => Err(unexpected(answer)),
    }
}

// ---- delete_record ---------------------------------------------------------------

/// Delete the record with this SRN (`SRN`, `srn`, any capitalisation).
#[utoipa::path(
    tag = "assignment",
    params(("SRN" = Srn, Query, description = "The record's SRN")),
    responses(
        (status = 200, description = "Deleted; the record is returned", body = RecordBody),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 422, description = "SRN missing or invalid", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/delete_record")]
pub async fn delete_record(auth: Authorized, query: Query, gateway: &State<Gateway>) -> ApiResult {
    auth.0?;
    delete_from(query.0?, gateway).await
}

/// Delete by SRN, given in the query or a JSON/form body.
#[utoipa::path(
    tag = "assignment",
    params(("SRN" = Option<Srn>, Query, description = "The record's SRN, or in the body")),
    request_body(content = Object, description = "`{\"SRN\": \"...\"}`, JSON or form; optional"),
    responses(
        (status = 200, description = "Deleted; the record is returned", body = RecordBody),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Unsupported content type", body = ErrorBody),
        (status = 422, description = "SRN missing or invalid", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[delete("/delete_record", data = "<body>")]
pub async fn delete_record_delete(
    auth: Authorized,
    query: Query,
    body: Body,
    gateway: &State<Gateway>,
) -> ApiResult {
    auth.0?;
    let mut fields = body.fields?;
    fields.fill_from(query.0?);
    delete_from(fields, gateway).await
}

/// Delete by SRN, given in a JSON/form body or the query.
#[utoipa::path(
    tag = "assignment",
    params(("SRN" = Option<Srn>, Query, description = "The record's SRN, or in the body")),
    request_body(content = Object, description = "`{\"SRN\": \"...\"}`, JSON or form"),
    responses(
        (status = 200, description = "Deleted; the record is returned", body = RecordBody),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Unsupported content type", body = ErrorBody),
        (status = 422, description = "SRN missing or invalid", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[post("/delete_record", data = "<body>")]
pub async fn delete_record_post(
    auth: Authorized,
    query: Query,
    body: Body,
    gateway: &State<Gateway>,
) -> ApiResult {
    auth.0?;
    let mut fields = body.fields?;
    fields.fill_from(query.0?);
    delete_from(fields, gateway).await
}

/// Delete by SRN in the path.
#[utoipa::path(
    tag = "assignment",
    params(("srn" = Srn, Path, description = "The record's SRN")),
    responses(
        (status = 200, description = "Deleted; the record is returned", body = RecordBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 422, description = "Invalid SRN", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/delete_record/<srn>")]
pub async fn delete_record_path(
    auth: Authorized,
    srn: &str,
    gateway: &State<Gateway>,
) -> ApiResult {
    auth.0?;
    delete(gateway, Srn::parse(srn)?).await
}

/// Delete by SRN in the path, with the DELETE method.
#[utoipa::path(
    tag = "assignment",
    params(("srn" = Srn, Path, description = "The record's SRN")),
    responses(
        (status = 200, description = "Deleted; the record is returned", body = RecordBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 422, description = "Invalid SRN", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[delete("/delete_record/<srn>")]
pub async fn delete_record_path_delete(
    auth: Authorized,
    srn: &str,
    gateway: &State<Gateway>,
) -> ApiResult {
    auth.0?;
    delete(gateway, Srn::parse(srn)?).await
}

async fn delete_from(mut fields: Fields, gateway: &Gateway) -> ApiResult {
    let srn = fields.require_text("SRN", &[], false)?;
    fields.reject_unknown("SRN")?;
    delete(gateway, Srn::parse(&srn)?).await
}

pub async fn delete(gateway: &Gateway, srn: Srn) -> ApiResult {
    let answer = call(gateway, Request::DeleteRecord { srn }).await?;
    match answer.reply {
        Reply::Deleted { record } => {
            let body = RecordBody {
                status: "deleted".into(),
                record,
                request_id: answer.request_id.clone(),
            };
            Ok(Answered::new(Status::Ok, &body, Some(&answer.request_id)))
        }
        Reply::NotFound { srn } => Err(ApiError::NotFound {
            srn: srn.to_string(),
            request_id: answer.request_id,
        }),
        _ => Err(unexpected(answer)),
    }
}

// ---- read_database ---------------------------------------------------------------

/// All records ordered by SRN; with `limit`, one page, and `X-Next-After` when more follow.
#[utoipa::path(
    tag = "assignment",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size"),
        ("after" = Option<Srn>, Query, description = "Start after this SRN"),
        ("If-None-Match" = Option<String>, Header, description = "The full list's ETag the client holds"),
    ),
    responses(
        (status = 200, description = "Records ordered by SRN", body = [StudentRecord],
            headers(
                ("X-Next-After" = String, description = "Where the next page starts, if any"),
                ("ETag" = String, description = "The full list's table version (full reads only)"),
            )),
        (status = 304, description = "Full read: the table is still at the version If-None-Match names",
            headers(("ETag" = String, description = "The same version"))),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 422, description = "Invalid limit or after", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/read_database")]
pub async fn read_database(
    query: Query,
    if_none_match: IfNoneMatch,
    gateway: &State<Gateway>,
    snapshots: &State<Arc<Snapshots>>,
) -> ApiResult {
    let mut fields = query.0?;
    let (after, limit) = page_from(&mut fields)?;
    fields.reject_unknown("limit and after")?;
    if after.is_none() && limit.is_none() {
        return read_all(gateway, snapshots, if_none_match.0).await;
    }
    let (page, request_id) = read(gateway, snapshots, after, limit).await?;
    let mut answered = Answered::json(
        Status::Ok,
        JsonBody::Owned(page.records.to_vec()),
        Some(&request_id),
    );
    if let (Some(next), Some(limit)) = (page.next_after, limit) {
        answered = answered
            .with_header(Header::new("X-Next-After", next.to_string()))
            .with_header(Header::new(
                "Link",
                format!("</read_database?limit={limit}&after={next}>; rel=\"next\""),
            ));
    }
    Ok(answered)
}

/// The table version named by an `If-None-Match` header, if any.
pub struct IfNoneMatch(pub Option<TableVersion>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(
        req: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        let version = req
            .headers()
            .get("If-None-Match")
            .find_map(snapshot::version_in);
        rocket::request::Outcome::Success(IfNoneMatch(version))
    }
}

/// The whole list. It still travels to consumer-read every time, naming the version
/// of the list held here (or the one the client holds); the list itself moves only
/// when the table changed.
async fn read_all(
    gateway: &Gateway,
    snapshots: &Snapshots,
    client_holds: Option<TableVersion>,
) -> ApiResult {
    let held = snapshots.current();
    let known_version = held
        .as_ref()
        .map(|s| s.version.clone())
        .or_else(|| client_holds.clone());
    let request = Request::ReadDatabase {
        after: None,
        limit: None,
        known_version,
    };
    let consumer = request.operation().consumer_name();
    let raw = gateway.call_raw(&request).await?;
    let reply = read_reply(&raw)?;
    let request_id = Some(raw.request_id.as_str());
    let (version, body) = match reply {
        ReadReply::Records {
            records, version, ..
        } => {
            gateway.count_reply(consumer, "records");
            let body = match &version {
                Some(version) => JsonBody::Shared(snapshots.offer(version.clone(), records)),
                None => JsonBody::Owned(records.to_vec()),
            };
            (version, body)
        }
        ReadReply::Other(Reply::Unchanged { version }) => {
            gateway.count_reply(consumer, "unchanged");
            let body = match held {
                Some(held) if held.version == version => JsonBody::Shared(held.body.clone()),
                // We named the client's version, and the client holds the list.
                _ if client_holds.as_ref() == Some(&version) => JsonBody::Empty,
                _ => return Err(not_held(&version, raw.request_id)),
            };
            (Some(version), body)
        }
        ReadReply::Other(reply) => return Err(unexpected_read(gateway, reply, raw)),
    };
    let Some(version) = version else {
        return Ok(Answered::json(Status::Ok, body, request_id));
    };
    let etag = Header::new("ETag", snapshot::etag(&version));
    if client_holds.as_ref() == Some(&version) {
        return Ok(
            Answered::json(Status::NotModified, JsonBody::Empty, request_id).with_header(etag),
        );
    }
    Ok(Answered::json(Status::Ok, body, request_id).with_header(etag))
}

/// Reads the optional `after` (an SRN) and `limit` (1 to 1000) paging fields.
pub fn page_from(fields: &mut Fields) -> Result<(Option<Srn>, Option<u32>), ApiError> {
    let after = fields
        .take_text("after", &[], false)?
        .map(|s| {
            Srn::parse(&s).map_err(|e| ApiError::InvalidField {
                field: "after".into(),
                detail: e.to_string().replacen("SRN", "after", 1),
            })
        })
        .transpose()?;
    let limit = fields
        .take_text("limit", &[], true)?
        .map(|s| match s.trim().parse::<u32>() {
            Ok(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
            _ => Err(ApiError::InvalidField {
                field: "limit".into(),
                detail: format!("limit must be a whole number from 1 to {PAGE_MAX}"),
            }),
        })
        .transpose()?;
    Ok((after, limit))
}

/// One page of records, left as the JSON the consumer wrote.
pub struct RawPage {
    /// The JSON array of records.
    pub records: Vec<u8>,
    pub next_after: Option<Srn>,
}

impl RawPage {
    /// `{"records": [...], "next_after": ...}`, the v1 API's page ([`PageBody`]).
    pub fn to_page_body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.records.len() + 64);
        out.extend_from_slice(b"{\"records\":");
        out.extend_from_slice(&self.records);
        if let Some(next) = &self.next_after {
            out.extend_from_slice(b",\"next_after\":");
            serde_json::to_writer(&mut out, next).expect("an SRN always serialises");
        }
        out.push(b'}');
        out
    }
}

/// One page (or, without `limit`, everything after `after`), read through consumer-read:
/// from the database, or from the full list held here when consumer-read says the
/// table is still at its version.
pub async fn read(
    gateway: &Gateway,
    snapshots: &Snapshots,
    after: Option<Srn>,
    limit: Option<u32>,
) -> Result<(RawPage, String), ApiError> {
    let held = snapshots.current();
    let request = Request::ReadDatabase {
        after: after.clone(),
        limit,
        known_version: held.as_ref().map(|s| s.version.clone()),
    };
    let consumer = request.operation().consumer_name();
    let raw = gateway.call_raw(&request).await?;
    let reply = read_reply(&raw)?;
    match reply {
        ReadReply::Other(Reply::Unchanged { version }) => {
            gateway.count_reply(consumer, "unchanged");
            let held = held
                .filter(|s| s.version == version)
                .ok_or_else(|| not_held(&version, raw.request_id.clone()))?;
            let page = held.page(after.as_ref(), limit);
            let page = RawPage {
                records: page.records,
                next_after: page.next_after,
            };
            Ok((page, raw.request_id))
        }
        ReadReply::Records {
            records,
            next_after,
            ..
        } => {
            gateway.count_reply(consumer, "records");
            let page = RawPage {
                records: records.to_vec(),
                next_after,
            };
            Ok((page, raw.request_id))
        }
        ReadReply::Other(reply) => Err(unexpected_read(gateway, reply, raw)),
    }
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
    gateway.count_reply(Operation::ReadDatabase.consumer_name(), reply.outcome());
    match refused(reply, &raw.request_id) {
        Err(refusal) => refusal,
        Ok(reply) => unexpected(Answer {
            reply,
            request_id: raw.request_id,
            round_trip: raw.round_trip,
        }),
    }
}

// ---- page, probes, metrics -------------------------------------------------------

/// The web page: one self-contained file (no build step, no front-end server) that
/// drives the JSON API. Compiled in, so the binary is all a deployment needs.
const PAGE: &str = include_str!("../static/index.html");

/// Matches requests that name `text/html` in `Accept`, as browsers do; curl's `*/*`
/// does not, so curl gets the JSON route list.
pub struct WantsHtml;

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for WantsHtml {
    type Error = ();

    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        let html = req
            .headers()
            .get("Accept")
            .any(|accept| accept.contains("text/html"));
        if html {
            rocket::request::Outcome::Success(WantsHtml)
        } else {
            rocket::request::Outcome::Forward(Status::NotFound)
        }
    }
}

/// Browsers get the page; API clients get the JSON route list.
#[get("/", rank = 1)]
pub fn page(_browser: WantsHtml) -> (ContentType, &'static str) {
    (ContentType::HTML, PAGE)
}

/// The routes, as JSON (what curl gets at `/`).
#[utoipa::path(tag = "probes", responses((status = 200, description = "Route list", body = Object)))]
#[get("/", rank = 2)]
pub fn index() -> rocket::serde::json::Json<serde_json::Value> {
    rocket::serde::json::Json(json!({
        "service": "student-records producer",
        "routes": {
            "GET /health_check?message=hello": "round trip through the health_check queue",
            "POST /insert_record": "JSON or form with Name, SRN, Section; 201 once committed",
            "GET /delete_record?SRN=PES1UG21CS096": "delete by SRN (also DELETE, or /delete_record/<SRN>)",
            "GET /read_database": "all records ordered by SRN (optional ?limit=&after=)",
            "/v1/records": "the REST resource API (GET, POST; /v1/records/<SRN>: GET, DELETE)",
            "GET /openapi.json": "the OpenAPI 3 document; browse it at /api-docs/",
            "GET /metrics": "Prometheus metrics",
            "GET /healthz": "the producer process is alive",
            "GET /readyz": "broker connected, a consumer on every queue, database reachable",
        }
    }))
}

/// Liveness: the process answers HTTP.
#[utoipa::path(tag = "probes", responses((status = 200, description = "Alive", body = Object)))]
#[get("/healthz")]
pub fn healthz() -> rocket::serde::json::Json<serde_json::Value> {
    rocket::serde::json::Json(json!({ "status": "alive" }))
}

/// Readiness: broker connected, at least one consumer per queue, and the database
/// answering through consumer-read.
#[utoipa::path(
    tag = "probes",
    responses(
        (status = 200, description = "Ready", body = ReadyBody),
        (status = 503, description = "Not ready; the body says which part", body = ReadyBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(gateway: &State<Gateway>) -> Answered {
    let mut ready = ReadyBody {
        status: "not_ready".into(),
        broker: "disconnected".into(),
        queues: Default::default(),
        database: "unknown".into(),
        error: None,
        detail: None,
    };
    if gateway.is_connected() {
        ready.broker = "connected".into();
        match gateway.queue_stats().await {
            Ok(queues) => ready.queues = queues,
            Err(e) => ready.broker = format!("connected, but queues unreadable: {e}"),
        }
    }
    let read_consumers = ready
        .queues
        .get(Operation::ReadDatabase.queue())
        .map_or(0, |q: &QueueStats| q.consumers);
    if read_consumers > 0 {
        // A one-row read proves consumer-read and the database both answer.
        let probe = Request::ReadDatabase {
            after: None,
            limit: Some(1),
            known_version: None,
        };
        ready.database = match call(gateway, probe).await {
            Ok(_) => "reachable".into(),
            Err(e) => format!("unreachable through consumer-read: {e}"),
        };
    } else if ready.broker == "connected" {
        ready.database = "unknown: no consumer on read_database".into();
    }
    let unconsumed: Vec<&str> = Operation::ALL
        .iter()
        .map(|op| op.queue())
        .filter(|q| ready.queues.get(*q).is_none_or(|s| s.consumers == 0))
        .collect();
    let problem = if ready.broker != "connected" {
        Some(format!("broker: {}", ready.broker))
    } else if !unconsumed.is_empty() {
        Some(format!("no consumer on {}", unconsumed.join(", ")))
    } else if ready.database != "reachable" {
        Some(format!("database: {}", ready.database))
    } else {
        None
    };
    let status = match problem {
        None => {
            ready.status = "ready".into();
            Status::Ok
        }
        Some(detail) => {
            ready.error = Some("not_ready".into());
            ready.detail = Some(detail);
            Status::ServiceUnavailable
        }
    };
    Answered::new(status, &ready, None)
}

/// Prometheus metrics (text format). Queue gauges are read at scrape time.
#[utoipa::path(tag = "probes", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(
    gateway: &State<Gateway>,
    metrics: &State<Arc<Metrics>>,
) -> (ContentType, String) {
    // While the broker is down the queue gauges keep their last values; the HTTP
    // counters (503s) show the outage.
    let _ = gateway.queue_stats().await;
    let content_type = ContentType::new("text", "plain").with_params([("version", "0.0.4")]);
    (content_type, metrics.render())
}

/// Where over-long URIs are rerouted (see `normalise_uri`).
pub const URI_TOO_LONG_PATH: &str = "/_errors/uri_too_long";

#[get("/_errors/uri_too_long")]
pub fn uri_too_long() -> ApiError {
    ApiError::UriTooLong(crate::MAX_URI_BYTES)
}
