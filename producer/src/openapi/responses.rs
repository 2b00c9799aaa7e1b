//! The answers of the table's routes, defined once: each action's success (a list's
//! differs by family), and one list of errors with the rule that says which rows can
//! give each. A row's responses are computed from it, never written per route.

use protocol::shapes::{Action, Family, Shape};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ArrayBuilder, Ref, Type};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Responses, ResponsesBuilder, Schema,
};

/// Which rows can give a response.
type Applies = fn(&Shape) -> bool;

/// Every error a table route can give, and which rows can give it.
const ERRORS: &[(&str, &str, Applies)] = &[
    ("400", "Unreadable body, query or path segment", reads_input),
    (
        "401",
        "API_TOKEN is set and the bearer token is missing or wrong",
        Shape::needs_token,
    ),
    (
        "403",
        "A browser's prefetch, prerender or preview (or a HEAD): nothing was changed",
        Shape::refuses_prefetch,
    ),
    ("404", "No such record", |s| {
        matches!(s.action, Action::DeleteRecord | Action::ReadRecord)
    }),
    (
        "409",
        "The SRN exists; the stored record is returned",
        |s| s.action == Action::InsertRecord,
    ),
    ("413", "Body too large", reads_body),
    ("414", "URI longer than 8 KiB", reads_input),
    ("415", "Unsupported content type", reads_body),
    (
        "422",
        "A field (or the Idempotency-Key header) is missing, invalid, repeated or unknown; \
         or the consumer refused the message",
        |_| true,
    ),
    (
        "503",
        "Broker unavailable, no queue bound, or overloaded",
        |_| true,
    ),
    ("504", "No reply in time", |_| true),
];

fn reads_body(shape: &Shape) -> bool {
    !shape.source.body_kinds().is_empty()
}

fn reads_input(shape: &Shape) -> bool {
    reads_body(shape) || shape.source.reads_query() || shape.path_params().next().is_some()
}

/// The responses a request of `shape` can get.
pub fn responses(shape: &Shape) -> Responses {
    let (status, success) = success(shape);
    let mut set = ResponsesBuilder::new().response(status, success);
    if shape.action == Action::ReadDatabase && shape.family == Family::Assignment {
        let not_modified = ResponseBuilder::new()
            .description("Full read: the table is still at the version If-None-Match names")
            .header("ETag", header("The same version"));
        set = set.response("304", not_modified);
    }
    for (status, description, applies) in ERRORS {
        if applies(shape) {
            set = set.response(*status, json(description, schema("ErrorBody")));
        }
    }
    set.build()
}

fn success(shape: &Shape) -> (&'static str, ResponseBuilder) {
    match (shape.action, shape.family) {
        (Action::HealthCheck, _) => (
            "200",
            json("The consumer acked the message", schema("HealthBody")),
        ),
        (Action::InsertRecord, _) => (
            "201",
            json("Stored and committed", schema("RecordBody"))
                .header("Location", header("/v1/records/{SRN}")),
        ),
        (Action::DeleteRecord, _) => (
            "200",
            json("Deleted; the record is returned", schema("RecordBody")),
        ),
        (Action::ReadRecord, _) => ("200", json("The record", schema("StudentRecord"))),
        (Action::ReadDatabase, Family::Assignment) => {
            let array = ArrayBuilder::new().items(schema("StudentRecord"));
            let records = json("Records ordered by SRN", array.into())
                .header("X-Next-After", header("Where the next page starts, if any"))
                .header("Link", header("The next page, if any: rel=\"next\""))
                .header(
                    "ETag",
                    header("The full list's table version (full reads only)"),
                );
            ("200", records)
        }
        (Action::ReadDatabase, Family::V1) => (
            "200",
            json("A page of records", schema("PageBody"))
                .header("Link", header("The next page, if any: rel=\"next\"")),
        ),
    }
}

/// A reference to a schema in the document's components.
pub fn schema(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

fn json(description: &str, body: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new().schema(Some(body)).build(),
    )
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}
