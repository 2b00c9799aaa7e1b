//! What a request carries about itself reaches the consumer as AMQP headers: the
//! deadline, the caller's trace context and the client's idempotency key.

use crate::helpers::{error_code, spawn_app, spawn_app_with, unique_srn, Options};
use lapin::types::AMQPValue;
use protocol::message::headers;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TRACE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_trace_context_and_idempotency_key_travel_as_headers() {
    let timeout = Duration::from_secs(3);
    let app = spawn_app_with(Options::only(&[], timeout)).await;
    let sent_at = now_ms();
    // Nobody consumes: the requests wait (until the timeout) while their messages are read.
    let insert = app
        .client
        .post(app.url("/insert_record"))
        .header("traceparent", TRACE)
        .header("Idempotency-Key", "retry-42")
        .json(&serde_json::json!({"Name": "Meta", "SRN": unique_srn(), "Section": "A"}))
        .send();
    let health = app
        .client
        .get(app.url("/health_check"))
        .header("traceparent", "not-a-trace-context")
        .send();
    let waiting = tokio::spawn(async move { tokio::join!(insert, health) });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (conn, channel) = app.broker_channel(false).await;
    let mut seen = Vec::new();
    for queue in ["insert_record", "health_check"] {
        let message = channel
            .basic_get(queue.into(), lapin::options::BasicGetOptions::default())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a message waits on {queue}"));
        let table = message
            .delivery
            .properties
            .headers()
            .clone()
            .expect("headers");
        let table = table.inner();
        match table.get(headers::DEADLINE) {
            Some(AMQPValue::LongLongInt(deadline)) => {
                let limit = timeout.as_millis() as i64;
                assert!(
                    (sent_at..=now_ms() + limit).contains(deadline),
                    "{queue}: deadline {deadline}, sent at {sent_at}"
                );
            }
            other => panic!("{queue}: deadline {other:?}"),
        }
        let text = |name: &str| match table.get(name) {
            Some(AMQPValue::LongString(s)) => {
                Some(String::from_utf8(s.as_bytes().to_vec()).unwrap())
            }
            None => None,
            other => panic!("{name}: {other:?}"),
        };
        seen.push((
            queue,
            text(headers::TRACEPARENT),
            text(headers::IDEMPOTENCY_KEY),
        ));
    }
    assert_eq!(
        seen,
        [
            ("insert_record", Some(TRACE.into()), Some("retry-42".into())),
            ("health_check", None, None),
        ],
        "a malformed traceparent is dropped"
    );
    let _ = conn.close(200, "done".into()).await;
    waiting.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_idempotency_key_is_422_naming_the_header() {
    let app = spawn_app().await;
    for key in ["x".repeat(256), "tab\tinside".into()] {
        let response = app
            .client
            .post(app.url("/insert_record"))
            .header("Idempotency-Key", key.as_str())
            .json(&serde_json::json!({"Name": "K", "SRN": unique_srn(), "Section": "A"}))
            .send()
            .await
            .unwrap();
        let (status, body) = crate::helpers::to_json(response).await;
        assert_eq!((status, error_code(&body)), (422, "invalid_field"), "{key}");
        assert_eq!(body["field"], "Idempotency-Key");
    }
    assert!(app.srns_in_database().await.is_empty());
}
