//! The HTTP routes: the assignment's four, their accepted shapes, and liveness probes.
//! Each route reads its fields, builds a [`Request`], calls the gateway and maps the
//! consumer's [`Reply`] to a status and JSON body.

use crate::error::{json_response, ApiError};
use crate::gateway::{Answer, Gateway};
use crate::input::{Body, Fields, Query, Value};
use inventory::message::{Reply, Request};
use inventory::{Srn, StudentRecord};
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::State;
use serde_json::{json, Value as Json};

/// Longest health-check message echoed, in characters.
pub const HEALTH_MESSAGE_MAX_CHARS: usize = 1024;
/// Largest page `read_database?limit=` serves.
pub const PAGE_MAX: u32 = 1000;
/// Health-check message when the client sends none.
const DEFAULT_HEALTH_MESSAGE: &str = "ping";
const RECORD_FIELDS: &str = "Name, SRN and Section";

/// A successful answer: status, JSON body, and the request id for the client to quote.
pub struct Answered {
    status: Status,
    body: Json,
    request_id: Option<String>,
    headers: Vec<Header<'static>>,
}

impl Answered {
    fn ok(body: Json, request_id: &str) -> Answered {
        Answered {
            status: Status::Ok,
            body,
            request_id: Some(request_id.to_owned()),
            headers: Vec::new(),
        }
    }
}

impl<'r> Responder<'r, 'static> for Answered {
    fn respond_to(self, _: &'r rocket::Request<'_>) -> response::Result<'static> {
        let mut response = json_response(self.status, &self.body);
        if let Some(id) = self.request_id {
            response.set_header(Header::new("X-Request-Id", id));
        }
        for header in self.headers {
            response.set_header(header);
        }
        Ok(response)
    }
}

type ApiResult = Result<Answered, ApiError>;

/// Calls the gateway, turning its failure into an [`ApiError`] that carries the id.
async fn call(gateway: &Gateway, request: Request) -> Result<Answer, ApiError> {
    let answer = gateway.call(&request).await?;
    match answer.reply {
        Reply::Invalid { detail } => Err(ApiError::Rejected {
            detail,
            request_id: answer.request_id,
        }),
        Reply::Failed { detail } => Err(ApiError::ConsumerFailed {
            detail,
            request_id: answer.request_id,
        }),
        _ => Ok(answer),
    }
}

fn unexpected(answer: Answer) -> ApiError {
    ApiError::ConsumerFailed {
        detail: format!("unexpected reply {:?}", answer.reply),
        request_id: answer.request_id,
    }
}

// ---- health_check ----------------------------------------------------------------

#[rocket::get("/health_check")]
pub async fn health_check(query: Query, gateway: &State<Gateway>) -> ApiResult {
    health(query.0?, gateway).await
}

#[rocket::post("/health_check", data = "<body>")]
pub async fn health_check_post(query: Query, body: Body, gateway: &State<Gateway>) -> ApiResult {
    let mut fields = body.0?;
    fields.fill_from(query.0?);
    health(fields, gateway).await
}

#[rocket::get("/health_check/<message>")]
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
            Some(_) => {
                fields.reject_unknown("message")?;
                unreachable!("one field left, so reject_unknown failed")
            }
            None => {
                fields.reject_unknown("message")?;
                DEFAULT_HEALTH_MESSAGE.to_owned()
            }
        },
    };
    health_message(gateway, message).await
}

async fn health_message(gateway: &Gateway, message: String) -> ApiResult {
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
        Reply::HealthOk { message, consumer } => Ok(Answered::ok(
            json!({
                "status": "ok",
                "message": message,
                "consumer": consumer,
                "round_trip_ms": (round_trip_ms * 1000.0).round() / 1000.0,
                "request_id": answer.request_id,
            }),
            &answer.request_id,
        )),
        _ => Err(unexpected(answer)),
    }
}

// ---- insert_record ---------------------------------------------------------------

#[rocket::post("/insert_record", data = "<body>")]
pub async fn insert_record(query: Query, body: Body, gateway: &State<Gateway>) -> ApiResult {
    let mut fields = body.0?;
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
    let name = fields.require_text("Name", &[], false)?;
    let srn = fields.require_text("SRN", &[], false)?;
    let section = fields.require_text("Section", &[], true)?;
    fields.reject_unknown(RECORD_FIELDS)?;
    Ok(StudentRecord::new(&name, &srn, &section)?)
}

pub async fn insert(gateway: &Gateway, record: StudentRecord) -> ApiResult {
    let answer = call(gateway, Request::InsertRecord { record }).await?;
    match answer.reply {
        Reply::Inserted { record } => Ok(Answered {
            status: Status::Created,
            headers: vec![Header::new(
                "Location",
                format!("/v1/records/{}", record.srn),
            )],
            body: json!({ "status": "inserted", "record": record, "request_id": answer.request_id }),
            request_id: Some(answer.request_id),
        }),
        Reply::AlreadyExists { record } => Err(ApiError::Conflict {
            record,
            request_id: answer.request_id,
        }),
        _ => Err(unexpected(answer)),
    }
}

