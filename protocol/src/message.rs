//! The messages that travel through RabbitMQ: one request per queue, one reply (or,
//! for an answer too large for one message, several parts: see [`headers`]).
//!
//! Both are JSON with a version number (`"v": 1`), so a consumer can refuse (and
//! dead-letter) a message from a future producer instead of misreading it. What is
//! about the message rather than in it (its deadline, the caller's trace context, the
//! key that makes a retry idempotent) travels in AMQP headers named in [`headers`].

use crate::operation::Operation;
use crate::record::{Srn, StudentRecord};
use serde::{Deserialize, Serialize};

/// The wire version this build writes and reads.
pub const MESSAGE_VERSION: u16 = 1;

/// AMQP header names: the metadata a request carries besides its body, and the marks
/// of a reply sent in parts.
pub mod headers {
    /// When the caller stops waiting, in milliseconds since the Unix epoch. A consumer
    /// may drop a read or health check that arrives later (nobody wants its answer).
    pub const DEADLINE: &str = "x-deadline-ms";
    /// The caller's W3C trace context, passed through from the HTTP request.
    pub const TRACEPARENT: &str = "traceparent";
    /// The client's idempotency key (HTTP `Idempotency-Key`): two requests with the
    /// same key are the same request, so a retried insert is recognised as one.
    pub const IDEMPOTENCY_KEY: &str = "x-idempotency-key";
    /// On a reply sent in parts: its index, from 0.
    pub const REPLY_PART: &str = "x-reply-part";
    /// On a reply sent in parts: `true` on every part but the last.
    pub const REPLY_MORE: &str = "x-reply-more";
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    HealthCheck {
        message: String,
    },
    InsertRecord {
        record: StudentRecord,
    },
    DeleteRecord {
        srn: Srn,
    },
    /// One record by SRN (served by the read consumer, on the `read_database` queue).
    ReadRecord {
        srn: Srn,
    },
    /// All records ordered by SRN; with `limit`, one page that starts after `after`.
    ReadDatabase {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Srn>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
        /// The table version of the whole list the asker already holds. If the table is
        /// still at that version the reply is `Unchanged`, and the asker answers this
        /// read (full or a page) from its list.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known_version: Option<TableVersion>,
    },
}

impl Request {
    /// The queue (and routing key) this request belongs to.
    pub fn operation(&self) -> Operation {
        match self {
            Request::HealthCheck { .. } => Operation::HealthCheck,
            Request::InsertRecord { .. } => Operation::InsertRecord,
            Request::DeleteRecord { .. } => Operation::DeleteRecord,
            Request::ReadRecord { .. } | Request::ReadDatabase { .. } => Operation::ReadDatabase,
        }
    }

    /// The SRN the request is about, for log lines.
    pub fn srn(&self) -> Option<&Srn> {
        match self {
            Request::InsertRecord { record } => Some(&record.srn),
            Request::DeleteRecord { srn } | Request::ReadRecord { srn } => Some(srn),
            _ => None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&Envelope {
            v: MESSAGE_VERSION,
            body: self,
        })
    }

    /// Fails when the bytes are not JSON, not a request, or of another version.
    pub fn decode(bytes: &[u8]) -> Result<Request, DecodeError> {
        decode(bytes)
    }
}

/// The requests that go to one queue, as their own types: what that queue's consumer
/// works on. `TryFrom<Request>` takes one out of a decoded message, or gives the message
/// back when it belongs to another queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckRequest {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertRequest {
    pub record: StudentRecord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    pub srn: Srn,
}

/// The `read_database` queue takes two kinds of read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRequest {
    /// One record by SRN.
    Record { srn: Srn },
    /// All records after `after` (all of them without it), or with `limit` one page;
    /// `unchanged` if the table is still at `known_version`.
    Records {
        after: Option<Srn>,
        limit: Option<u32>,
        known_version: Option<TableVersion>,
    },
}

/// One queue's request type: the operation it goes to, and how it is taken out of a
/// decoded [`Request`].
pub trait QueueRequest: TryFrom<Request, Error = Request> {
    const OPERATION: Operation;
}

impl QueueRequest for ReadRequest {
    const OPERATION: Operation = Operation::ReadDatabase;
}

