//! The OpenAPI 3 document, generated from the handlers' annotations and the response
//! types; served at `/openapi.json`, browsable at `/api-docs/`.

use crate::body::{ErrorBody, HealthBody, PageBody, QueueStats, ReadyBody, RecordBody};
use crate::{routes, v1};
use inventory::{Srn, StudentRecord};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Student records",
        description = "Every request travels as a message through RabbitMQ to the consumer that owns \
its operation; the answer is that consumer's reply. Routes that change data require \
`Authorization: Bearer <API_TOKEN>` when the server has API_TOKEN set.",
    ),
    paths(
        routes::health_check,
        routes::health_check_post,
        routes::health_check_path,
        routes::insert_record,
        routes::delete_record,
        routes::delete_record_delete,
        routes::delete_record_post,
        routes::delete_record_path,
        routes::delete_record_path_delete,
        routes::read_database,
        routes::index,
        routes::healthz,
        routes::readyz,
        routes::metrics,
        v1::list,
        v1::create,
        v1::get,
        v1::delete,
        v1::health,
    ),
    components(schemas(StudentRecord, Srn, ErrorBody, HealthBody, RecordBody, PageBody, ReadyBody, QueueStats)),
    modifiers(&BearerToken),
    tags(
        (name = "assignment", description = "The assignment's routes, in every shape clients send"),
        (name = "v1", description = "The REST resource API: JSON only"),
        (name = "probes", description = "Liveness, readiness, metrics"),
    )
)]
pub struct ApiDoc;

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

/// The document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document always serialises")
}
