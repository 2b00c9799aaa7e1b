//! The probes an orchestrator polls: `/healthz` (the process answers) and `/readyz`
//! (the broker, a consumer on every queue, and the database behind consumer-read).

use crate::answer::Answered;
use crate::body::{QueueStats, ReadyBody};
use crate::gateway::Gateway;
use crate::metadata::Metadata;
use crate::operations::call;
use protocol::{Operation, Request};
use rocket::get;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde_json::{json, Value};

/// Liveness: the process answers HTTP.
#[utoipa::path(tag = "probes", responses((status = 200, description = "Alive", body = Object)))]
#[get("/healthz")]
pub fn healthz() -> Json<Value> {
    Json(json!({ "status": "alive" }))
}

/// Readiness: broker connected, at least one consumer per queue, and the database
/// answering through consumer-read.
#[utoipa::path(
    tag = "probes",
    responses(
        (status = 200, description = "Ready", body = ReadyBody),
        (status = 503, description = "Not ready; the body says which part", body = ReadyBody),
    )
)]
#[get("/readyz")]
pub async fn readyz(gateway: &State<Gateway>) -> Answered {
    let mut ready = ReadyBody {
        status: "not_ready".into(),
        broker: "disconnected".into(),
        queues: Default::default(),
        database: "unknown".into(),
        error: None,
        detail: None,
    };
    if gateway.is_connected() {
        ready.broker = "connected".into();
        match gateway.queue_stats().await {
            Ok(queues) => ready.queues = queues,
            Err(e) => ready.broker = format!("connected, but queues unreadable: {e}"),
        }
    }
    let read_consumers = ready
        .queues
        .get(Operation::ReadDatabase.queue())
        .map_or(0, |q: &QueueStats| q.consumers);
    if read_consumers > 0 {
        // A one-row read proves consumer-read and the database both answer.
        let probe = Request::ReadDatabase {
            after: None,
            limit: Some(1),
            known_version: None,
        };
        ready.database = match call(gateway, probe, &Metadata::default()).await {
            Ok(_) => "reachable".into(),
            Err(e) => format!("unreachable through consumer-read: {e}"),
        };
    } else if ready.broker == "connected" {
        ready.database = "unknown: no consumer on read_database".into();
    }
    let unconsumed: Vec<&str> = Operation::ALL
        .iter()
        .map(|op| op.queue())
        .filter(|q| ready.queues.get(*q).is_none_or(|s| s.consumers == 0))
        .collect();
    let problem = if ready.broker != "connected" {
        Some(format!("broker: {}", ready.broker))
    } else if !unconsumed.is_empty() {
        Some(format!("no consumer on {}", unconsumed.join(", ")))
    } else if ready.database != "reachable" {
        Some(format!("database: {}", ready.database))
    } else {
        None
    };
    let status = match problem {
        None => {
            ready.status = "ready".into();
            Status::Ok
        }
        Some(detail) => {
            ready.error = Some("not_ready".into());
            ready.detail = Some(detail);
            Status::ServiceUnavailable
        }
    };
    Answered::new(status, &ready, None)
}
