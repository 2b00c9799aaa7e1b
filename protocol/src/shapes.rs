//! The one table of request shapes the producer accepts.
//!
//! Real clients of this assignment send the same request in many shapes: other paths
//! (`/healthcheck`, `/health-check`), other methods (`DELETE /delete_record/<SRN>`),
//! fields in the path, the query or the body, bodies as JSON or forms, field names in
//! any capitalisation. Every path, method and field source the producer accepts is one
//! row of [`SHAPES`], and every spelling of a field is in [`FIELD_NAMES`]. The producer
//! registers its routes from these rows and builds its OpenAPI document from them; the
//! README's table is checked against them; the conformance checker probes deployments
//! with them. Adding a shape is adding one line here.
//!
//! Besides the rows, every request goes through the same normalisation before routing
//! (see [`NORMALISATION`]): a trailing slash and doubled slashes are dropped, field
//! names match ignoring case, `_`, `-` and spaces, and an SRN may come in quotes.

use crate::body::BodyKind;
use crate::operation::Operation;

/// The HTTP methods the table uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    HealthCheck,
    InsertRecord,
    DeleteRecord,
    /// All records, or one page of them.
    ReadDatabase,
    /// One record by SRN.
    ReadRecord,
}

impl Action {
    /// The queue (and consumer) that answers it.
    pub fn operation(self) -> Operation {
        match self {
            Action::HealthCheck => Operation::HealthCheck,
            Action::InsertRecord => Operation::InsertRecord,
            Action::DeleteRecord => Operation::DeleteRecord,
            Action::ReadDatabase | Action::ReadRecord => Operation::ReadDatabase,
        }
    }

    /// Whether it changes data: then it needs the bearer token when one is set, and a
    /// `GET` of it refuses browser prefetches (see [`Shape::refuses_prefetch`]).
    pub fn changes_data(self) -> bool {
        self.operation().is_write()
    }

    /// The fields it reads, by their canonical names.
    pub fn fields(self) -> &'static [FieldName] {
        match self {
            Action::HealthCheck => &[MESSAGE],
            Action::InsertRecord => &[NAME, SRN, SECTION],
            Action::DeleteRecord | Action::ReadRecord => &[SRN],
            Action::ReadDatabase => &[LIMIT, AFTER],
        }
    }
}

/// Which answers a route gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// The assignment's routes: a read answers a bare JSON array.
    Assignment,
    /// The REST resource API under `/v1`: JSON only, pages as `{"records", "next_after"}`.
    V1,
}

/// Where a route takes its fields from, besides the parameters in its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Only the path's parameters (or no fields at all).
    Path,
    /// The query string.
    Query,
    /// A body (JSON, URL-encoded or multipart form, or untyped and recognised by its
    /// first character) and the query string; a field in both is taken from the body.
    BodyAndQuery,
    /// A JSON body only: any other content type is refused with 415.
    JsonBody,
}

impl Source {
    /// The body kinds it reads.
    pub fn body_kinds(self) -> &'static [BodyKind] {
        match self {
            Source::Path | Source::Query => &[],
            Source::BodyAndQuery => &BodyKind::ALL,
            Source::JsonBody => &[BodyKind::Json],
        }
    }

    pub fn reads_query(self) -> bool {
        matches!(self, Source::Query | Source::BodyAndQuery)
    }
}

/// One accepted request shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub method: Method,
    /// Segments separated by `/`; `<field>` is a path parameter that fills the field
    /// of that name (matched like any field name).
    pub path: &'static str,
    pub action: Action,
    pub family: Family,
    pub source: Source,
}

impl Shape {
    /// Whether the bearer token is required (when the server has one set). Derived from
    /// the action, never set per row, so a new row that changes data is protected.
    pub fn needs_token(&self) -> bool {
        self.action.changes_data()
    }