// ---- delete_record ---------------------------------------------------------------

#[rocket::get("/delete_record")]
pub async fn delete_record(query: Query, gateway: &State<Gateway>) -> ApiResult {
    delete_from(query.0?, gateway).await
}

#[rocket::delete("/delete_record", data = "<body>")]
pub async fn delete_record_delete(query: Query, body: Body, gateway: &State<Gateway>) -> ApiResult {
    let mut fields = body.0?;
    fields.fill_from(query.0?);
    delete_from(fields, gateway).await
}

#[rocket::post("/delete_record", data = "<body>")]
pub async fn delete_record_post(query: Query, body: Body, gateway: &State<Gateway>) -> ApiResult {
    let mut fields = body.0?;
    fields.fill_from(query.0?);
    delete_from(fields, gateway).await
}

#[rocket::get("/delete_record/<srn>")]
pub async fn delete_record_path(srn: &str, gateway: &State<Gateway>) -> ApiResult {
    delete(gateway, Srn::parse(srn)?).await
}

#[rocket::delete("/delete_record/<srn>")]
pub async fn delete_record_path_delete(srn: &str, gateway: &State<Gateway>) -> ApiResult {
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
        Reply::Deleted { record } => Ok(Answered::ok(
            json!({ "status": "deleted", "record": record, "request_id": answer.request_id }),
            &answer.request_id,
        )),
        Reply::NotFound { srn } => Err(ApiError::NotFound {
            srn: srn.to_string(),
            request_id: answer.request_id,
        }),
        _ => Err(unexpected(answer)),
    }
}

// ---- read_database ---------------------------------------------------------------

#[rocket::get("/read_database")]
pub async fn read_database(query: Query, gateway: &State<Gateway>) -> ApiResult {
    let mut fields = query.0?;
    let (after, limit) = page_from(&mut fields)?;
    fields.reject_unknown("limit and after")?;
    let (records, next, request_id) = read(gateway, after, limit).await?;
    let mut answered = Answered::ok(json!(records), &request_id);
    if let (Some(next), Some(limit)) = (next, limit) {
        answered
            .headers
            .push(Header::new("X-Next-After", next.to_string()));
        answered.headers.push(Header::new(
            "Link",
            format!("</read_database?limit={limit}&after={next}>; rel=\"next\""),
        ));
    }
    Ok(answered)
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

pub async fn read(
    gateway: &Gateway,
    after: Option<Srn>,
    limit: Option<u32>,
) -> Result<(Vec<StudentRecord>, Option<Srn>, String), ApiError> {
    let answer = call(gateway, Request::ReadDatabase { after, limit }).await?;
    match answer.reply {
        Reply::Records {
            records,
            next_after,
        } => Ok((records, next_after, answer.request_id)),
        _ => Err(unexpected(answer)),
    }
}

/// Where over-long URIs are rerouted (see `normalise_uri`).
pub const URI_TOO_LONG_PATH: &str = "/_errors/uri_too_long";

#[rocket::get("/_errors/uri_too_long")]
pub fn uri_too_long() -> ApiError {
    ApiError::UriTooLong(crate::MAX_URI_BYTES)
}

// ---- index and probes ------------------------------------------------------------

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
#[rocket::get("/", rank = 1)]
pub fn page(_browser: WantsHtml) -> (rocket::http::ContentType, &'static str) {
    (rocket::http::ContentType::HTML, PAGE)
}

#[rocket::get("/", rank = 2)]
pub fn index() -> Json {
    json!({
        "service": "student-records producer",
        "routes": {
            "GET /health_check?message=hello": "round trip through the health_check queue",
            "POST /insert_record": "JSON or form with Name, SRN, Section; 201 once committed",
            "GET /delete_record?SRN=PES1UG21CS096": "delete by SRN (also DELETE, or /delete_record/<SRN>)",
            "GET /read_database": "all records ordered by SRN (optional ?limit=&after=)",
            "GET /healthz": "the producer process is alive",
            "GET /readyz": "the producer is connected to the broker",
        }
    })
}

#[rocket::get("/healthz")]
pub fn healthz() -> Json {
    json!({ "status": "alive" })
}

#[rocket::get("/readyz")]
pub fn readyz(gateway: &State<Gateway>) -> (Status, rocket::serde::json::Json<Json>) {
    if gateway.is_connected() {
        (
            Status::Ok,
            rocket::serde::json::Json(json!({ "status": "ready", "broker": "connected" })),
        )
    } else {
        (
            Status::ServiceUnavailable,
            rocket::serde::json::Json(
                json!({ "error": "not_ready", "detail": "not connected to the broker" }),
            ),
        )
    }
}
