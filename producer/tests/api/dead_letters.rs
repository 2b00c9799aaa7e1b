//! Poison messages published straight to the queues are dead-lettered with a reason,
//! and the consumers keep serving.

use crate::helpers::{spawn_app, unique_srn};
use inventory::topology;
use lapin::options::{BasicGetOptions, BasicPublishOptions};
use lapin::BasicProperties;
use protocol::message::headers;
use protocol::Operation;
use protocol::StudentRecord;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_messages_are_dead_lettered_and_consumers_keep_serving() {
    let app = spawn_app().await;
    let (conn, channel) = app.broker_channel(true).await;
    let poison: [&[u8]; 4] = [
        b"not json",
        b"\xff\xfe\x00",
        br#"{"v":9,"body":{}}"#,
        br#"{"v":1,"body":{"op":"delete_record","srn":"X"}}"#, // right format, wrong queue
    ];
    for op in Operation::ALL {
        for body in poison {
            channel
                .basic_publish(
                    topology::EXCHANGE.into(),
                    op.routing_key().into(),
                    BasicPublishOptions::default(),
                    body,
                    BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
        }
    }

    // 4 queues x 4 poison messages, minus the delete_record message on its own queue
    // (it is valid there: a delete of an SRN that does not exist).
    let expected = 4 * 4 - 1;
    let mut reasons = Vec::new();
    for _ in 0..100 {
        while let Some(message) = channel
            .basic_get(
                topology::DEAD_LETTER_QUEUE.into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            let table = message.delivery.properties.headers().as_ref();
            let reason =
                topology::header_str(table, headers::DEAD_LETTER_REASON).expect("reason header");
            let origin =
                topology::header_str(table, headers::DEAD_LETTER_ORIGIN).expect("origin header");
            reasons.push((origin, reason));
        }
        if reasons.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reasons.len(), expected, "{reasons:#?}");
    assert!(
        reasons.iter().any(|(_, r)| r.contains("version 9")),
        "{reasons:#?}"
    );
    assert!(reasons
        .iter()
        .any(|(q, r)| q == "insert_record" && r.contains("does not belong")));

    // Every consumer still answers.
    let srn = unique_srn();
    assert_eq!(app.get("/health_check").await.0, 200);
    assert_eq!(app.insert("After", &srn, "A").await.0, 201);
    assert_eq!(app.get("/read_database").await.0, 200);
    assert_eq!(app.get(&format!("/delete_record/{srn}")).await.0, 200);
    let _ = conn.close(200, "done".into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_can_be_inspected_and_replayed_to_their_queue() {
    use inventory::dead_letters;
    use lapin::types::{AMQPValue, FieldTable};
    use protocol::message::Request;

    let app = spawn_app().await;
    let (conn, channel) = app.broker_channel(true).await;
    // A good insert that was dead-lettered (say, by an operator during an incident).
    let record = StudentRecord::new("Replayed", &unique_srn(), "R").unwrap();
    let mut table = FieldTable::default();
    table.insert(
        headers::DEAD_LETTER_ORIGIN.into(),
        AMQPValue::LongString("insert_record".into()),
    );
    table.insert(
        headers::DEAD_LETTER_REASON.into(),
        AMQPValue::LongString("test".into()),
    );
    channel
        .basic_publish(
            topology::DEAD_LETTER_EXCHANGE.into(),
            "".into(),
            BasicPublishOptions::default(),
            &Request::InsertRecord {
                record: record.clone(),
            }
            .encode(),
            BasicProperties::default()
                .with_message_id("replay-1".into())
                .with_headers(table),
        )
        .await
        .unwrap()
        .await
        .unwrap();

    let listed = dead_letters::inspect(&channel, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].origin.as_deref(), Some("insert_record"));
    assert_eq!(listed[0].reason.as_deref(), Some("test"));
    assert!(
        app.srns_in_database().await.is_empty(),
        "inspecting must not replay"
    );

    let replayed = dead_letters::replay(&channel, 10).await.unwrap();
    assert_eq!(replayed.len(), 1);
    for _ in 0..100 {
        if !app.srns_in_database().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.srns_in_database().await, vec![record.srn.to_string()]);
    assert!(dead_letters::inspect(&channel, 10)
        .await
        .unwrap()
        .is_empty());
    let _ = conn.close(200, "done".into()).await;
}
