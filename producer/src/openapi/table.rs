//! The table's routes in the OpenAPI document: one operation per row of
//! `protocol::shapes::SHAPES`, with the parameters and body its source and action
//! imply and the responses of [`super::responses`]. Routes registered from a table have
//! no per-function annotations to generate this from, so it is built from the table.

use super::responses::{responses, schema};
use crate::metadata::{IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_MAX_BYTES};
use protocol::fields::fold;
use protocol::input::{HEALTH_MESSAGE_MAX_CHARS, PAGE_MAX};
use protocol::shapes::{self, Action, Family, FieldName, Shape, Source, SHAPES};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::schema::{AdditionalProperties, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, ObjectBuilder, OpenApi, RefOr, Required, Schema};
use utoipa::Modify;

/// Adds every row of the table to the document.
pub struct TableRoutes;

impl Modify for TableRoutes {
    fn modify(&self, openapi: &mut OpenApi) {
        for shape in SHAPES {
            openapi.paths.add_path_operation(
                template(shape.path),
                vec![http_method(shape.method)],
                operation(shape),
            );
        }
    }
}

/// `/v1/records/<srn>` -> `/v1/records/{srn}`.
pub fn template(path: &str) -> String {
    path.replace('<', "{").replace('>', "}")
}

fn http_method(method: shapes::Method) -> HttpMethod {
    match method {
        shapes::Method::Get => HttpMethod::Get,
        shapes::Method::Post => HttpMethod::Post,
        shapes::Method::Delete => HttpMethod::Delete,
    }
}

fn operation(shape: &Shape) -> Operation {
    let tag = match shape.family {
        Family::Assignment => "assignment",
        Family::V1 => "v1",
    };
    let id = format!(
        "{}{}",
        shape.method.as_str().to_lowercase(),
        shape.path.replace('/', "_").replace(['<', '>'], "")
    );
    let mut operation = OperationBuilder::new()
        .tag(tag)
        .operation_id(Some(id))
        .summary(Some(summary(shape.action, shape.family)))
        .description(Some(description(shape)))
        .parameters(Some(parameters(shape)))
        .request_body(request_body(shape))
        .responses(responses(shape));
    if shape.needs_token() {
        // The token is needed only when the server has API_TOKEN set.
        operation = operation.securities(Some([
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]));
    }
    operation.build()
}

fn summary(action: Action, family: Family) -> &'static str {
    match (action, family) {
        (Action::HealthCheck, _) => "Health check through the health_check queue",
        (Action::InsertRecord, _) => "Insert a record; 201 once it is committed",
        (Action::DeleteRecord, _) => "Delete the record with this SRN",
        (Action::ReadRecord, _) => "One record by SRN",
        (Action::ReadDatabase, Family::Assignment) => "All records ordered by SRN, or a page",
        (Action::ReadDatabase, Family::V1) => "One page of records ordered by SRN",
    }
}

fn description(shape: &Shape) -> String {
    let mut text = String::from(match shape.action {
        Action::HealthCheck => {
            "The message may also be given as msg, health_check, check, text, any single \
             parameter or a bare word; without one it is `ping`."
        }
        Action::InsertRecord => {
            "Field names match in any capitalisation; Section may be a JSON number; \
             unknown fields are refused."
        }
        Action::DeleteRecord | Action::ReadRecord => "The SRN in any capitalisation, or quoted.",
        Action::ReadDatabase if shape.family == Family::V1 => {
            "Follow `next_after` (or the Link header); the page size is 100 by default."
        }
        Action::ReadDatabase => {
            "With `limit`, one page, and X-Next-After and Link when more follow; without, \
             the whole list with its ETag."
        }
    });
    if shape.source == Source::BodyAndQuery {
        text.push_str(" Fields come from the body or the query; a field in both is the body's.");
    }
    if shape.refuses_prefetch() {
        text.push_str(
            " A browser's prefetch (Purpose or Sec-Purpose: prefetch, X-Moz: prefetch, \
             X-Purpose: preview) or a HEAD is refused with 403 and changes nothing.",
        );
    }
    text
}

/// Whether the action fails without the field.
fn required(action: Action) -> bool {
    matches!(
        action,
        Action::InsertRecord | Action::DeleteRecord | Action::ReadRecord
    )
}

fn field_schema(field: &FieldName) -> RefOr<Schema> {
    let text = || ObjectBuilder::new().schema_type(Type::String);
    match field.name {
        "Name" => schema("Name"),
        "SRN" | "after" => schema("Srn"),
        "Section" => schema("Section"),
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(PAGE_MAX))
            .into(),
        "message" => text().max_length(Some(HEALTH_MESSAGE_MAX_CHARS)).into(),
        _ => text().into(),
    }
}

fn parameter(name: &str, place: ParameterIn, required: bool, schema: RefOr<Schema>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .build()
}

fn parameters(shape: &Shape) -> Vec<Parameter> {
    let fields = shape.action.fields();
    let in_path = |f: &FieldName| shape.path_params().any(|p| fold(p) == fold(f.name));
    let mut out: Vec<Parameter> = shape
        .path_params()
        .filter_map(|p| {
            let field = fields.iter().find(|f| fold(f.name) == fold(p))?;
            Some(parameter(p, ParameterIn::Path, true, field_schema(field)))
        })
        .collect();
    if shape.source.reads_query() {
        let required = required(shape.action) && shape.source == Source::Query;
        out.extend(
            fields
                .iter()
                .filter(|f| !in_path(f))
                .map(|f| parameter(f.name, ParameterIn::Query, required, field_schema(f))),
        );
    }
    let key = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(IDEMPOTENCY_KEY_MAX_BYTES))
        .pattern(Some("^[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?$"));
    out.push(parameter(
        IDEMPOTENCY_KEY_HEADER,
        ParameterIn::Header,
        false,
        key.into(),
    ));
    let trace = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"));
    out.push(parameter(
        "traceparent",
        ParameterIn::Header,
        false,
        trace.into(),
    ));
    if shape.action == Action::ReadDatabase && shape.family == Family::Assignment {
        let etag = ObjectBuilder::new().schema_type(Type::String);
        out.push(parameter(
            "If-None-Match",
            ParameterIn::Header,
            false,
            etag.into(),
        ));
    }
    out
}

fn request_body(shape: &Shape) -> Option<RequestBody> {
    let kinds = shape.source.body_kinds();
    if kinds.is_empty() {
        return None;
    }
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    if shape.action != Action::HealthCheck {
        // Unknown fields are refused (a health check takes any single field instead).
        object = object.additional_properties(Some(AdditionalProperties::FreeForm(false)));
    }
    for field in shape.action.fields() {
        object = object.property(field.name, field_schema(field));
        if required(shape.action) {
            object = object.required(field.name);
        }
    }
    let schema: RefOr<Schema> = object.into();
    let mut body = RequestBodyBuilder::new().required(Some(if shape.source == Source::JsonBody {
        Required::True
    } else {
        Required::False
    }));
    for kind in kinds {
        let content = ContentBuilder::new().schema(Some(schema.clone())).build();
        body = body.content(kind.content_type(), content);
    }
    Some(body.build())
}
