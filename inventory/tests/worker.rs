//! The run loop against the real RabbitMQ `make test` starts, with a test handler whose
//! behaviour each message chooses: replies in parts, deadlines, commits whose outcome is
//! unknown, panics, and batches that fail for good. Each test has a vhost of its own.

use futures_util::StreamExt;
use inventory::handler::{Failure, Handler, Message};
use inventory::shutdown::Shutdown;
use inventory::{broker, topology, worker, Settings};
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use protocol::message::{headers, HealthCheckRequest};
use protocol::{Operation, Reply, Request};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Answers health checks; what it does depends on the message.
#[derive(Clone, Default)]
struct Scripted {
    /// Every call, in order: "handle:<message>", "batch:<n>", "verify:<message>".
    calls: Arc<Mutex<Vec<String>>>,
    batch_max: usize,
}

impl Scripted {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn ok(message: &str) -> Reply {
    Reply::HealthOk {
        message: message.into(),
        consumer: "scripted".into(),
    }
}

impl Handler for Scripted {
    type Input = HealthCheckRequest;

    async fn handle(&self, message: &Message<HealthCheckRequest>) -> Result<Reply, Failure> {
        let text = message.input.message.as_str();
        self.log(format!("handle:{text}"));
        match text {
            "three parts" => {
                for i in 0..3 {
                    message.meta.send_part(&ok(&format!("part {i}"))).await?;
                }
                Ok(ok("last"))
            }
            "commit lost" => {
                Err(Failure::unknown("connection reset").if_committed(ok("committed after all")))
            }
            "panic" => panic!("a bug this message triggers"),
            "bad" => Err(Failure::Permanent("bad on its own too".into())),
            _ => Ok(ok(text)),
        }
    }

    fn concurrency(&self) -> usize {
        1
    }

    fn batch_max(&self) -> usize {
        self.batch_max.max(1)
    }

    async fn handle_batch(
        &self,
        batch: &[Message<HealthCheckRequest>],
    ) -> Result<Vec<Reply>, Failure> {
        self.log(format!("batch:{}", batch.len()));
        if batch.iter().any(|m| m.input.message == "gate") {
            // Holds the first batch while the broker delivers the rest, so that they
            // arrive together as the next batch.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        if batch.iter().any(|m| m.input.message == "bad") {
            return Err(Failure::Permanent("a bad message in the batch".into()));
        }
        Ok(batch.iter().map(|m| ok(&m.input.message)).collect())
    }

