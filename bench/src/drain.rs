//! The `drain` scenario: inserts queued while consumer-insert is stopped, then the rate
//! at which a freshly started consumer-insert commits them to the database.

use crate::cpu;
use crate::stack::Stack;
use mysql_async::prelude::*;
use protocol::message::Request;
use protocol::StudentRecord;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What the drain measured.
pub(crate) struct Drained {
    pub committed: u64,
    /// Committed inserts per second, from subscription to the last commit.
    pub rate: f64,
    pub note: String,
    /// CPU from subscription until every row was seen committed.
    pub usage: cpu::Usage,
}

/// The drain test: inserts already queued while consumer-insert is stopped, then the
/// rate at which a freshly started consumer-insert commits them.
///
/// The clock starts when the queue gets its consumer (a passive declare polled every
/// 2 ms: `consumer_count` turns 1), not when the process is launched: start-up is
/// reported apart. It stops at the last drained row's `created_at` (TIMESTAMP(6) set by
/// the database at insert), both on this machine's clock as microseconds since the
/// epoch; polling the row count only says when to look.
pub(crate) async fn drain(
    stack: &Stack,
    meter: &cpu::Meter,
    run: &str,
    messages: usize,
) -> Drained {
    use futures_util::StreamExt;
    let pid = stack
        .pid("consumer-insert")
        .expect("consumer-insert is running");
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conn = inventory::broker::connect(&stack.amqp_url, "bench-drain")
        .await
        .expect("broker");
    let channel = conn.create_channel().await.unwrap();
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut confirms = futures_util::stream::FuturesUnordered::new();
    for i in 0..messages {
        let record = StudentRecord::new("Drained Student", &format!("D{run}{i:07}"), "D").unwrap();
        let props = lapin::BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(format!("drain-{run}-{i}").into());
        confirms.push(
            channel
                .basic_publish(
                    inventory::topology::EXCHANGE.into(),
                    "insert_record".into(),
                    lapin::options::BasicPublishOptions::default(),
                    &Request::InsertRecord { record }.encode(),
                    props,
                )
                .await
                .expect("publish"),
        );
        if confirms.len() >= 2_000 {
            confirms.next().await;
        }
    }
    while confirms.next().await.is_some() {}

    // Launch consumer-insert, and watch for its subscription.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let launched = Instant::now();
    let mut start = tokio::process::Command::new(root.join("scripts/stack"))
        .arg("start")
        .env("STACK_DIR", &stack.dir)
        .spawn()
        .expect("scripts/stack start");
    let passive = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let (subscribed, subscribed_wall) = loop {
        // The subscription happened before the broker answered this poll and after it
        // answered the previous one: the send time is within one poll of it.
        let (sent, sent_wall) = (Instant::now(), std::time::SystemTime::now());
        let queue = channel
            .queue_declare(
                "insert_record".into(),
                passive,
                lapin::types::FieldTable::default(),
            )
            .await
            .expect("passive declare of insert_record");
        if queue.consumer_count() >= 1 {
            break (sent, sent_wall);
        }
        assert!(
            launched.elapsed() < Duration::from_secs(120),
            "consumer-insert did not subscribe within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let before = meter.snapshot();
    println!("bench: drain: consumer-insert subscribed");
    let startup = subscribed.duration_since(launched).as_secs_f64();
    let t0 = subscribed_wall
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();

    let mut db = mysql_async::Conn::from_url(&stack.database_url)
        .await
        .expect("database");
    let pattern = format!("D{run}%");
    let deadline = subscribed + Duration::from_secs(600);
    let mut committed = 0;
    while Instant::now() < deadline {
        committed = db
            .exec_first::<u64, _, _>(
                "SELECT COUNT(*) FROM students WHERE srn LIKE ?",
                (&pattern,),
            )
            .await
            .expect("count")
            .unwrap_or(0);
        if committed >= messages as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let usage = meter.usage(&before, &meter.snapshot());
    // DECIMAL with six decimals, NULL if nothing was committed.
    let last: Option<String> = db
        .exec_first::<Option<String>, _, _>(
            "SELECT CAST(UNIX_TIMESTAMP(MAX(created_at)) AS CHAR) FROM students WHERE srn LIKE ?",
            (&pattern,),
        )
        .await
        .expect("last commit")
        .flatten();
    db.disconnect().await.ok();
    let started = start.wait().await.is_ok_and(|s| s.success());
    assert!(started, "scripts/stack start failed");
    let _ = conn.close(200, "drained".into()).await;
    let last = last.and_then(|t| t.parse::<f64>().ok()).unwrap_or(t0);
    let seconds = last - t0;
    Drained {
        committed,
        rate: if seconds > 0.0 {
            committed as f64 / seconds
        } else {
            0.0
        },
        note: format!(
            "{committed} of {messages} committed; {seconds:.2} s from subscription to last commit; consumer start-up {startup:.2} s (not counted)"
        ),
        usage,
    }
}
