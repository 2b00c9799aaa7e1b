//! README promises not covered elsewhere: request ids, paging links, which messages
//! expire in their queue, and settings that stop the process.

use crate::helpers::{spawn_app, spawn_app_with, unique_srn, Options};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use protocol::Operation;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_through_a_consumer_carry_the_request_id() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let record = serde_json::json!({"Name": "A", "SRN": srn, "Section": "A"});
    for _ in 0..2 {
        // 201, then 409: both went through consumer-insert.
        let response = app.post_json_response("/insert_record", &record).await;
        let header = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["request_id"], header);
    }
    let response = app.get_response("/health_check").await;
    assert!(response.headers().contains_key("x-request-id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_with_more_to_come_links_to_the_next() {
    let app = spawn_app().await;
    app.insert_numbered("L", 3).await;
    let response = app.get_response("/read_database?limit=2").await;
    assert_eq!(
        response.headers()["link"].to_str().unwrap(),
        "</read_database?limit=2&after=L1>; rel=\"next\""
    );
    let last = app.get_response("/read_database?limit=2&after=L1").await;
    assert!(
        !last.headers().contains_key("link"),
        "the last page links nowhere"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_expire_in_the_queue_but_writes_wait_for_their_consumer() {
    let only_health = Options::only(&[Operation::HealthCheck], Duration::from_millis(300));
    let app = spawn_app_with(only_health).await;
    assert_eq!(app.get("/read_database").await.0, 504);
    assert_eq!(app.insert("Waits", &unique_srn(), "A").await.0, 504);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (conn, channel) = app.broker_channel(false).await;
    let depth = |queue: &'static str| {
        let channel = channel.clone();
        async move {
            channel
                .queue_declare(
                    queue.into(),
                    QueueDeclareOptions::default().passive(),
                    FieldTable::default(),
                )
                .await
                .unwrap()
                .message_count()
        }
    };
    assert_eq!(
        depth("read_database").await,
        0,
        "the read expired: nobody waits for it"
    );
    assert_eq!(
        depth("insert_record").await,
        1,
        "the insert stays until a consumer takes it"
    );
    let _ = conn.close(200, "done".into()).await;
}

#[test]
fn an_invalid_setting_stops_the_process_naming_the_variable() {
    test_support::assert_refuses_setting(env!("CARGO_BIN_EXE_producer"), "HTTP_PORT", "eighty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_persistent_and_health_checks_and_reads_are_not() {
    let app = spawn_app_with(Options::only(&[], Duration::from_secs(3))).await;
    let waiting = {
        let (client, base) = (app.client.clone(), app.url("/"));
        let srn = unique_srn();
        tokio::spawn(async move {
            let insert = client
                .post(format!("{base}insert_record"))
                .json(&serde_json::json!({"Name": "Kept", "SRN": srn, "Section": "A"}))
                .send();
            let delete = client.get(format!("{base}delete_record/{srn}")).send();
            let health = client.get(format!("{base}health_check")).send();
            let read = client.get(format!("{base}read_database")).send();
            let _ = tokio::join!(insert, delete, health, read);
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (conn, channel) = app.broker_channel(false).await;
    for (op, mode) in [
        (Operation::InsertRecord, 2),
        (Operation::DeleteRecord, 2),
        (Operation::HealthCheck, 1),
        (Operation::ReadDatabase, 1),
    ] {
        let message = channel
            .basic_get(
                op.queue().into(),
                lapin::options::BasicGetOptions::default(),
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a message waits on {}", op.queue()));
        assert_eq!(
            *message.delivery.properties.delivery_mode(),
            Some(mode),
            "delivery mode of {}",
            op.queue()
        );
    }
    let _ = conn.close(200, "done".into()).await;
    waiting.abort();
}