/// `TryFrom<Request>` and [`QueueRequest`] for the requests that are one variant each.
macro_rules! one_variant {
    ($($type:ident = $variant:ident { $field:ident }),+ $(,)?) => {$(
        impl QueueRequest for $type {
            const OPERATION: Operation = Operation::$variant;
        }

        impl TryFrom<Request> for $type {
            type Error = Request;

            fn try_from(request: Request) -> Result<$type, Request> {
                match request {
                    Request::$variant { $field } => Ok($type { $field }),
                    other => Err(other),
                }
            }
        }
    )+};
}

one_variant!(
    HealthCheckRequest = HealthCheck { message },
    InsertRequest = InsertRecord { record },
    DeleteRequest = DeleteRecord { srn },
);

impl TryFrom<Request> for ReadRequest {
    type Error = Request;

    fn try_from(request: Request) -> Result<ReadRequest, Request> {
        match request {
            Request::ReadRecord { srn } => Ok(ReadRequest::Record { srn }),
            Request::ReadDatabase {
                after,
                limit,
                known_version,
            } => Ok(ReadRequest::Records {
                after,
                limit,
                known_version,
            }),
            other => Err(other),
        }
    }
}

/// What a consumer answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Reply {
    HealthOk {
        message: String,
        consumer: String,
    },
    Inserted {
        record: StudentRecord,
    },
    /// The SRN was taken by another request; `record` is what is stored, untouched.
    AlreadyExists {
        record: StudentRecord,
    },
    Deleted {
        record: StudentRecord,
    },
    NotFound {
        srn: Srn,
    },
    Record {
        record: StudentRecord,
    },
    Records {
        records: Vec<StudentRecord>,
        /// Where the next page starts, when a page was asked for and more follow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_after: Option<Srn>,
        /// For a full read: the table version these records are at least as new as.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<TableVersion>,
    },
    /// A read whose table is still at the `known_version` the request named.
    Unchanged {
        version: TableVersion,
    },
    /// The message itself was at fault (undecodable or invalid); it was dead-lettered.
    Invalid {
        detail: String,
    },
    /// The consumer could not do the work for a reason that retrying will not fix.
    Failed {
        detail: String,
    },
}

impl Reply {
    /// The outcome's name, as in the wire format (`inserted`, `not_found`, ...).
    pub fn outcome(&self) -> &'static str {
        match self {
            Reply::HealthOk { .. } => "health_ok",
            Reply::Inserted { .. } => "inserted",
            Reply::AlreadyExists { .. } => "already_exists",
            Reply::Deleted { .. } => "deleted",
            Reply::NotFound { .. } => "not_found",
            Reply::Record { .. } => "record",
            Reply::Records { .. } => "records",
            Reply::Unchanged { .. } => "unchanged",
            Reply::Invalid { .. } => "invalid",
            Reply::Failed { .. } => "failed",
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&Envelope {
            v: MESSAGE_VERSION,
            body: self,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Reply, DecodeError> {
        decode(bytes)
    }
}

/// Identifies one committed state of the `students` table: every committed change moves
/// `counter` on, and `epoch` is drawn when the table is created, so a dropped and
/// re-created table never repeats an earlier version. Written as `epoch.counter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableVersion {
    pub epoch: String,
    pub counter: u64,
}

impl TableVersion {
    /// Whether this is a later state of the same table than `other`.
    pub fn is_newer_than(&self, other: &TableVersion) -> bool {
        self.epoch != other.epoch || self.counter > other.counter
    }
}

impl std::fmt::Display for TableVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.epoch, self.counter)
    }
}

impl std::str::FromStr for TableVersion {
    type Err = ();

    /// Parses `epoch.counter`, as [`TableVersion`]'s `Display` writes it.
    fn from_str(s: &str) -> Result<TableVersion, ()> {
        let (epoch, counter) = s.rsplit_once('.').ok_or(())?;
        let valid_epoch = !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_alphanumeric());
        match (valid_epoch, counter.parse()) {
            (true, Ok(counter)) => Ok(TableVersion {
                epoch: epoch.to_owned(),
                counter,
            }),
            _ => Err(()),
        }
    }
}

/// A reply to a read as the producer needs it: the records left as the JSON array the
/// consumer wrote, so the producer can send them on without decoding and re-encoding
/// every record. Any other outcome is decoded in full.
#[derive(Debug)]
pub enum ReadReply<'a> {
    Records {
        /// `[{"Name":..,"SRN":..,"Section":..}, ...]`, exactly as the consumer encoded it.
        records: &'a [u8],
        next_after: Option<Srn>,
        version: Option<TableVersion>,
    },
    Other(Reply),
}

