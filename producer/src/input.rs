//! The many shapes one request arrives in, read into one [`Fields`] map.
//!
//! Clients of this assignment send the same request as JSON, as a URL-encoded or
//! multipart form, or as query parameters; with `Name`, `name` or `NAME`. Field names
//! are matched ignoring case, `_`, `-` and spaces. Unknown fields are refused, so a typo
//! (`Sectoin`) is reported instead of silently read as "Section is missing".

use crate::error::ApiError;
use percent_encoding::percent_decode;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::ContentType;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

/// The largest request body read, as managed state (from `MAX_BODY_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub u64);

/// How long a request body may take to arrive, as managed state (from
/// `HTTP_BODY_TIMEOUT_MS`): a client trickling its body cannot hold a request open.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

/// A field's value before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// A JSON number, kept as written (`"Section": 5`).
    Number(String),
    /// Any other JSON type; named in the error.
    Other(&'static str),
}

/// Fields from a body or query string, in arrival order.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    entries: Vec<(String, Value)>,
}

/// Folds a field name for matching: `Student-Name`, `student_name` -> `studentname`.
fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Fields {
    /// Reads a query string (`a=1&b=2`). A bare key (`?ping`) has an empty value.
    pub fn from_query(query: Option<&str>) -> Result<Fields, ApiError> {
        parse_urlencoded(query.unwrap_or("").as_bytes(), "query string")
    }

    /// Reads a body by its content type; without one, by its first character.
    ///
    /// Fails with 400 (unreadable), 415 (a type we do not read) or 422 (not an object).
    pub async fn from_body(
        content_type: Option<&ContentType>,
        body: &[u8],
    ) -> Result<Fields, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Fields::default());
        }
        // text/plain and */* are what curl and some tools send when nobody chose a type.
        let declared = content_type.filter(|ct| !(ct.is_plain() || ct.is_any()));
        let Some(ct) = declared else {
            return sniff(body);
        };
        if ct.is_json() || ct.sub().as_str().ends_with("+json") {
            parse_json(body)
        } else if ct.is_form() {
            parse_urlencoded(body, "form body")
        } else if ct.is_form_data() {
            parse_multipart(ct, body).await
        } else {
            Err(ApiError::UnsupportedMediaType(format!(
                "content type {ct} is not supported; send application/json, \
                 application/x-www-form-urlencoded or multipart/form-data"
            )))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `other`'s fields that this map does not have (body first, then query).
    pub fn fill_from(&mut self, other: Fields) {
        for (key, value) in other.entries {
            if !self.entries.iter().any(|(k, _)| fold(k) == fold(&key)) {
                self.entries.push((key, value));
            }
        }
    }

    /// Removes and returns the field named `name` (or one of `aliases`).
    ///
    /// Fails if it was given more than once.
    pub fn take(&mut self, name: &str, aliases: &[&str]) -> Result<Option<Value>, ApiError> {
        let wanted: Vec<String> = std::iter::once(name)
            .chain(aliases.iter().copied())
            .map(fold)
            .collect();
        let (matching, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|(k, _)| wanted.contains(&fold(k)));
        self.entries = rest;
        let mut matching = matching.into_iter();
        let first = matching.next();
        if matching.next().is_some() {
            return Err(ApiError::InvalidField {
                field: name.into(),
                detail: format!("{name} is given more than once"),
            });
        }
        Ok(first.map(|(_, v)| v))
    }

    /// Removes the field `name` and returns it as text; numbers are accepted where
    /// `numbers_ok`. Fails on another type.
    pub fn take_text(
        &mut self,
        name: &str,
        aliases: &[&str],
        numbers_ok: bool,
    ) -> Result<Option<String>, ApiError> {
        match self.take(name, aliases)? {
            None => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(Value::Number(n)) if numbers_ok => Ok(Some(n)),
            Some(Value::Number(_)) => Err(type_error(name, "a number")),
            Some(Value::Other(kind)) => Err(type_error(name, kind)),
        }
    }

    /// Like [`Fields::take_text`], but the field must be present.
    pub fn require_text(
        &mut self,
        name: &str,
        aliases: &[&str],
        numbers_ok: bool,
    ) -> Result<String, ApiError> {
        self.take_text(name, aliases, numbers_ok)?
            .ok_or_else(|| ApiError::InvalidField {
                field: name.into(),
                detail: format!("{name} is required"),
            })
    }

    /// Fails if any field is left that the route does not know.
    pub fn reject_unknown(&self, expected: &str) -> Result<(), ApiError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self.entries.iter().map(|(k, _)| format!("{k:?}")).collect();
        Err(ApiError::InvalidField {
            field: self.entries[0].0.clone(),
            detail: format!("unknown field {}; expected {expected}", names.join(", ")),
        })
    }

    /// The single remaining entry, if there is exactly one: `?hello` or `?x=hello`.
    pub fn only_one(mut self) -> Option<(String, Value)> {
        if self.entries.len() == 1 {
            self.entries.pop()
        } else {
            None
        }
    }
}

