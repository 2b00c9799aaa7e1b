//! The one place errors become HTTP responses.
//!
//! Every error is `{"error": <code>, "detail": <text>}` (plus `field`, `record` or
//! `request_id` where known). 4xx says plainly what the client got wrong; 5xx names the
//! component that failed, and the cause is logged.

use crate::body::ErrorBody;
use crate::gateway::GatewayError;
use protocol::{InputError, StudentRecord};
use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use std::io::Cursor;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    InvalidField { field: String, detail: String },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(u64),
    #[error("request URI is longer than {0} bytes")]
    UriTooLong(usize),
    /// The body did not arrive within `HTTP_BODY_TIMEOUT_MS` of its header.
    #[error("request body did not arrive within {} ms", .0.as_millis())]
    BodyTimeout(std::time::Duration),
    #[error("no record with SRN {srn}")]
    NotFound { srn: String, request_id: String },
    #[error("a record with SRN {} already exists", .record.srn)]
    Conflict {
        record: StudentRecord,
        request_id: String,
    },
    #[error("{error}")]
    Gateway {
        error: GatewayError,
        request_id: Option<String>,
    },
    /// The consumer dead-lettered the message as invalid.
    #[error("{detail}")]
    Rejected { detail: String, request_id: String },
    /// The consumer could not do the work.
    #[error("{detail}")]
    ConsumerFailed { detail: String, request_id: String },
    /// `API_TOKEN` is set and the request did not carry it.
    #[error("{0}")]
    Unauthorized(String),
    /// A browser's speculative request (prefetch, prerender, preview) for a route
    /// that changes data.
    #[error("a prefetch, prerender or preview must not change data: follow the link to do it")]
    PrefetchRefused,
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Unreadable(detail) => ApiError::BadRequest(detail),
            InputError::InvalidField { field, detail } => ApiError::InvalidField { field, detail },
            InputError::UnsupportedMediaType(detail) => ApiError::UnsupportedMediaType(detail),
        }
    }
}

impl From<GatewayError> for ApiError {
    fn from(error: GatewayError) -> Self {
        ApiError::Gateway {
            error,
            request_id: None,
        }
    }
}

impl ApiError {
    pub fn status(&self) -> Status {
        match self {
            ApiError::BadRequest(_) => Status::BadRequest,
            ApiError::InvalidField { .. } | ApiError::Rejected { .. } => {
                Status::UnprocessableEntity
            }
            ApiError::UnsupportedMediaType(_) => Status::UnsupportedMediaType,
            ApiError::PayloadTooLarge(_) => Status::PayloadTooLarge,
            ApiError::UriTooLong(_) => Status::UriTooLong,
            ApiError::BodyTimeout(_) => Status::RequestTimeout,
            ApiError::NotFound { .. } => Status::NotFound,
            ApiError::Conflict { .. } => Status::Conflict,
            ApiError::Gateway { error, .. } => match error {
                GatewayError::Unavailable(_)
                | GatewayError::Unroutable(_)
                | GatewayError::Overloaded(_) => Status::ServiceUnavailable,
                GatewayError::Timeout { .. } => Status::GatewayTimeout,
                GatewayError::BadReply { .. } => Status::BadGateway,
            },
            ApiError::ConsumerFailed { .. } => Status::InternalServerError,
            ApiError::Unauthorized(_) => Status::Unauthorized,
            ApiError::PrefetchRefused => Status::Forbidden,
        }
    }

    /// A stable, machine-readable code for the `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UriTooLong(_) => "uri_too_long",
            ApiError::BodyTimeout(_) => "request_timeout",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::Gateway { error, .. } => match error {
                GatewayError::Unavailable(_) => "broker_unavailable",
                GatewayError::Unroutable(_) => "no_queue",
                GatewayError::Overloaded(_) => "overloaded",
                GatewayError::Timeout { .. } => "reply_timeout",
                GatewayError::BadReply { .. } => "bad_reply",
            },
            ApiError::Rejected { .. } => "rejected_by_consumer",
            ApiError::ConsumerFailed { .. } => "consumer_failed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::PrefetchRefused => "prefetch_refused",
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (field, record) = match self {
            ApiError::InvalidField { field, .. } => (Some(field.clone()), None),
            ApiError::Conflict { record, .. } => (None, Some(record.clone())),
            _ => (None, None),
        };
        ErrorBody {
            error: self.code().into(),
            detail: self.to_string(),
            field,
            record,
            request_id: self.request_id().map(str::to_owned),
        }
    }

    fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::NotFound { request_id, .. }
            | ApiError::Conflict { request_id, .. }
            | ApiError::Rejected { request_id, .. }
            | ApiError::ConsumerFailed { request_id, .. } => Some(request_id),
            ApiError::Gateway { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status.code >= 500 {
            log::warn!(
                "{} {} -> {}: {self}",
                req.method(),
                req.uri().path(),
                status.code
            );
        }
        let mut response = json_response(status, &self.body());
        if let Some(id) = self.request_id() {
            response.set_header(Header::new("X-Request-Id", id.to_owned()));
        }
        if let ApiError::Unauthorized(_) = self {
            response.set_header(Header::new("WWW-Authenticate", "Bearer"));
        }
        Ok(response)
    }
}

/// A JSON response with this status.
pub fn json_response(status: Status, body: &impl serde::Serialize) -> Response<'static> {
    let bytes = serde_json::to_vec(body).expect("response bodies always serialise");
    let mut response = Response::build();
    json_body(response.status(status), bytes);
    response.finalize()
}

/// Sets a JSON body. Rocket hands a body to the connection in chunks of 4 KiB by
/// default, each a trip through a channel and a write: a full list of 10,000 records
/// would be 160 of them. One chunk per body (up to 1 MiB), set after `sized_body`,
/// which starts a new body at the default size.
pub fn json_body<B>(response: &mut rocket::response::Builder<'_>, bytes: B)
where
    B: AsRef<[u8]> + Send + Unpin + 'static,
{
    let len = bytes.as_ref().len();
    response
        .header(ContentType::JSON)
        .sized_body(len, Cursor::new(bytes))
        .max_chunk_size(len.clamp(4096, 1 << 20));
}

/// Every error Rocket produces itself (no route, bad URI, a guard's failure) also
/// answers in JSON.
#[rocket::catch(default)]
pub fn default_catcher(
    status: Status,
    req: &Request<'_>,
) -> (Status, rocket::serde::json::Json<ErrorBody>) {
    let (code, detail) = match status.code {
        404 => (
            "not_found",
            format!(
                "no route for {} {}; see GET / for the routes",
                req.method(),
                req.uri().path()
            ),
        ),
        413 => ("payload_too_large", "request is too large".into()),
        414 => ("uri_too_long", "request URI is too long".into()),
        400 => ("bad_request", "the request could not be read".into()),
        422 => (
            "invalid_field",
            "the request's fields could not be read".into(),
        ),
        c if c >= 500 => (
            "internal_error",
            "unexpected server error; see the producer's log".into(),
        ),
        _ => ("error", status.reason_lossy().to_string()),
    };
    let body = ErrorBody {
        error: code.into(),
        detail,
        field: None,
        record: None,
        request_id: None,
    };
    (status, rocket::serde::json::Json(body))
}
