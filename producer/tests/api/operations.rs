//! What operators rely on: the OpenAPI document, metrics, readiness, the token, bounds.

use crate::helpers::{error_code, spawn_app, spawn_app_with, to_json, unique_srn, Options};
use futures_util::future::join_all;
use inventory::shutdown::Shutdown;
use inventory::Settings;
use protocol::Operation;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mounted_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app.get_ok("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let settings = Settings::default();
    let metrics = std::sync::Arc::new(producer::metrics::Metrics::new());
    let gateway = producer::gateway::Gateway::start(&settings, Shutdown::new(), metrics.clone());
    let rocket = producer::build(&settings, gateway, metrics);
    let undocumented = ["/_errors/uri_too_long", "/openapi.json", "/api-docs/<_..>"];
    let mut missing = BTreeSet::new();
    for route in rocket.routes() {
        let path = route.uri.path().to_string();
        if undocumented.contains(&path.as_str()) {
            continue;
        }
        let template = path.replace('<', "{").replace('>', "}");
        let method = route.method.as_str().to_lowercase();
        if doc["paths"][&template][&method].is_null() {
            missing.insert(format!("{method} {template}"));
        }
    }
    assert!(
        missing.is_empty(),
        "mounted but not documented: {missing:?}"
    );
    // And the browsable page is served.
    let page = app.get_response("/api-docs/").await;
    assert_eq!(page.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_replies_and_queue_consumers() {
    let app = spawn_app().await;
    app.insert("M", &unique_srn(), "A").await;
    app.get("/read_database").await;

    let text = app.metrics_text().await;

    for expected in [
        r#"http_requests_total{method="POST",route="/insert_record",status="201"} 1"#,
        r#"consumer_replies_total{consumer="consumer-insert",outcome="inserted"} 1"#,
        r#"queue_consumers{queue="insert_record"} 1"#,
        r#"queue_consumers{queue="health_check"} 1"#,
        "broker_confirm_duration_seconds_bucket",
        "consumer_reply_duration_seconds_bucket",
        "http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_each_part() {
    let app = spawn_app().await;
    let body = app.get_ok("/readyz").await;
    assert_eq!(body["database"], "reachable");
    assert_eq!(body["queues"]["insert_record"]["consumers"], 1);

    let partial = spawn_app_with(Options {
        consumers: vec![Operation::HealthCheck, Operation::ReadDatabase],
        ..Options::default()
    })
    .await;
    let (status, body) = partial.get("/readyz").await;
    assert_eq!((status, error_code(&body)), (503, "not_ready"));
    assert!(
        body["detail"].as_str().unwrap().contains("insert_record"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_api_token_set_changes_need_the_bearer_token() {
    let app = spawn_app_with(Options {
        api_token: Some("s3cret-token".into()),
        ..Options::default()
    })
    .await;
    let srn = unique_srn();
    let record = json!({"Name": "A", "SRN": srn, "Section": "A"});
    let post = |token: Option<&str>| {
        let mut r = app.client.post(app.url("/insert_record")).json(&record);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };

    let response = post(None).await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (status, body) = to_json(response).await;
    assert_eq!((status, error_code(&body)), (401, "unauthorized"));
    assert_eq!(to_json(post(Some("wrong")).await.unwrap()).await.0, 401);
    for path in [
        format!("/delete_record?SRN={srn}"),
        format!("/delete_record/{srn}"),
    ] {
        assert_eq!(app.get(&path).await.0, 401, "{path}");
    }
    assert!(app.srns_in_database().await.is_empty());

    assert_eq!(
        to_json(post(Some("s3cret-token")).await.unwrap()).await.0,
        201
    );
    // Reads stay open.
    assert_eq!(app.get("/read_database").await.0, 200);
    assert_eq!(app.get(&format!("/v1/records/{srn}")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_waiting_on_a_dead_consumer_are_bounded() {
    let app = spawn_app_with(Options {
        max_in_flight: 3,
        ..Options::only(&[Operation::HealthCheck], Duration::from_secs(2))
    })
    .await;
    let srns: Vec<String> = (0..8).map(|_| unique_srn()).collect();
    let results: Vec<(u16, Value)> =
        join_all(srns.iter().map(|srn| app.insert("A", srn, "A"))).await;
    let overloaded = results
        .iter()
        .filter(|(s, b)| *s == 503 && b["error"] == "overloaded")
        .count();
    let timed_out = results.iter().filter(|(s, _)| *s == 504).count();
    assert_eq!((timed_out, overloaded), (3, 5), "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_keep_their_database_connections_between_messages() {
    let app = crate::helpers::spawn_app().await;
    for i in 0..20 {
        let srn = format!("POOL{i}");
        assert_eq!(app.insert("Pooled", &srn, "A").await.0, 201);
        assert_eq!(app.get("/read_database?limit=5").await.0, 200);
        assert_eq!(app.get(&format!("/delete_record/{srn}")).await.0, 200);
    }
    let database = app
        .settings
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let mut conn = mysql_async::Conn::from_url(&app.settings.database_url)
        .await
        .unwrap();
    let open: u64 = mysql_async::prelude::Queryable::exec_first(
        &mut conn,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        (database,),
    )
    .await
    .unwrap()
    .unwrap();
    conn.disconnect().await.unwrap();
    // Each of the three consumers' pools holds at most DB_POOL_MAX connections, idle
    // between messages; none would be left if each message opened its own.
    assert!(
        (1..=3 * app.settings.db_pool_max as u64).contains(&open),
        "{open} connections open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_connections_use_small_frames_unless_the_url_says_otherwise() {
    let app = spawn_app().await;
    let name = format!("frame-test-{}", unique_srn());
    let url = app.settings.amqp_url.expose().to_owned();
    let default = inventory::broker::connect(&url, &name).await.unwrap();
    let explicit = inventory::broker::connect(&format!("{url}?frame_max=65536"), &name)
        .await
        .unwrap();
    let api = crate::helpers::ManagementApi::of_test_stack();
    let mut frame_maxes = Vec::new();
    // The management API lists a connection once its stats are in (a few seconds).
    for _ in 0..100 {
        let connections = api.connections(&app.vhost).await;
        frame_maxes = connections
            .iter()
            .filter(|c| c["client_properties"]["connection_name"] == name.as_str())
            .map(|c| c["frame_max"].as_u64().unwrap())
            .collect();
        if frame_maxes.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    frame_maxes.sort();
    assert_eq!(
        frame_maxes,
        [u64::from(inventory::broker::FRAME_MAX), 65536],
        "lapin keeps 32 frames of buffer each way: the frame size is its memory"
    );
    let _ = default.close(200, "done".into()).await;
    let _ = explicit.close(200, "done".into()).await;
}