fn sniff(body: &[u8]) -> Result<Fields, ApiError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => parse_json(body),
        _ if body.contains(&b'=') => parse_urlencoded(body, "body"),
        _ => Err(ApiError::BadRequest(
            "body is neither JSON nor a form; send JSON with Content-Type: application/json".into(),
        )),
    }
}

fn type_error(name: &str, found: &str) -> ApiError {
    ApiError::InvalidField {
        field: name.into(),
        detail: format!("{name} must be a string, not {found}"),
    }
}

fn parse_json(body: &[u8]) -> Result<Fields, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::BadRequest(
            "JSON body must be an object, like {\"Name\": ..., \"SRN\": ..., \"Section\": ...}"
                .into(),
        ));
    };
    let entries = map
        .into_iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => Value::Text(s),
                serde_json::Value::Number(n) => Value::Number(n.to_string()),
                serde_json::Value::Null => Value::Other("null"),
                serde_json::Value::Bool(_) => Value::Other("a boolean"),
                serde_json::Value::Array(_) => Value::Other("an array"),
                serde_json::Value::Object(_) => Value::Other("an object"),
            };
            (k, value)
        })
        .collect();
    Ok(Fields { entries })
}

fn decode_component(raw: &[u8], what: &str) -> Result<String, ApiError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            ApiError::BadRequest(format!("{what} is not valid UTF-8 after percent-decoding"))
        })
}

fn parse_urlencoded(raw: &[u8], what: &str) -> Result<Fields, ApiError> {
    let mut entries = Vec::new();
    for pair in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        entries.push((
            decode_component(key, what)?,
            Value::Text(decode_component(value, what)?),
        ));
    }
    Ok(Fields { entries })
}

async fn parse_multipart(ct: &ContentType, body: &[u8]) -> Result<Fields, ApiError> {
    let boundary = multer::parse_boundary(ct.to_string())
        .map_err(|e| ApiError::BadRequest(format!("multipart body: {e}")))?;
    let mut multipart = multer::Multipart::with_reader(body, boundary);
    let mut entries = Vec::new();
    let bad = |e: multer::Error| ApiError::BadRequest(format!("multipart body: {e}"));
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(bad)?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            ApiError::BadRequest(format!("multipart field {name:?} is not valid UTF-8"))
        })?;
        entries.push((name, Value::Text(text)));
    }
    Ok(Fields { entries })
}

/// The request body read into [`Fields`], or why it could not be.
/// The error is carried, not raised, so it is rendered by [`ApiError`] like all others.
pub struct Body {
    pub fields: Result<Fields, ApiError>,
    /// Whether the client declared JSON (the v1 API takes nothing else).
    pub is_json: bool,
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Body {
    type Error = std::convert::Infallible;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let limit = req.rocket().state::<BodyLimit>().map_or(64 * 1024, |l| l.0);
        let deadline = req
            .rocket()
            .state::<BodyTimeout>()
            .map_or(std::time::Duration::from_secs(10), |t| t.0);
        let read = match read_capped(data, limit, deadline).await {
            Ok(bytes) => Fields::from_body(req.content_type(), &bytes).await,
            Err(e) => Err(e),
        };
        let is_json = req
            .content_type()
            .is_some_and(|ct| ct.is_json() || ct.sub().as_str().ends_with("+json"));
        Outcome::Success(Body {
            fields: read,
            is_json,
        })
    }
}

/// Most of an oversized body read (and dropped) before answering 413. Answering while
/// the client is still sending makes the connection close under it, and many clients
/// then report a reset instead of the 413; past this much, closing is the lesser evil.
const DRAIN_MAX: u64 = 8 * 1024 * 1024;

/// Reads at most `limit` bytes of body within `deadline`; a longer body is
/// `PayloadTooLarge`, after reading the rest (up to [`DRAIN_MAX`], within what is left of
/// the deadline) so that the client gets to read the answer. A body not complete within
/// the deadline is `BodyTimeout` (408); the connection is then closed, since the rest of
/// the body is never read.
async fn read_capped(
    data: Data<'_>,
    limit: u64,
    deadline: std::time::Duration,
) -> Result<Vec<u8>, ApiError> {
    use tokio::io::AsyncReadExt;
    use tokio::time::{timeout, Instant};
    let started = Instant::now();
    let unreadable =
        |e: std::io::Error| ApiError::BadRequest(format!("request body could not be read: {e}"));
    let mut stream = data.open(DRAIN_MAX.max(limit + 1).bytes());
    let mut body = Vec::new();
    timeout(
        deadline,
        (&mut stream).take(limit + 1).read_to_end(&mut body),
    )
    .await
    .map_err(|_| ApiError::BodyTimeout(deadline))?
    .map_err(unreadable)?;
    if body.len() as u64 > limit {
        let left = deadline.saturating_sub(started.elapsed());
        let _ = timeout(left, tokio::io::copy(&mut stream, &mut tokio::io::sink())).await;
        return Err(ApiError::PayloadTooLarge(limit));
    }
    Ok(body)
}

