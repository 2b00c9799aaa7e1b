use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_travels_through_its_queue_and_echoes_the_message() {
    let app = spawn_app().await;

    let body = app.get_ok("/health_check?message=hello%20world").await;

    assert_eq!(body["status"], "ok");
    assert_eq!(body["message"], "hello world");
    assert_eq!(body["consumer"], "consumer-health");
    assert!(body["round_trip_ms"].as_f64().unwrap() > 0.0);
    assert!(body["request_id"].as_str().unwrap().len() >= 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_accepts_the_shapes_clients_send() {
    let app = spawn_app().await;
    let cases = [
        ("/health_check?msg=a1", "a1"),
        ("/health_check?health_check=a2", "a2"),
        ("/health_check?a3", "a3"),
        ("/health_check?whatever=a4", "a4"),
        ("/health_check/a5", "a5"),
        ("/health_check/", "ping"),
        ("/health_check", "ping"),
        ("/health_check?MESSAGE=a6", "a6"),
    ];
    for (path, expected) in cases {
        let (status, body) = app.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["message"], expected, "{path}");
    }
    let (status, body) = app
        .post_json("/health_check", &json!({"message": "posted"}))
        .await;
    assert_eq!((status, body["message"].as_str()), (200, Some("posted")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_refuses_oversized_or_control_messages() {
    let app = spawn_app().await;
    let long = "a".repeat(1025);
    let (status, body) = app.get(&format!("/health_check?message={long}")).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("message")));
    let (status, _) = app.get("/health_check?message=a%0Ab").await;
    assert_eq!(status, 422);
    let (status, body) = app.get("/health_check?a=1&b=2").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_field"))
    );
}
