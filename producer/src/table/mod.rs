//! The routes registered from the table of request shapes (`protocol::shapes::SHAPES`):
//! one Rocket route per row, all served by one [`Handler`], [`ShapeRoute`].
//!
//! Every request of every row takes the same steps, in this order:
//! 1. the bearer token, when the row's action changes data, before anything else is
//!    read (so a new row cannot forget it);
//! 2. a browser's prefetch of a data-changing `GET` is refused ([`prefetch`]);
//! 3. the request's metadata (`traceparent`, `Idempotency-Key`);
//! 4. the fields, from where the row says ([`fields`]), read into the action's input
//!    by `protocol::input`;
//! 5. the operation ([`crate::operations`]), the same for every row and alias;
//! 6. the answer, presented the way the row's family answers ([`present`]).

pub mod assignment;
pub mod fields;
pub mod prefetch;
pub mod present;
pub mod v1;

use crate::answer::Answered;
use crate::auth;
use crate::error::ApiError;
use crate::gateway::Gateway;
use crate::metadata::Metadata;
use crate::operations::{self, Context};
use crate::snapshot::{self, Snapshots};
use protocol::input::read_input;
use protocol::shapes::{self, Shape};
use rocket::http::Method;
use rocket::route::{Handler, Outcome, Route};
use rocket::{Data, Request};
use std::sync::Arc;

/// Serves one row of the table.
#[derive(Clone)]
pub struct ShapeRoute {
    shape: &'static Shape,
    gateway: Gateway,
    snapshots: Arc<Snapshots>,
}

/// One route per row of `SHAPES`.
pub fn routes(gateway: &Gateway, snapshots: &Arc<Snapshots>) -> Vec<Route> {
    shapes::SHAPES
        .iter()
        .map(|shape| {
            let handler = ShapeRoute {
                shape,
                gateway: gateway.clone(),
                snapshots: snapshots.clone(),
            };
            Route::new(method(shape.method), shape.path, handler)
        })
        .collect()
}

/// The table's method as Rocket's.
pub fn method(method: shapes::Method) -> Method {
    match method {
        shapes::Method::Get => Method::Get,
        shapes::Method::Post => Method::Post,
        shapes::Method::Delete => Method::Delete,
    }
}

#[rocket::async_trait]
impl Handler for ShapeRoute {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        Outcome::from(req, self.answer(req, data).await)
    }
}

impl ShapeRoute {
    async fn answer(&self, req: &Request<'_>, data: Data<'_>) -> Result<Answered, ApiError> {
        let shape = self.shape;
        if shape.needs_token() {
            auth::authorize(req)?;
        }
        if shape.refuses_prefetch() && prefetch::is_speculative(req) {
            return Err(ApiError::PrefetchRefused);
        }
        let meta = Metadata::from_headers(req.headers())?;
        let fields = fields::read(shape, req, data).await?;
        let input = read_input(shape.action, shape.family, fields)?;
        let ctx = Context {
            gateway: &self.gateway,
            snapshots: &self.snapshots,
            meta: &meta,
            client_holds: req
                .headers()
                .get("If-None-Match")
                .find_map(snapshot::version_in),
        };
        let outcome = operations::run(&ctx, input).await?;
        Ok(present::present(shape, outcome))
    }
}