/// The query string read into [`Fields`], or why it could not be.
pub struct Query(pub Result<Fields, ApiError>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Query {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(Query(Fields::from_query(
            req.uri().query().map(|q| q.as_str()),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn body(ct: Option<ContentType>, raw: &str) -> Result<Fields, ApiError> {
        block(Fields::from_body(ct.as_ref(), raw.as_bytes()))
    }

    #[test]
    fn field_names_match_ignoring_case_and_separators() {
        let mut f = body(
            Some(ContentType::JSON),
            r#"{"NAME":"a","s-r-n":"b","section":"c"}"#,
        )
        .unwrap();
        assert_eq!(f.require_text("Name", &[], false).unwrap(), "a");
        assert_eq!(f.require_text("SRN", &[], false).unwrap(), "b");
        assert_eq!(f.require_text("Section", &[], true).unwrap(), "c");
        assert!(f.reject_unknown("").is_ok());
    }

    #[test]
    fn forms_decode_plus_and_percent_strictly() {
        let mut f = body(Some(ContentType::Form), "Name=Zo%C3%AB+Li&SRN=x").unwrap();
        assert_eq!(f.require_text("Name", &[], false).unwrap(), "Zoë Li");
        assert!(matches!(
            body(Some(ContentType::Form), "Name=%FF"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn untyped_bodies_are_sniffed() {
        let mut f = body(None, r#" {"srn":"a"}"#).unwrap();
        assert_eq!(f.require_text("SRN", &[], false).unwrap(), "a");
        let mut f = body(Some(ContentType::Plain), "srn=a").unwrap();
        assert_eq!(f.require_text("SRN", &[], false).unwrap(), "a");
        assert!(body(None, "hello").is_err());
    }

    #[test]
    fn wrong_json_shapes_and_types_are_named() {
        assert!(matches!(
            body(Some(ContentType::JSON), "[1]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            body(Some(ContentType::JSON), "{"),
            Err(ApiError::BadRequest(_))
        ));
        let mut f = body(Some(ContentType::JSON), r#"{"Name":["a"],"Section":5}"#).unwrap();
        let err = f.take_text("Name", &[], false).unwrap_err();
        assert!(err.to_string().contains("not an array"), "{err}");
        assert_eq!(f.take_text("Section", &[], true).unwrap().unwrap(), "5");
    }

    #[test]
    fn duplicates_and_unknown_fields_are_refused() {
        let mut f = body(Some(ContentType::Form), "name=a&Name=b").unwrap();
        assert!(f.take("Name", &[]).is_err());
        let f = body(Some(ContentType::JSON), r#"{"Sectoin":"A"}"#).unwrap();
        let err = f.reject_unknown("Section").unwrap_err();
        assert!(err.to_string().contains("Sectoin"), "{err}");
    }

    #[test]
    fn other_content_types_get_415() {
        let err = body(Some(ContentType::XML), "<a/>").unwrap_err();
        assert!(matches!(err, ApiError::UnsupportedMediaType(_)));
    }

    #[test]
    fn multipart_forms_are_read() {
        let ct = ContentType::parse_flexible("multipart/form-data; boundary=XyZ").unwrap();
        let raw =
            "--XyZ\r\nContent-Disposition: form-data; name=\"Name\"\r\n\r\nAnn\r\n--XyZ--\r\n";
        let mut f = body(Some(ct), raw).unwrap();
        assert_eq!(f.require_text("Name", &[], false).unwrap(), "Ann");
    }

    #[test]
    fn body_fields_win_over_query_fields() {
        let mut f = body(Some(ContentType::JSON), r#"{"srn":"body"}"#).unwrap();
        f.fill_from(Fields::from_query(Some("SRN=query&Name=q")).unwrap());
        assert_eq!(f.require_text("SRN", &[], false).unwrap(), "body");
        assert_eq!(f.require_text("Name", &[], false).unwrap(), "q");
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn content_types() -> impl Strategy<Value = Option<ContentType>> {
        prop_oneof![
            Just(None),
            Just(Some(ContentType::JSON)),
            Just(Some(ContentType::Form)),
            Just(Some(ContentType::Plain)),
            Just(Some(
                ContentType::parse_flexible("multipart/form-data; boundary=b").unwrap()
            )),
            Just(Some(ContentType::XML)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn reading_any_body_never_panics(
            ct in content_types(),
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            if let Ok(fields) = rt.block_on(Fields::from_body(ct.as_ref(), &body)) {
                let _ = crate::routes::record_from(fields);
            }
        }

        #[test]
        fn reading_any_query_never_panics(query in any::<String>()) {
            if let Ok(mut fields) = Fields::from_query(Some(&query)) {
                let _ = crate::routes::page_from(&mut fields);
                let _ = fields.reject_unknown("nothing");
            }
        }

        #[test]
        fn a_form_round_trips_any_text(name in any::<String>()) {
            let encoded: String = percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC).to_string();
            let mut fields = Fields::from_query(Some(&format!("Name={encoded}"))).unwrap();
            prop_assert_eq!(fields.take_text("Name", &[], false).unwrap(), Some(name));
        }
    }
}
