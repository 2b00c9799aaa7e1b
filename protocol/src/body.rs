//! Reading fields out of the bytes a request carries: a body by its content type (JSON,
//! URL-encoded form, multipart form, or, without a usable type, by its first
//! character), a query string, and path segments. Pure functions over bytes, so they
//! can be fuzzed and tested without a server.

use crate::error::InputError;
use crate::fields::{Fields, Value};
use percent_encoding::percent_decode;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The body kinds a route that reads a body accepts, as [`read_body`] tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
}

impl BodyKind {
    pub const ALL: [BodyKind; 3] = [BodyKind::Json, BodyKind::Form, BodyKind::Multipart];

    /// The content type a client declares for it.
    pub fn content_type(self) -> &'static str {
        match self {
            BodyKind::Json => "application/json",
            BodyKind::Form => "application/x-www-form-urlencoded",
            BodyKind::Multipart => "multipart/form-data",
        }
    }
}

/// What a `Content-Type` header says, as far as reading a body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared<'a> {
    /// No type, or one that says nothing (`text/plain`, `*/*`, unparseable): the body
    /// is read by its first character.
    Nothing,
    Kind(BodyKind),
    Other(&'a str),
}

/// Classifies a `Content-Type` header value.
pub fn declared(content_type: Option<&str>) -> Declared<'_> {
    let Some(value) = content_type else {
        return Declared::Nothing;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return Declared::Nothing;
    };
    let (kind, sub) = (kind.to_ascii_lowercase(), sub.to_ascii_lowercase());
    match (kind.as_str(), sub.as_str()) {
        // What curl and some tools send when nobody chose a type.
        ("text", "plain") | ("*", "*") => Declared::Nothing,
        ("application", "json") => Declared::Kind(BodyKind::Json),
        ("application", s) if s.ends_with("+json") => Declared::Kind(BodyKind::Json),
        ("application", "x-www-form-urlencoded") => Declared::Kind(BodyKind::Form),
        ("multipart", "form-data") => Declared::Kind(BodyKind::Multipart),
        _ => Declared::Other(essence),
    }
}

/// Reads a body by its content type; without a usable one, by its first character.
/// An empty (or all white space) body has no fields.
///
/// Fails with `Unreadable` (not JSON / a form / UTF-8), `UnsupportedMediaType` (a type
/// we do not read) or `InvalidField`.
pub fn read_body(content_type: Option<&str>, body: &[u8]) -> Result<Fields, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    match declared(content_type) {
        Declared::Nothing => sniff(body),
        Declared::Kind(BodyKind::Json) => parse_json(body),
        Declared::Kind(BodyKind::Form) => parse_urlencoded(body, "form body"),
        Declared::Kind(BodyKind::Multipart) => {
            parse_multipart(content_type.unwrap_or_default(), body)
        }
        Declared::Other(ct) => Err(InputError::UnsupportedMediaType(format!(
            "content type {ct} is not supported; send application/json, \
             application/x-www-form-urlencoded or multipart/form-data"
        ))),
    }
}

/// Reads a query string (`a=1&b=2`). A bare key (`?ping`) has an empty value.
pub fn read_query(query: Option<&str>) -> Result<Fields, InputError> {
    parse_urlencoded(query.unwrap_or("").as_bytes(), "query string")
}

/// Reads path parameters: each a field name and its raw (still percent-encoded) segment.
pub fn read_path(params: &[(&str, &str)]) -> Result<Fields, InputError> {
    let entries = params
        .iter()
        .map(|(name, raw)| {
            let value = percent_decode(raw.as_bytes()).decode_utf8().map_err(|_| {
                InputError::Unreadable(format!(
                    "path segment {name} is not valid UTF-8 after percent-decoding"
                ))
            })?;
            Ok((name.to_string(), Value::Text(value.into_owned())))
        })
        .collect::<Result<_, InputError>>()?;
    Ok(Fields::new(entries))
}

fn sniff(body: &[u8]) -> Result<Fields, InputError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => parse_json(body),
        _ if body.contains(&b'=') => parse_urlencoded(body, "body"),
        _ => Err(InputError::Unreadable(
            "body is neither JSON nor a form; send JSON with Content-Type: application/json".into(),
        )),
    }
}

fn parse_json(body: &[u8]) -> Result<Fields, InputError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| InputError::Unreadable(format!("body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(InputError::Unreadable(
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
    Ok(Fields::new(entries))
}

fn decode_component(raw: &[u8], what: &str) -> Result<String, InputError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            InputError::Unreadable(format!("{what} is not valid UTF-8 after percent-decoding"))
        })
}

