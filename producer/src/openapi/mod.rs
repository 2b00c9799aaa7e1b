//! The OpenAPI 3 document, served at `/openapi.json` and browsable at `/api-docs/`
//! (Swagger UI). The table's routes are built from the table of shapes ([`table`],
//! with the responses of [`responses`]); the page, probes and metrics keep their own
//! annotations, collected here.

pub mod responses;
pub mod table;

use crate::body::{ErrorBody, HealthBody, PageBody, QueueStats, ReadyBody, RecordBody};
use crate::{metrics, page, probes};
use protocol::{Name, Section, Srn, StudentRecord};
use rocket::Route;
use table::TableRoutes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Student records",
        description = "Every request travels as a message through RabbitMQ to the consumer that owns \
its operation; the answer is that consumer's reply. Routes that change data require \
`Authorization: Bearer <API_TOKEN>` when the server has API_TOKEN set.",
    ),
    paths(page::index, probes::healthz, probes::readyz, metrics::metrics),
    components(schemas(
        StudentRecord, Srn, Name, Section, ErrorBody, HealthBody, RecordBody, PageBody,
        ReadyBody, QueueStats
    )),
    modifiers(&BearerToken, &TableRoutes),
    tags(
        (name = "assignment", description = "The assignment's routes, in every shape clients send"),
        (name = "v1", description = "The REST resource API: JSON only"),
        (name = "probes", description = "Liveness, readiness, metrics"),
    )
)]
struct ApiDoc;

/// Declares the optional bearer token scheme.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `/openapi.json` and the Swagger UI at `/api-docs/`.
pub fn routes() -> Vec<Route> {
    SwaggerUi::new("/api-docs/<_..>")
        .url("/openapi.json", document())
        .into()
}
