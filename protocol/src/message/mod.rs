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

mod queue;
mod read;

pub use queue::{DeleteRequest, HealthCheckRequest, InsertRequest, QueueRequest, ReadRequest};
pub use read::{ReadReply, TableVersion};

/// The wire version this build writes and reads.
pub const MESSAGE_VERSION: u16 = 1;

/// AMQP header names: the metadata a request carries besides its body, the marks of a
/// reply sent in parts, and what a consumer notes on a message it dead-letters.
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
    /// On a message a consumer dead-lettered: why it could not be processed.
    pub const DEAD_LETTER_REASON: &str = "x-dead-letter-reason";
    /// On a message a consumer dead-lettered: the queue it came from.
    pub const DEAD_LETTER_ORIGIN: &str = "x-original-queue";
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

    /// A record with non-ASCII text (the read module's tests use it too).
    pub(super) fn record() -> StudentRecord {
        StudentRecord::new("Zoë 李", "PES1UG21CS096", "A").unwrap()
    }

    pub(super) fn version() -> TableVersion {
        TableVersion {
            epoch: "3f2a9c".into(),
            counter: 42,
        }
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
