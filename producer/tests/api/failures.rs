//! Errors: every one a JSON body with a 4xx/5xx status, never a hang.

use crate::helpers::{
    error_code, spawn_app, spawn_app_with, to_json, unique_srn, ManagementApi, Options, TestApp,
};
use protocol::Operation;
use std::time::{Duration, Instant};

/// An insert fails with `status` and the error `code`, within `within`: a bound on
/// waiting (no hang), not a speed.
async fn assert_insert_fails(app: &TestApp, (status, code): (u16, &str), within: Duration) {
    let started = Instant::now();
    let (got, body) = app.insert("A", &unique_srn(), "A").await;
    assert_eq!(got, status, "{body}");
    assert_eq!(error_code(&body), code);
    let waited = started.elapsed();
    assert!(waited < within, "{code} after {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_consumer_means_504_after_the_reply_timeout() {
    let only_health = Options::only(&[Operation::HealthCheck], Duration::from_millis(500));
    let app = spawn_app_with(only_health).await;
    assert_insert_fails(&app, (504, "reply_timeout"), Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_means_503_at_once_and_not_ready() {
    let app = spawn_app_with(Options {
        amqp_url: Some("amqp://nobody:nothing@127.0.0.1:1/%2f".into()),
        consumers: vec![],
        wait_ready: false,
        ..Options::default()
    })
    .await;
    assert_insert_fails(&app, (503, "broker_unavailable"), Duration::from_secs(1)).await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!((status, error_code(&body)), (503, "not_ready"));
    assert_eq!(app.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbound_routing_key_means_503_no_queue() {
    let app = spawn_app().await;
    // Remove the insert_record queue: the mandatory publish comes back unroutable.
    ManagementApi::of_test_stack()
        .delete(
            &format!("/queues/{}/insert_record", app.vhost),
            "delete the insert_record queue",
        )
        .await;
    // Refused when the publish comes back, not after waiting for a reply.
    let reply_timeout = app.settings.reply_timeout;
    assert_insert_fails(&app, (503, "no_queue"), reply_timeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_4xx() {
    let app = spawn_app().await;
    let c = &app.client;
    let insert = |content_type: &str, body: Vec<u8>| {
        c.post(app.url("/insert_record"))
            .header("content-type", content_type)
            .body(body)
    };
    let (json, form) = ("application/json", "application/x-www-form-urlencoded");
    let cases = vec![
        ("bad json", insert(json, b"{\"Name\":".to_vec()), 400),
        ("json array", insert(json, b"[1,2]".to_vec()), 400),
        (
            "invalid utf-8 json",
            insert(json, vec![b'{', 0xff, b'}']),
            400,
        ),
        (
            "invalid utf-8 form",
            insert(form, b"Name=%ff".to_vec()),
            400,
        ),
        ("xml", insert("application/xml", b"<a/>".to_vec()), 415),
        ("huge body", insert(json, vec![b'x'; 70 * 1024]), 413),
        ("unknown route", c.get(app.url("/no/such/route")), 404),
        ("wrong method", c.put(app.url("/insert_record")), 404),
        (
            "path traversal",
            c.get(app.url("/delete_record/..%2F..%2Fetc%2Fpasswd")),
            422,
        ),
    ];
    for (what, request, expected) in cases {
        let (status, body) = to_json(request.send().await.unwrap()).await;
        assert_eq!(status, expected, "{what}: {body}");
        error_code(&body);
    }
    // Still serving, nothing stored.
    assert_eq!(app.get("/health_check").await.0, 200);
    assert!(app.srns_in_database().await.is_empty());
}
