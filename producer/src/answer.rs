//! A successful answer: its status, its JSON body, the request id and any extra headers.
//! Errors are [`crate::error::ApiError`]; together they are every response a route gives.

use crate::error::json_body;
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use serde::Serialize;
use std::sync::Arc;

/// A successful answer: status, JSON body, the request id, extra headers.
pub struct Answered {
    status: Status,
    body: JsonBody,
    request_id: Option<String>,
    headers: Vec<Header<'static>>,
}

/// A response body that is already JSON text.
pub enum JsonBody {
    Owned(Vec<u8>),
    /// A full list held by [`crate::snapshot::Snapshots`], shared by every response
    /// that serves it.
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
    pub fn json(status: Status, body: JsonBody, request_id: Option<&str>) -> Answered {
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