fn parse_urlencoded(raw: &[u8], what: &str) -> Result<Fields, InputError> {
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
    Ok(Fields::new(entries))
}

fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Fields, InputError> {
    let bad = |e: multer::Error| InputError::Unreadable(format!("multipart body: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let chunk = bytes::Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(chunk) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let fields = async move {
        let mut entries = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(bad)?;
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                InputError::Unreadable(format!("multipart field {name:?} is not valid UTF-8"))
            })?;
            entries.push((name, Value::Text(text)));
        }
        Ok(Fields::new(entries))
    };
    // The whole body is one ready chunk, so the parser never waits: one poll finishes it.
    let result = match pin!(fields).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(InputError::Unreadable(
            "multipart body could not be read in one pass".into(),
        )),
    };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::{NAME, SECTION, SRN};

    #[test]
    fn content_types_are_classified() {
        assert_eq!(declared(None), Declared::Nothing);
        assert_eq!(
            declared(Some("text/plain; charset=utf-8")),
            Declared::Nothing
        );
        assert_eq!(declared(Some("garbage")), Declared::Nothing);
        assert_eq!(
            declared(Some("Application/JSON")),
            Declared::Kind(BodyKind::Json)
        );
        assert_eq!(
            declared(Some("application/merge-patch+json")),
            Declared::Kind(BodyKind::Json)
        );
        assert_eq!(
            declared(Some("multipart/form-data; boundary=x")),
            Declared::Kind(BodyKind::Multipart)
        );
        assert_eq!(declared(Some("text/xml")), Declared::Other("text/xml"));
    }

    #[test]
    fn forms_decode_plus_and_percent_strictly() {
        let mut f = read_body(
            Some(BodyKind::Form.content_type()),
            b"Name=Zo%C3%AB+Li&SRN=x",
        )
        .unwrap();
        assert_eq!(f.require_text(&NAME).unwrap(), "Zoë Li");
        assert!(matches!(
            read_body(Some(BodyKind::Form.content_type()), b"Name=%FF"),
            Err(InputError::Unreadable(_))
        ));
    }

    #[test]
    fn untyped_bodies_are_sniffed() {
        let mut f = read_body(None, br#" {"srn":"a"}"#).unwrap();
        assert_eq!(f.require_text(&SRN).unwrap(), "a");
        let mut f = read_body(Some("text/plain"), b"srn=a").unwrap();
        assert_eq!(f.require_text(&SRN).unwrap(), "a");
        assert!(read_body(None, b"hello").is_err());
        assert!(read_body(Some("application/json"), b"  \n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn wrong_json_shapes_are_unreadable() {
        for bad in [&b"[1]"[..], b"{", b"\"x\""] {
            assert!(matches!(
                read_body(Some("application/json"), bad),
                Err(InputError::Unreadable(_))
            ));
        }
        let mut f = read_body(Some("application/json"), br#"{"Section":5}"#).unwrap();
        assert_eq!(f.take_text(&SECTION).unwrap().unwrap(), "5");
    }

    #[test]
    fn other_content_types_are_unsupported() {
        let err = read_body(Some("text/xml"), b"<a/>").unwrap_err();
        assert!(matches!(err, InputError::UnsupportedMediaType(_)));
    }

    #[test]
    fn multipart_forms_are_read() {
        let raw =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"Name\"\r\n\r\nAnn\r\n--XyZ--\r\n";
        let mut f = read_body(Some("multipart/form-data; boundary=XyZ"), raw).unwrap();
        assert_eq!(f.require_text(&NAME).unwrap(), "Ann");
        assert!(
            read_body(Some("multipart/form-data"), raw).is_err(),
            "no boundary"
        );
        assert!(read_body(
            Some("multipart/form-data; boundary=XyZ"),
            b"--XyZ\r\nbroken"
        )
        .is_err());
    }

    #[test]
    fn path_segments_are_percent_decoded_strictly() {
        let mut f = read_path(&[("name", "Zo%C3%AB%20Li"), ("srn", "%22pes1%22")]).unwrap();
        assert_eq!(f.require_text(&NAME).unwrap(), "Zoë Li");
        assert_eq!(f.require_text(&SRN).unwrap(), "\"pes1\"");
        assert!(read_path(&[("name", "%FF")]).is_err());
    }
}
