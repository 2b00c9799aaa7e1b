//! The versioned REST resource API: `/v1/records` and `/v1/health`. JSON only; the same
//! messages, consumers and errors as the assignment's routes.

use crate::auth::Authorized;
use crate::body::{ErrorBody, HealthBody, PageBody, RecordBody};
use crate::error::ApiError;
use crate::gateway::Gateway;
use crate::input::{Body, Query};
use crate::routes::{self, call, unexpected, Answered, ApiResult};
use inventory::message::{Reply, Request};
use inventory::{Srn, StudentRecord};
use rocket::http::{Header, Status};
use rocket::State;
use rocket::{delete, get, post};

/// Page size when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 100;

/// One page of records ordered by SRN; follow `next_after` (or the `Link` header).
#[utoipa::path(
    tag = "v1",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (default 100)"),
        ("after" = Option<Srn>, Query, description = "Start after this SRN"),
    ),
    responses(
        (status = 200, description = "A page of records", body = PageBody),
        (status = 400, description = "Unreadable query", body = ErrorBody),
        (status = 422, description = "Invalid limit or after", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/v1/records")]
pub async fn list(
    query: Query,
    gateway: &State<Gateway>,
    snapshots: &State<std::sync::Arc<crate::snapshot::Snapshots>>,
) -> ApiResult {
    let mut fields = query.0?;
    let (after, limit) = routes::page_from(&mut fields)?;
    fields.reject_unknown("limit and after")?;
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    let (page, request_id) = routes::read(gateway, snapshots, after, Some(limit)).await?;
    let link = page.next_after.as_ref().map(|next| {
        Header::new(
            "Link",
            format!("</v1/records?limit={limit}&after={next}>; rel=\"next\""),
        )
    });
    let mut answered = Answered::raw(Status::Ok, page.to_page_body(), Some(&request_id));
    if let Some(link) = link {
        answered = answered.with_header(link);
    }
    Ok(answered)
}

/// Create a record (JSON only). 201 with `Location` once committed.
#[utoipa::path(
    tag = "v1",
    request_body(content = StudentRecord, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored and committed", body = RecordBody,
            headers(("Location" = String, description = "/v1/records/{SRN}"))),
        (status = 400, description = "Unreadable body", body = ErrorBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 409, description = "The SRN exists; the stored record is returned", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "A field is missing, invalid or unknown", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[post("/v1/records", data = "<body>")]
pub async fn create(auth: Authorized, body: Body, gateway: &State<Gateway>) -> ApiResult {
    auth.0?;
    if !body.is_json {
        return Err(ApiError::UnsupportedMediaType(
            "the v1 API takes JSON: send Content-Type: application/json".into(),
        ));
    }
    let record = routes::record_from(body.fields?)?;
    routes::insert(gateway, record).await
}

/// One record by SRN.
#[utoipa::path(
    tag = "v1",
    params(("srn" = Srn, Path, description = "The record's SRN")),
    responses(
        (status = 200, description = "The record", body = StudentRecord),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 422, description = "Invalid SRN", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/v1/records/<srn>")]
pub async fn get(srn: &str, gateway: &State<Gateway>) -> ApiResult {
    let srn = Srn::parse(srn)?;
    let answer = call(gateway, Request::ReadRecord { srn }).await?;
    match answer.reply {
        Reply::Record { record } => {
            Ok(Answered::new(Status::Ok, &record, Some(&answer.request_id)))
        }
        Reply::NotFound { srn } => Err(ApiError::NotFound {
            srn: srn.to_string(),
            request_id: answer.request_id,
        }),
        _ => Err(unexpected(answer)),
    }
}

/// Delete one record by SRN; the deleted record is returned.
#[utoipa::path(
    tag = "v1",
    params(("srn" = Srn, Path, description = "The record's SRN")),
    responses(
        (status = 200, description = "Deleted", body = RecordBody),
        (status = 401, description = "API_TOKEN is set and missing or wrong", body = ErrorBody),
        (status = 404, description = "No such record", body = ErrorBody),
        (status = 422, description = "Invalid SRN", body = ErrorBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[delete("/v1/records/<srn>")]
pub async fn delete(auth: Authorized, srn: &str, gateway: &State<Gateway>) -> ApiResult {
    auth.0?;
    routes::delete(gateway, Srn::parse(srn)?).await
}

/// A health check through the `health_check` queue.
#[utoipa::path(
    tag = "v1",
    responses(
        (status = 200, description = "The consumer acked the message", body = HealthBody),
        (status = 503, description = "Broker unavailable", body = ErrorBody),
        (status = 504, description = "No reply in time", body = ErrorBody),
    )
)]
#[get("/v1/health")]
pub async fn health(gateway: &State<Gateway>) -> ApiResult {
    routes::health_message(gateway, "ping".into()).await
}
