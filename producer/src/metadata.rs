//! What a request carries about itself rather than in its fields, read from its HTTP
//! headers and sent on as AMQP headers (named in `protocol::message::headers`): when
//! the caller stops waiting, the caller's trace context, and the client's idempotency
//! key. The consumers read them; the message body stays the same.

use crate::error::ApiError;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use protocol::message::headers;
use rocket::http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The HTTP header a client names a retry with.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Longest idempotency key accepted, in bytes (UUIDs and hashes fit many times over).
pub const IDEMPOTENCY_KEY_MAX_BYTES: usize = 255;

/// A request's metadata, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// A well-formed W3C `traceparent`; a malformed one is dropped, as the W3C
    /// specification says a receiver must.
    pub traceparent: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Metadata {
    /// Reads `traceparent` and `Idempotency-Key`.
    ///
    /// Fails with `InvalidField` naming `Idempotency-Key` when it is given twice,
    /// empty, longer than [`IDEMPOTENCY_KEY_MAX_BYTES`], or not printable ASCII.
    pub fn from_headers(headers: &HeaderMap<'_>) -> Result<Metadata, ApiError> {
        let traceparent = headers
            .get_one("traceparent")
            .map(str::trim)
            .filter(|t| is_traceparent(t))
            .map(str::to_owned);
        let mut keys = headers.get(IDEMPOTENCY_KEY_HEADER);
        let idempotency_key = match (keys.next(), keys.next()) {
            (None, _) => None,
            (Some(_), Some(_)) => return Err(invalid_key("is given more than once")),
            (Some(key), None) => Some(idempotency_key(key)?),
        };
        Ok(Metadata {
            traceparent,
            idempotency_key,
        })
    }

    /// The AMQP headers of a request that the caller waits for until `deadline`.
    pub fn amqp_headers(&self, deadline: SystemTime) -> FieldTable {
        let millis = deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis();
        let mut table = FieldTable::default();
        table.insert(
            ShortString::from(headers::DEADLINE),
            AMQPValue::LongLongInt(i64::try_from(millis).unwrap_or(i64::MAX)),
        );
        let text = |s: &str| AMQPValue::LongString(LongString::from(s));
        if let Some(traceparent) = &self.traceparent {
            table.insert(ShortString::from(headers::TRACEPARENT), text(traceparent));
        }
        if let Some(key) = &self.idempotency_key {
            table.insert(ShortString::from(headers::IDEMPOTENCY_KEY), text(key));
        }
        table
    }
}

fn invalid_key(detail: &str) -> ApiError {
    ApiError::InvalidField {
        field: IDEMPOTENCY_KEY_HEADER.into(),
        detail: format!("the {IDEMPOTENCY_KEY_HEADER} header {detail}"),
    }
}

fn idempotency_key(raw: &str) -> Result<String, ApiError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(invalid_key("is empty"));
    }
    if key.len() > IDEMPOTENCY_KEY_MAX_BYTES {
        return Err(invalid_key(&format!(
            "is longer than {IDEMPOTENCY_KEY_MAX_BYTES} characters"
        )));
    }
    if !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(invalid_key("must be printable ASCII"));
    }
    Ok(key.to_owned())
}

/// `version-traceid-parentid-flags` in lower-case hex (W3C Trace Context), with a
/// trace id and parent id that are not all zeros. Versions after `00` may append
/// fields; version `ff` is invalid.
fn is_traceparent(value: &str) -> bool {
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    let mut parts = value.splitn(5, '-');
    let (Some(version), Some(trace), Some(parent), Some(flags)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let more = parts.next().is_some();
    hex(version, 2)
        && version != "ff"
        && !(version == "00" && more)
        && hex(trace, 32)
        && nonzero(trace)
        && hex(parent, 16)
        && nonzero(parent)
        && hex(flags, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::http::Header;

    const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap<'static> {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.add(Header::new(*name, *value));
        }
        map
    }

    fn text(table: &FieldTable, name: &str) -> Option<String> {
        match table.inner().get(name)? {
            AMQPValue::LongString(s) => Some(String::from_utf8(s.as_bytes().to_vec()).unwrap()),
            other => panic!("{name} is {other:?}"),
        }
    }

    #[test]
    fn the_deadline_is_a_long_integer_of_milliseconds_since_the_epoch() {
        let deadline = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let table = Metadata::default().amqp_headers(deadline);
        assert_eq!(
            table.inner().get(headers::DEADLINE),
            Some(&AMQPValue::LongLongInt(1_700_000_000_123))
        );
        assert_eq!(table.inner().len(), 1, "nothing else without metadata");
    }

    #[test]
    fn trace_context_and_idempotency_key_pass_through() {
        let meta = Metadata::from_headers(&headers(&[
            ("traceparent", TRACE),
            ("Idempotency-Key", " order-42 "),
        ]))
        .unwrap();
        let table = meta.amqp_headers(SystemTime::now());
        assert_eq!(text(&table, headers::TRACEPARENT).as_deref(), Some(TRACE));
        assert_eq!(
            text(&table, headers::IDEMPOTENCY_KEY).as_deref(),
            Some("order-42")
        );
    }

    #[test]
    fn malformed_trace_contexts_are_dropped() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(!is_traceparent(bad), "{bad}");
        }
        assert!(is_traceparent(TRACE));
        assert!(is_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        ));
        let meta = Metadata::from_headers(&headers(&[("traceparent", "garbage")])).unwrap();
        assert_eq!(meta, Metadata::default());
    }

    #[test]
    fn bad_idempotency_keys_are_refused_naming_the_header() {
        let long: &'static str = Box::leak("k".repeat(IDEMPOTENCY_KEY_MAX_BYTES + 1).into());
        for bad in [
            vec![("Idempotency-Key", "")],
            vec![("Idempotency-Key", long)],
            vec![("Idempotency-Key", "tab\there")],
            vec![("Idempotency-Key", "é")],
            vec![("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
        ] {
            match Metadata::from_headers(&headers(&bad)) {
                Err(ApiError::InvalidField { field, .. }) => {
                    assert_eq!(field, IDEMPOTENCY_KEY_HEADER, "{bad:?}")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let longest = "k".repeat(IDEMPOTENCY_KEY_MAX_BYTES);
        assert!(idempotency_key(&longest).is_ok());
        assert!(idempotency_key("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"").is_ok());
    }
}
