//! The requests the checker may send for each action, generated from the producer's
//! own table of request shapes (`protocol::shapes::SHAPES`) and field spellings
//! (`FIELD_NAMES`): one [`Variant`] per row, body encoding and spelling.
//!
//! Order matters, because discovery keeps the first variant a deployment accepts: the
//! assignment's routes before the `/v1` API, then bodies as JSON, form, multipart and
//! finally the fields in the query string; each field's canonical name first, then
//! lower case, then its aliases.

use crate::http::{Body, Req};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use protocol::fields::fold;
use protocol::shapes::{Action, Family, FieldName, Shape, Source, SHAPES};

/// How the fields travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Only in the path (`/delete_record/<srn>`), or no fields at all.
    Path,
    Query,
    Json,
    Form,
    Multipart,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Path => "fields in the path",
            Encoding::Query => "fields in the query",
            Encoding::Json => "JSON body",
            Encoding::Form => "form body",
            Encoding::Multipart => "multipart body",
        }
    }
}

/// A field's value in a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// Any JSON (used for wrong types in JSON bodies; as text elsewhere).
    Json(serde_json::Value),
}

/// One way of asking a deployment for an action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variant {
    pub shape: &'static Shape,
    pub encoding: Encoding,
    /// Which spelling of every field: 0 is the canonical name (see [`spelling`]).
    pub spelling: usize,
}

/// Segments keep `-`, `_`, `.` and `~` as they are; everything else is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The spellings tried for a field: its name, lower case, then its aliases.
pub fn spellings(field: &FieldName) -> Vec<&'static str> {
    let lower: &'static str = match field.name {
        "Name" => "name",
        "SRN" => "srn",
        "Section" => "section",
        _ => field.name,
    };
    let mut all = vec![field.name];
    if lower != field.name {
        all.push(lower);
    }
    all.extend(field.aliases.iter().copied());
    all
}

/// The `i`th spelling of a field, or its last one.
pub fn spelling(field: &FieldName, i: usize) -> &'static str {
    let all = spellings(field);
    all[i.min(all.len() - 1)]
}

impl Variant {
    /// What it looks like: `GET /delete_record?SRN=…`, `POST /insert_record (JSON
    /// body: Name, SRN, Section)`, `DELETE /v1/records/<srn>`, with the names spelled
    /// as this variant spells them.
    pub fn label(&self) -> String {
        let mut label = format!("{} {}", self.shape.method.as_str(), self.shape.path);
        let names: Vec<&str> = sent_fields(self.shape.action)
            .iter()
            .filter(|f| !self.shape.path_params().any(|p| fold(p) == fold(f.name)))
            .map(|f| spelling(f, self.spelling))
            .collect();
        if names.is_empty() {
            return label;
        }
        match self.encoding {
            Encoding::Path => {}
            Encoding::Query => {
                let pairs: Vec<String> = names.iter().map(|n| format!("{n}=…")).collect();
                label.push_str(&format!("?{}", pairs.join("&")));
            }
            body => label.push_str(&format!(" ({}: {})", body.label(), names.join(", "))),
        }
        label
    }

    /// The request carrying `fields` (canonical field, value) in this variant's way.
    /// Fields the shape has no place for are left out.
    pub fn request(&self, fields: &[(&FieldName, Value)]) -> Req {
        let route = format!("{} {}", self.shape.method.as_str(), self.shape.path);
        let mut path = String::new();
        let mut rest: Vec<(String, Value)> = Vec::new();
        for (field, value) in fields {
            rest.push((spelling(field, self.spelling).to_string(), value.clone()));
        }
        for segment in self.shape.path.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                Some(param) => {
                    let at = fields.iter().position(|(f, _)| fold(f.name) == fold(param));
                    let text = at.map(|i| text_of(&fields[i].1)).unwrap_or_default();
                    if let Some(i) = at {
                        rest.retain(|(name, _)| *name != spelling(fields[i].0, self.spelling));
                    }
                    path.push_str(&utf8_percent_encode(&text, SEGMENT).to_string());
                }
                None => path.push_str(segment),
            }
        }
        let mut req = Req::new(self.shape.method, path, route);
        let pairs = || -> Vec<(String, String)> {
            rest.iter().map(|(k, v)| (k.clone(), text_of(v))).collect()
        };
        match self.encoding {
            Encoding::Path => {}
            Encoding::Query => req.query = pairs(),
            Encoding::Form => req.body = Some(Body::Form(pairs())),
            Encoding::Multipart => req.body = Some(Body::Multipart(pairs())),
            Encoding::Json => {
                let object: serde_json::Map<String, serde_json::Value> = rest
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::Text(t) => serde_json::Value::String(t.clone()),
                            Value::Json(j) => j.clone(),
                        };
                        (k.clone(), v)
                    })
                    .collect();
                req.body = Some(Body::Json(serde_json::Value::Object(object).to_string()));
            }
        }
        req
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Text(t) => t.clone(),
        Value::Json(serde_json::Value::String(s)) => s.clone(),
        Value::Json(j) => j.to_string(),
    }
}