    async fn verify(
        &self,
        message: &Message<HealthCheckRequest>,
        if_committed: Option<&Reply>,
    ) -> Result<Option<Reply>, Failure> {
        self.log(format!("verify:{}", message.input.message));
        Ok(if_committed.cloned())
    }
}

/// A caller on the test's vhost: publishes health checks, reads the replies.
struct Caller {
    channel: Channel,
    replies: lapin::Consumer,
    _conn: Connection,
}

impl Caller {
    async fn new(url: &str) -> Caller {
        let conn = Connection::connect(url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        topology::declare_topology(&channel, Default::default())
            .await
            .unwrap();
        let replies = broker::calling_channel(&channel, "").await.unwrap();
        Caller {
            channel,
            replies,
            _conn: conn,
        }
    }

    async fn send(&self, message: &str, deadline: Option<SystemTime>) {
        let mut headers = FieldTable::default();
        if let Some(deadline) = deadline {
            let ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
            headers.insert(headers::DEADLINE.into(), AMQPValue::LongLongInt(ms));
        }
        let props = BasicProperties::default()
            .with_reply_to(topology::REPLY_TO.into())
            .with_correlation_id(message.into())
            .with_message_id(message.replace(' ', "-").into())
            .with_headers(headers);
        let body = Request::HealthCheck {
            message: message.into(),
        }
        .encode();
        self.channel
            .basic_publish(
                topology::EXCHANGE.into(),
                Operation::HealthCheck.routing_key().into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// The next reply and its part headers (index, more).
    async fn next(&mut self) -> (Reply, Option<u32>, bool) {
        let delivery = tokio::time::timeout(Duration::from_secs(20), self.replies.next())
            .await
            .expect("a reply within 20 s")
            .unwrap()
            .unwrap();
        let table = delivery.properties.headers().clone().unwrap_or_default();
        let get = |key: &str| table.inner().get(&ShortString::from(key)).cloned();
        let part = match get(headers::REPLY_PART) {
            Some(AMQPValue::LongUInt(i)) => Some(i),
            _ => None,
        };
        let more = matches!(get(headers::REPLY_MORE), Some(AMQPValue::Boolean(true)));
        (Reply::decode(&delivery.data).unwrap(), part, more)
    }
}

/// Runs `handler` on a fresh vhost; returns a caller on the same vhost.
async fn start(handler: Scripted) -> (Caller, Shutdown) {
    let url = format!(
        "{}/{}",
        test_support::stack_var("TEST_AMQP_ADMIN_URL"),
        test_support::fresh_vhost().await
    );
    let settings = Settings {
        amqp_url: url.clone().into(),
        ..Settings::default()
    };
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { worker::run(handler, &settings, stop).await });
    (Caller::new(&url).await, shutdown)
}

#[tokio::test]
async fn a_reply_can_come_in_parts_numbered_in_order() {
    let (mut caller, shutdown) = start(Scripted::default()).await;
    caller.send("three parts", None).await;
    for i in 0..3 {
        assert_eq!(
            caller.next().await,
            (ok(&format!("part {i}")), Some(i), true)
        );
    }
    assert_eq!(caller.next().await, (ok("last"), Some(3), false));
    caller.send("plain", None).await;
    assert_eq!(
        caller.next().await,
        (ok("plain"), None, false),
        "one reply carries no part marks"
    );
    shutdown.trigger();
}

#[tokio::test]
async fn a_read_whose_caller_stopped_waiting_is_dropped_unread() {
    let handler = Scripted::default();
    let (mut caller, shutdown) = start(handler.clone()).await;
    let past = SystemTime::now() - Duration::from_secs(60);
    let future = SystemTime::now() + Duration::from_secs(60);
    caller.send("too late", Some(past)).await;
    caller.send("in time", Some(future)).await;
    assert_eq!(caller.next().await.0, ok("in time"));
    // One at a time, in order: the expired one came first and was never handled.
    assert_eq!(handler.calls(), ["handle:in time"]);
    shutdown.trigger();
}

#[tokio::test]
async fn a_lost_commit_is_verified_instead_of_done_twice() {
    let handler = Scripted::default();
    let (mut caller, shutdown) = start(handler.clone()).await;
    caller.send("commit lost", None).await;
    assert_eq!(caller.next().await.0, ok("committed after all"));
    assert_eq!(
        handler.calls(),
        ["handle:commit lost", "verify:commit lost"]
    );
    shutdown.trigger();
}

#[tokio::test]
async fn a_panic_is_dead_lettered_and_the_next_message_served() {
    let (mut caller, shutdown) = start(Scripted::default()).await;
    caller.send("panic", None).await;
    let (reply, _, _) = caller.next().await;
    let Reply::Invalid { detail } = reply else {
        panic!("{reply:?}")
    };
    assert!(detail.contains("a bug this message triggers"), "{detail}");
    caller.send("after", None).await;
    assert_eq!(caller.next().await.0, ok("after"));
    shutdown.trigger();
}

#[tokio::test]
async fn a_batch_that_fails_for_good_is_worked_one_by_one() {
    let handler = Scripted {
        batch_max: 10,
        ..Scripted::default()
    };
    let (mut caller, shutdown) = start(handler.clone()).await;
    caller.send("gate", None).await;
    while handler.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The gate's batch is being worked on: these three arrive meanwhile, as one batch.
    for message in ["one", "bad", "three"] {
        caller.send(message, None).await;
    }

    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(caller.next().await.0);
    }
    assert_eq!(replies[0], ok("gate"));
    assert!(
        replies.contains(&ok("one")) && replies.contains(&ok("three")),
        "{replies:?}"
    );
    let invalid = Reply::Invalid {
        detail: "bad on its own too".into(),
    };
    assert!(replies.contains(&invalid), "{replies:?}");
    assert_eq!(
        handler.calls(),
        [
            "batch:1",
            "batch:3",
            "handle:one",
            "handle:bad",
            "handle:three"
        ]
    );
    shutdown.trigger();
}
