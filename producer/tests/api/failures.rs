//! Errors: every one a JSON body with a 4xx/5xx status, never a hang.

use crate::helpers::{
    error_code, rabbitmq_api, spawn_app, spawn_app_with, split_credentials, to_json, unique_srn,
    Options,
};
use inventory::Operation;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_consumer_means_504_after_the_reply_timeout() {
    let app = spawn_app_with(Options {
        consumers: vec![Operation::HealthCheck],
        reply_timeout: Duration::from_millis(500),
        ..Options::default()
    })
    .await;
    let started = Instant::now();

    let (status, body) = app.insert("A", &unique_srn(), "A").await;

    assert_eq!(status, 504, "{body}");
    assert_eq!(error_code(&body), "reply_timeout");
    assert!(started.elapsed() < Duration::from_secs(5));
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
    let started = Instant::now();

    let (status, body) = app.insert("A", &unique_srn(), "A").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), "broker_unavailable");
    assert!(started.elapsed() < Duration::from_secs(1));
    let (status, body) = app.get("/readyz").await;
    assert_eq!((status, error_code(&body)), (503, "not_ready"));
    assert_eq!(app.get("/healthz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbound_routing_key_means_503_no_queue() {
    let app = spawn_app().await;
    let (base, user, password) = split_credentials(&rabbitmq_api());
    // Remove the insert_record queue: the mandatory publish comes back unroutable.
    app.client
        .delete(format!("{base}/queues/{}/insert_record", app.vhost))
        .basic_auth(&user, Some(&password))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let (status, body) = app.insert("A", &unique_srn(), "A").await;

    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), "no_queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_4xx() {
    let app = spawn_app().await;
    let c = &app.client;
    let huge = "x".repeat(70 * 1024);
    let cases = vec![
        (
            "bad json",
            c.post(app.url("/insert_record"))
                .header("content-type", "application/json")
                .body("{\"Name\":"),
            400,
        ),
        (
            "json array",
            c.post(app.url("/insert_record"))
                .header("content-type", "application/json")
                .body("[1,2]"),
            400,
        ),
        (
            "invalid utf-8 json",
            c.post(app.url("/insert_record"))
                .header("content-type", "application/json")
                .body(vec![b'{', 0xff, b'}']),
            400,
        ),
        (
            "invalid utf-8 form",
            c.post(app.url("/insert_record"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("Name=%ff"),
            400,
        ),
        (
            "xml",
            c.post(app.url("/insert_record"))
                .header("content-type", "application/xml")
                .body("<a/>"),
            415,
        ),
        (
            "huge body",
            c.post(app.url("/insert_record"))
                .header("content-type", "application/json")
                .body(huge),
            413,
        ),
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