impl<'a> ReadReply<'a> {
    /// Fails when the bytes are not a reply of this version.
    pub fn decode(bytes: &'a [u8]) -> Result<ReadReply<'a>, DecodeError> {
        #[derive(Deserialize)]
        struct RawEnvelope<'a> {
            v: u16,
            #[serde(borrow)]
            body: &'a serde_json::value::RawValue,
        }
        #[derive(Deserialize)]
        struct Outcome<'a> {
            #[serde(borrow)]
            outcome: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct RawRecords<'a> {
            #[serde(borrow)]
            records: &'a serde_json::value::RawValue,
            #[serde(default)]
            next_after: Option<Srn>,
            #[serde(default)]
            version: Option<TableVersion>,
        }
        let envelope: RawEnvelope<'a> = serde_json::from_slice(bytes)?;
        if envelope.v != MESSAGE_VERSION {
            return Err(DecodeError::Version(envelope.v));
        }
        let body = envelope.body.get();
        let Outcome { outcome } = serde_json::from_str(body)?;
        if outcome != "records" {
            return Ok(ReadReply::Other(serde_json::from_str(body)?));
        }
        let raw: RawRecords<'a> = serde_json::from_str(body)?;
        // Clients are promised an array: check the shape here. The records themselves
        // were encoded by the consumer from validated rows.
        let _: Vec<serde::de::IgnoredAny> = serde_json::from_str(raw.records.get())?;
        Ok(ReadReply::Records {
            records: raw.records.get().as_bytes(),
            next_after: raw.next_after,
            version: raw.version,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u16,
    body: T,
}

#[derive(Deserialize)]
struct VersionOnly {
    v: u16,
}

/// Why a message body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message version {0} is not supported (this build reads {MESSAGE_VERSION})")]
    Version(u16),
    #[error("message body is not a valid message: {0}")]
    Malformed(#[from] serde_json::Error),
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these types cannot fail: no maps with non-string keys, no custom errors.
    serde_json::to_vec(value).expect("message types always serialise")
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, DecodeError> {
    // Read the version first so a future format gets a clear reason, not a field error.
    let VersionOnly { v } = serde_json::from_slice(bytes)?;
    if v != MESSAGE_VERSION {
        return Err(DecodeError::Version(v));
    }
    let envelope: Envelope<T> = serde_json::from_slice(bytes)?;
    Ok(envelope.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> StudentRecord {
        StudentRecord::new("Zoë 李", "PES1UG21CS096", "A").unwrap()
    }

    fn version() -> TableVersion {
        TableVersion {
            epoch: "3f2a9c".into(),
            counter: 42,
        }
    }

    #[test]
    fn a_read_reply_keeps_the_records_as_the_consumer_wrote_them() {
        let records = vec![record(), StudentRecord::new("Ann", "b2", "C").unwrap()];
        let reply = Reply::Records {
            records: records.clone(),
            next_after: Some(Srn::parse("B2").unwrap()),
            version: Some(version()),
        };
        let bytes = reply.encode();
        match ReadReply::decode(&bytes).unwrap() {
            ReadReply::Records {
                records: raw,
                next_after,
                version: v,
            } => {
                assert_eq!(raw, serde_json::to_vec(&records).unwrap().as_slice());
                assert_eq!(next_after.unwrap().as_str(), "B2");
                assert_eq!(v, Some(version()));
            }
            other => panic!("{other:?}"),
        }
        let unchanged = Reply::Unchanged { version: version() }.encode();
        assert!(matches!(
            ReadReply::decode(&unchanged).unwrap(),
            ReadReply::Other(Reply::Unchanged { .. })
        ));
        for bad in [
            &br#"{"v":2,"body":{"outcome":"records","records":[]}}"#[..],
            br#"{"v":1,"body":{"outcome":"records","records":[1,]}}"#,
            br#"{"v":1,"body":{"outcome":"records","records":{}}}"#,
            br#"{"v":1,"body":{"outcome":"nonsense"}}"#,
        ] {
            assert!(
                ReadReply::decode(bad).is_err(),
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn table_versions_print_and_parse_back() {
        let v = version();
        assert_eq!(v.to_string(), "3f2a9c.42");
        assert_eq!("3f2a9c.42".parse::<TableVersion>(), Ok(v.clone()));
        for bad in ["", "42", ".42", "3f2a9c.", "3f2a9c.x", "3f 2a.1", "a\"b.1"] {
            assert!(bad.parse::<TableVersion>().is_err(), "{bad:?}");
        }
        let later = TableVersion {
            counter: 43,
            ..v.clone()
        };
        assert!(later.is_newer_than(&v) && !v.is_newer_than(&later));
        let recreated = TableVersion {
            epoch: "77".into(),
            counter: 0,
        };
        assert!(recreated.is_newer_than(&v));
    }

    #[test]
    fn every_request_round_trips() {
        let requests = [
            Request::HealthCheck {
                message: "hi".into(),
            },
            Request::InsertRecord { record: record() },
            Request::DeleteRecord {
                srn: Srn::parse("PES1").unwrap(),
            },
            Request::ReadDatabase {
                after: None,
                limit: None,
                known_version: None,
            },
            Request::ReadDatabase {
                after: Some(Srn::parse("B").unwrap()),
                limit: Some(100),
                known_version: None,
            },
            Request::ReadDatabase {
                after: None,
                limit: None,
                known_version: Some(version()),
            },
            Request::ReadRecord {
                srn: Srn::parse("C").unwrap(),
            },
        ];
        for request in requests {
            assert_eq!(Request::decode(&request.encode()).unwrap(), request);
        }
    }

    #[test]
    fn every_reply_round_trips() {
        let replies = [
            Reply::HealthOk {
                message: "hi".into(),
                consumer: "consumer-health".into(),
            },
            Reply::Inserted { record: record() },
            Reply::AlreadyExists { record: record() },
            Reply::Deleted { record: record() },
            Reply::NotFound {
                srn: Srn::parse("X").unwrap(),
            },
            Reply::Record { record: record() },
            Reply::Records {
                records: vec![record()],
                next_after: Some(Srn::parse("X").unwrap()),
                version: None,
            },
            Reply::Records {
                records: vec![record(), record()],
                next_after: None,
                version: Some(version()),
            },
            Reply::Unchanged { version: version() },
            Reply::Invalid {
                detail: "bad".into(),
            },
            Reply::Failed {
                detail: "worse".into(),
            },
        ];
        for reply in replies {
            assert_eq!(Reply::decode(&reply.encode()).unwrap(), reply);
            let wire: serde_json::Value = serde_json::from_slice(&reply.encode()).unwrap();
            assert_eq!(wire["body"]["outcome"], reply.outcome());
        }
    }

    #[test]
    fn each_queue_takes_its_own_requests_and_gives_back_the_others() {
        let delete = Request::DeleteRecord {
            srn: Srn::parse("A1").unwrap(),
        };
        let read = Request::ReadRecord {
            srn: Srn::parse("A1").unwrap(),
        };
        assert!(DeleteRequest::try_from(delete.clone()).is_ok());
        assert_eq!(InsertRequest::try_from(delete.clone()), Err(delete.clone()));
        assert_eq!(ReadRequest::try_from(delete.clone()), Err(delete));
        assert!(matches!(
            ReadRequest::try_from(read),
            Ok(ReadRequest::Record { .. })
        ));
        let health = Request::HealthCheck {
            message: "m".into(),
        };
        assert_eq!(
            HealthCheckRequest::try_from(health),
            Ok(HealthCheckRequest {
                message: "m".into()
            })
        );
    }

    #[test]
    fn wire_format_is_stable() {
        let bytes = Request::DeleteRecord {
            srn: Srn::parse("pes1").unwrap(),
        }
        .encode();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"v":1,"body":{"op":"delete_record","srn":"PES1"}}"#
        );
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let future = br#"{"v":2,"body":{"op":"health_check","message":"x"}}"#;
        assert!(matches!(
            Request::decode(future),
            Err(DecodeError::Version(2))
        ));
        for garbage in [
            &b"\xff\xfe"[..],
            b"",
            b"{}",
            b"null",
            br#"{"v":1}"#,
            br#"{"v":1,"body":{"op":"drop_table"}}"#,
            br#"{"v":1,"body":{"op":"delete_record","srn":"has space"}}"#,
        ] {
            assert!(Request::decode(garbage).is_err(), "{garbage:?}");
        }
    }
}