    /// A `GET` that changes data is refused when a browser sends it speculatively
    /// (`Purpose: prefetch`, `Sec-Purpose: prefetch`, `X-Moz: prefetch`,
    /// `X-Purpose: preview`): a prefetched or prerendered link must not insert or
    /// delete anything. A person following the same link gets it done.
    pub fn refuses_prefetch(&self) -> bool {
        self.method == Method::Get && self.action.changes_data()
    }

    /// The names of the path parameters, in order.
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('<').and_then(|s| s.strip_suffix('>')))
    }
}

const fn row(
    method: Method,
    path: &'static str,
    action: Action,
    family: Family,
    source: Source,
) -> Shape {
    Shape {
        method,
        path,
        action,
        family,
        source,
    }
}

use Action::*;
use Family::*;
use Method::*;
use Source::*;

/// Every request shape the producer accepts.
#[rustfmt::skip]
pub const SHAPES: &[Shape] = &[
    // The health check, under every spelling clients use, with the message or without.
    row(Get,    "/health_check",                          HealthCheck,  Assignment, Query),
    row(Post,   "/health_check",                          HealthCheck,  Assignment, BodyAndQuery),
    row(Get,    "/health_check/<message>",                HealthCheck,  Assignment, Path),
    row(Get,    "/healthcheck",                           HealthCheck,  Assignment, Query),
    row(Post,   "/healthcheck",                           HealthCheck,  Assignment, BodyAndQuery),
    row(Get,    "/healthcheck/<message>",                 HealthCheck,  Assignment, Path),
    row(Get,    "/healthCheck",                           HealthCheck,  Assignment, Query),
    row(Post,   "/healthCheck",                           HealthCheck,  Assignment, BodyAndQuery),
    row(Get,    "/healthCheck/<message>",                 HealthCheck,  Assignment, Path),
    row(Get,    "/health-check",                          HealthCheck,  Assignment, Query),
    row(Post,   "/health-check",                          HealthCheck,  Assignment, BodyAndQuery),
    row(Get,    "/health-check/<message>",                HealthCheck,  Assignment, Path),
    // Insert: a body or query fields; the three fields as path segments; an HTML form
    // with method GET.
    row(Post,   "/insert_record",                         InsertRecord, Assignment, BodyAndQuery),
    row(Get,    "/insert_record",                         InsertRecord, Assignment, Query),
    row(Post,   "/insert_record/<srn>/<name>/<section>",  InsertRecord, Assignment, Path),
    row(Get,    "/insert_record/<srn>/<name>/<section>",  InsertRecord, Assignment, Path),
    // Delete by SRN in the query, a body or the path, with GET, DELETE or POST.
    row(Get,    "/delete_record",                         DeleteRecord, Assignment, Query),
    row(Delete, "/delete_record",                         DeleteRecord, Assignment, BodyAndQuery),
    row(Post,   "/delete_record",                         DeleteRecord, Assignment, BodyAndQuery),
    row(Get,    "/delete_record/<srn>",                   DeleteRecord, Assignment, Path),
    row(Delete, "/delete_record/<srn>",                   DeleteRecord, Assignment, Path),
    // Read everything, or a page.
    row(Get,    "/read_database",                         ReadDatabase, Assignment, Query),
    // The REST resource API.
    row(Get,    "/v1/records",                            ReadDatabase, V1,         Query),
    row(Post,   "/v1/records",                            InsertRecord, V1,         JsonBody),
    row(Get,    "/v1/records/<srn>",                      ReadRecord,   V1,         Path),
    row(Delete, "/v1/records/<srn>",                      DeleteRecord, V1,         Path),
    row(Get,    "/v1/health",                             HealthCheck,  V1,         Path),
];

/// A field and every spelling of it that is accepted. Any spelling also matches
/// ignoring case, `_`, `-` and spaces (`s-r-n`, `NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldName {
    /// The canonical name, as errors name the field.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Whether a JSON number is accepted and kept as written (`"Section": 5`).
    pub numbers: bool,
}

impl FieldName {
    /// A field spelled `name` (in any case), whose JSON value must be a string.
    const fn new(name: &'static str) -> FieldName {
        FieldName {
            name,
            aliases: &[],
            numbers: false,
        }
    }

