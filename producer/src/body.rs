//! Response bodies, typed so that the OpenAPI document is generated from exactly what
//! the handlers send.

use protocol::{Srn, StudentRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// Every error: a stable code, a sentence for people, and context where it applies.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable: `invalid_field`, `conflict`, `not_found`, `reply_timeout`, ...
    #[schema(example = "invalid_field")]
    pub error: String,
    /// What is wrong, in words.
    #[schema(example = "SRN is required")]
    pub detail: String,
    /// The request field at fault (422).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The stored record (409).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<StudentRecord>,
    /// The message id, also in the consumers' logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A health check's round trip through the `health_check` queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    #[schema(example = "ok")]
    pub status: String,
    /// The message, echoed by the consumer.
    pub message: String,
    #[schema(example = "consumer-health")]
    pub consumer: String,
    /// Publish, broker confirm, consume and reply, in milliseconds.
    pub round_trip_ms: f64,
    pub request_id: String,
}

/// An inserted or deleted record.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordBody {
    /// `inserted` or `deleted`.
    #[schema(example = "inserted")]
    pub status: String,
    pub record: StudentRecord,
    pub request_id: String,
}

impl RecordBody {
    pub fn new(status: &str, record: StudentRecord, request_id: String) -> RecordBody {
        RecordBody {
            status: status.into(),
            record,
            request_id,
        }
    }
}

/// One page of records, ordered by SRN.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody {
    pub records: Vec<StudentRecord>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Srn>,
}

/// Readiness: the broker, each queue's consumers, and the database behind consumer-read.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyBody {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `connected` or `disconnected`.
    pub broker: String,
    /// Per queue: messages waiting and consumers attached.
    pub queues: std::collections::BTreeMap<String, QueueStats>,
    /// `reachable`, or why not.
    pub database: String,
    /// `not_ready` when not ready, like every error body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which part is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueStats {
    pub messages: u32,
    pub consumers: u32,
}