/// The fields the checker sends for an action: a read is always of everything.
pub fn sent_fields(action: Action) -> &'static [FieldName] {
    match action {
        Action::ReadDatabase => &[],
        other => other.fields(),
    }
}

/// The encodings a row's source allows, in the order they are tried.
fn encodings(source: Source) -> &'static [Encoding] {
    match source {
        Source::Path => &[Encoding::Path],
        Source::Query => &[Encoding::Query],
        Source::BodyAndQuery => &[
            Encoding::Json,
            Encoding::Form,
            Encoding::Multipart,
            Encoding::Query,
        ],
        Source::JsonBody => &[Encoding::Json],
    }
}

/// Every variant of an action with canonical spellings: the assignment's rows first.
pub fn all(action: Action) -> Vec<Variant> {
    let mut rows: Vec<&'static Shape> = SHAPES.iter().filter(|s| s.action == action).collect();
    rows.sort_by_key(|s| s.family != Family::Assignment);
    rows.into_iter()
        .flat_map(|shape| {
            encodings(shape.source)
                .iter()
                .map(move |&encoding| Variant {
                    shape,
                    encoding,
                    spelling: 0,
                })
        })
        .collect()
}

/// The variants discovery tries, in order: [`all`] with canonical names, then again
/// with each other spelling where the fields have names on the wire (not in the path).
pub fn discovery(action: Action) -> Vec<Variant> {
    let base = all(action);
    let most = action
        .fields()
        .iter()
        .map(|f| spellings(f).len())
        .max()
        .unwrap_or(1);
    let mut out = base.clone();
    for i in 1..most {
        out.extend(
            base.iter()
                .filter(|v| v.encoding != Encoding::Path)
                .map(|v| Variant { spelling: i, ..*v }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::shapes::{Method, NAME, SECTION, SRN};

    fn record() -> Vec<(&'static FieldName, Value)> {
        vec![
            (&NAME, Value::Text("Ann Lee".into())),
            (&SRN, Value::Text("CHK-1".into())),
            (&SECTION, Value::Text("A".into())),
        ]
    }

    #[test]
    fn the_assignments_json_insert_comes_first() {
        let v = all(Action::InsertRecord);
        assert_eq!(v[0].shape.path, "/insert_record");
        assert_eq!(v[0].shape.method, Method::Post);
        assert_eq!(v[0].encoding, Encoding::Json);
        assert_eq!(v[1].encoding, Encoding::Form);
        assert_eq!(v.last().unwrap().shape.path, "/v1/records");
        let req = v[0].request(&record());
        assert_eq!(
            req.body,
            Some(Body::Json(
                r#"{"Name":"Ann Lee","SRN":"CHK-1","Section":"A"}"#.into()
            ))
        );
        assert_eq!(req.route, "POST /insert_record");
    }

    #[test]
    fn every_row_of_the_table_is_covered() {
        for shape in SHAPES {
            assert!(
                all(shape.action).iter().any(|v| v.shape == shape),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn path_parameters_are_filled_and_encoded() {
        let v = all(Action::InsertRecord)
            .into_iter()
            .find(|v| v.shape.path.contains("<srn>") && v.shape.method == Method::Post)
            .unwrap();
        let req = v.request(&record());
        assert_eq!(req.path, "/insert_record/CHK-1/Ann%20Lee/A");
        assert!(req.body.is_none() && req.query.is_empty());
        assert_eq!(req.route, "POST /insert_record/<srn>/<name>/<section>");
    }

    #[test]
    fn other_spellings_follow_the_canonical_ones() {
        let d = discovery(Action::DeleteRecord);
        let first_lower = d.iter().position(|v| v.spelling == 1).unwrap();
        assert!(d[..first_lower].iter().all(|v| v.spelling == 0));
        let req = d[first_lower].request(&[(&SRN, Value::Text("X".into()))]);
        assert_eq!(req.query, vec![("srn".to_string(), "X".to_string())]);
        assert_eq!(d[first_lower].label(), "GET /delete_record?srn=…");
        let health = discovery(Action::HealthCheck);
        assert!(health
            .iter()
            .any(|v| v.label() == "GET /health_check?msg=…"));
        let insert = all(Action::InsertRecord);
        assert_eq!(
            insert[0].label(),
            "POST /insert_record (JSON body: Name, SRN, Section)"
        );
        assert_eq!(
            insert[4].label(),
            "GET /insert_record?Name=…&SRN=…&Section=…"
        );
        assert_eq!(all(Action::ReadDatabase)[0].label(), "GET /read_database");
    }
}