    /// The same field, also taking a JSON number (kept as written).
    const fn or_number(self) -> FieldName {
        FieldName {
            numbers: true,
            ..self
        }
    }

    /// The same field, also spelled `aliases`.
    const fn also(self, aliases: &'static [&'static str]) -> FieldName {
        FieldName { aliases, ..self }
    }

    pub fn spellings(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }
}

pub const NAME: FieldName = FieldName::new("Name");
pub const SRN: FieldName = FieldName::new("SRN");
pub const SECTION: FieldName = FieldName::new("Section").or_number();
/// The health check's message. Also: any single parameter (`?anything=hello`), or a
/// bare word (`?hello`).
pub const MESSAGE: FieldName =
    FieldName::new("message")
        .or_number()
        .also(&["msg", "health_check", "check", "text", "ping"]);
pub const LIMIT: FieldName = FieldName::new("limit").or_number();
pub const AFTER: FieldName = FieldName::new("after");

/// Every field, with its spellings.
pub const FIELD_NAMES: [FieldName; 6] = [NAME, SRN, SECTION, MESSAGE, LIMIT, AFTER];

/// The rules every request goes through besides its row, as the README states them.
pub const NORMALISATION: &[&str] = &[
    "a trailing slash is dropped: `/insert_record/` is `/insert_record`",
    "doubled slashes are one: `//health_check` is `/health_check`",
    "field names match ignoring case, `_`, `-` and spaces: `srn`, `S_R_N`, `section`",
    "an SRN may come in quotes: `?srn=\"PES1UG21CS096\"` (or `%22…%22`)",
];

/// The table as Markdown, one row per shape, as the README shows it.
pub fn markdown_table() -> String {
    let mut out = String::from("| method | path | fields from | body types | answers |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for shape in SHAPES {
        let source = match shape.source {
            Source::Path if shape.path_params().next().is_none() => "nothing",
            Source::Path => "path",
            Source::Query => "query",
            Source::BodyAndQuery => "body, query",
            Source::JsonBody => "body",
        };
        let kinds: Vec<&str> = shape
            .source
            .body_kinds()
            .iter()
            .map(|k| match k {
                BodyKind::Json => "JSON",
                BodyKind::Form => "form",
                BodyKind::Multipart => "multipart",
            })
            .collect();
        let family = match shape.family {
            Family::Assignment => "assignment",
            Family::V1 => "v1",
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} {} |\n",
            shape.method.as_str(),
            shape.path,
            source,
            if kinds.is_empty() {
                "-".into()
            } else {
                kinds.join(", ")
            },
            family,
            shape.action.operation().routing_key(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::fold;
    use std::collections::HashSet;

    #[test]
    fn no_two_rows_share_a_method_and_path() {
        let mut seen = HashSet::new();
        for shape in SHAPES {
            assert!(seen.insert((shape.method, shape.path)), "{shape:?}");
        }
    }

    #[test]
    fn every_path_parameter_names_a_field_of_its_action() {
        for shape in SHAPES {
            let fields: Vec<String> = shape.action.fields().iter().map(|f| fold(f.name)).collect();
            for param in shape.path_params() {
                assert!(fields.contains(&fold(param)), "{param} in {shape:?}");
            }
        }
    }

    #[test]
    fn every_operation_and_every_data_changing_get_is_covered() {
        for op in Operation::ALL {
            assert!(SHAPES.iter().any(|s| s.action.operation() == op), "{op}");
        }
        let guarded: Vec<_> = SHAPES.iter().filter(|s| s.refuses_prefetch()).collect();
        assert!(guarded.iter().all(|s| s.needs_token()));
        assert!(guarded.iter().any(|s| s.path == "/insert_record"));
    }

    #[test]
    fn no_spelling_belongs_to_two_fields() {
        let mut seen = HashSet::new();
        for field in FIELD_NAMES {
            for spelling in field.spellings() {
                assert!(seen.insert(fold(spelling)), "{spelling}");
            }
        }
    }
}
