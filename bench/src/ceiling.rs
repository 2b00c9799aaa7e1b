//! The broker's own ceiling on this machine, measured in the same run as the system:
//! a raw request-reply loop (persistent publish with confirms, a trivial pipelined
//! responder, direct reply-to, same concurrency), a raw pipeline of confirmed
//! persistent publishes, and a raw drain of queued persistent messages. All use
//! throwaway durable queues, deleted afterwards.

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

use crate::cpu;
use crate::load::{Answer, Figures};

/// A reply or an ack on its way out.
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

const RPC_QUEUE: &str = "bench.ceiling.rpc";
const PIPE_QUEUE: &str = "bench.ceiling.publish";
const DRAIN_QUEUE: &str = "bench.ceiling.drain";
const PAYLOAD: &[u8] = br#"{"v":1,"body":{"op":"insert_record","record":{"Name":"Bench","SRN":"B0000000001","Section":"A"}}}"#;

async fn connect(url: &str) -> Connection {
    inventory::broker::connect(url, "bench")
        .await
        .expect("bench connects to the broker")
}

/// The ceiling's queues are of the same type as the system's (QUEUE_TYPE).
fn queue_args() -> FieldTable {
    let mut args = FieldTable::default();
    if std::env::var("QUEUE_TYPE").is_ok_and(|t| t.eq_ignore_ascii_case("quorum")) {
        args.insert(
            "x-queue-type".into(),
            lapin::types::AMQPValue::LongString("quorum".into()),
        );
    }
    args
}

/// A channel, and `queue` declared on it (durable, QUEUE_TYPE).
async fn declared_channel(conn: &Connection, queue: &str) -> lapin::Channel {
    let channel = conn.create_channel().await.unwrap();
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), durable, queue_args())
        .await
        .unwrap();
    channel
}

/// A channel with publisher confirms, and `queue` declared (durable, QUEUE_TYPE).
async fn confirmed_channel(conn: &Connection, queue: &str) -> lapin::Channel {
    let channel = declared_channel(conn, queue).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    channel
}

/// Publishes the payload, persistent, to `queue`; returns its pending confirm.
async fn publish_persistent(channel: &lapin::Channel, queue: &str) -> lapin::PublisherConfirm {
    channel
        .basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            PAYLOAD,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
}

/// The raw request-reply loop's figures: round trips per second, latency, CPU.
pub(crate) async fn request_reply(
    url: &str,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    meter: &cpu::Meter,
) -> Figures {
    // The responder: its own connection, like a consumer process.
    let responder_conn = connect(url).await;
    let responder = declared_channel(&responder_conn, RPC_QUEUE).await;
    responder
        .basic_qos(200, BasicQosOptions::default())
        .await
        .unwrap();
    let mut deliveries = responder
        .basic_consume(
            RPC_QUEUE.into(),
            "responder".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let reply_channel = responder.clone();
    tokio::spawn(async move {
        // Pipelined: a responder that awaited each reply's publish and each ack in turn
        // was itself the bottleneck (it measured half of this ceiling), not the broker.
        // So nothing waits on one write before the next: a reply is queued per delivery,
        // and everything that arrived together is settled by one `multiple` ack.
        let mut sent: FuturesUnordered<Pending> = FuturesUnordered::new();
        loop {
            tokio::select! {
                Some(_) = sent.next(), if !sent.is_empty() => {}
                next = deliveries.next() => {
                    let Some(Ok(mut last)) = next else { break };
                    loop {
                        if let (Some(to), Some(id)) = (
                            last.properties.reply_to().clone(),
                            last.properties.correlation_id().clone(),
                        ) {
                            let channel = reply_channel.clone();
                            sent.push(Box::pin(async move {
                                let props = BasicProperties::default().with_correlation_id(id);
                                let _ = channel
                                    .basic_publish(
                                        "".into(),
                                        to,
                                        BasicPublishOptions::default(),
                                        b"ok",
                                        props,
                                    )
                                    .await;
                            }));
                        }
                        // The rest of what has already arrived joins this group.
                        match deliveries.next().now_or_never() {
                            Some(Some(Ok(next))) => last = next,
                            _ => break,
                        }
                    }
                    // `multiple` acks must reach the broker in delivery-tag order (a
                    // later one first would make the earlier tag unknown and close the
                    // channel). lapin queues a frame on a future's first poll, so each
                    // ack is polled once here, as it is created; only its completion
                    // is awaited out of order.
                    let channel = reply_channel.clone();
                    let mut ack: Pending = Box::pin(async move {
                        let _ = channel
                            .basic_ack(last.delivery_tag, BasicAckOptions { multiple: true })
                            .await;
                    });
                    if (&mut ack).now_or_never().is_none() {
                        sent.push(ack);
                    }
                }
            }
        }
    });

    // The requester: one channel with confirms and the direct reply-to consumer (four
    // channels measured the same as one). Correlation ids are the request's number:
    // no UUID to make and hash per request.
    let conn = connect(url).await;
    let channel = conn.create_channel().await.unwrap();
    let pending: Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>> = Arc::default();
    let mut replies = inventory::broker::calling_channel(&channel, "replies")
        .await
        .unwrap();
    let waiting = pending.clone();
    tokio::spawn(async move {
        while let Some(Ok(reply)) = replies.next().await {
            let id = reply
                .properties
                .correlation_id()
                .as_ref()
                .and_then(|id| id.as_str().parse().ok());
            if let Some(tx) = id.and_then(|id| waiting.lock().unwrap().remove(&id)) {
                let _ = tx.send(());
            }
        }
    });
    let step: crate::load::Step = Arc::new(move |n| {
        let (channel, pending) = (channel.clone(), pending.clone());
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            pending.lock().unwrap().insert(n, tx);
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_correlation_id(n.to_string().into())
                .with_reply_to("amq.rabbitmq.reply-to".into());
            let confirmed = match channel
                .basic_publish(
                    "".into(),
                    RPC_QUEUE.into(),
                    BasicPublishOptions::default(),
                    PAYLOAD,
                    props,
                )
                .await
            {
                Ok(confirm) => confirm.await.is_ok_and(|c| c.is_ack()),
                Err(_) => false,
            };
            let status = if confirmed
                && tokio::time::timeout(Duration::from_secs(5), rx)
                    .await
                    .is_ok()
            {
                200
            } else {
                pending.lock().unwrap().remove(&n);
                0
            };
            Answer { status, bytes: 0 }
        })
    });
    let figures = crate::load::run(step, concurrency, warmup, duration, &[200], meter).await;
    let cleanup = conn.create_channel().await.unwrap();
    clean_up(conn, &cleanup, RPC_QUEUE).await;
    let _ = responder_conn.close(200, "done".into()).await;
    figures
}

/// Confirmed persistent publishes, many confirms in flight: how many were confirmed,
/// the rate, and the CPU spent from the first publish to the last confirm.
pub(crate) async fn publish_pipeline(
    url: &str,
    duration: Duration,
    meter: &cpu::Meter,
) -> (u64, f64, cpu::Usage) {
    const IN_FLIGHT: usize = 2_000;
    let conn = connect(url).await;
    let channel = confirmed_channel(&conn, PIPE_QUEUE).await;
    let mut confirms = FuturesUnordered::new();
    let mut confirmed = 0u64;
    let window = Window::open(meter);
    while window.started.elapsed() < duration {
        while confirms.len() < IN_FLIGHT {
            confirms.push(publish_persistent(&channel, PIPE_QUEUE).await);
        }
        if let Some(Ok(c)) = confirms.next().await {
            confirmed += u64::from(c.is_ack());
        }
    }
    while let Some(c) = confirms.next().await {
        confirmed += u64::from(c.is_ok_and(|c| c.is_ack()));
    }
    let measured = window.close(meter, confirmed);
    clean_up(conn, &channel, PIPE_QUEUE).await;
    measured
}

/// The raw drain: `messages` persistent messages queued first (with confirms), then
/// consumed by a trivial consumer with `prefetch` unacked at most, one `multiple` ack
/// per group of deliveries that arrived together. Returns how many were consumed, per
/// second from the subscription to the last ack, and the CPU over that window: the
/// most a consumer of one queue can take from the broker on this machine.
pub(crate) async fn drain(
    url: &str,
    messages: usize,
    prefetch: u16,
    meter: &cpu::Meter,
) -> (u64, f64, cpu::Usage) {
    let conn = connect(url).await;
    let channel = confirmed_channel(&conn, DRAIN_QUEUE).await;
    let mut confirms = FuturesUnordered::new();
    for _ in 0..messages {
        confirms.push(publish_persistent(&channel, DRAIN_QUEUE).await);
        if confirms.len() >= 2_000 {
            confirms.next().await;
        }
    }
    while confirms.next().await.is_some() {}

    let consumer = conn.create_channel().await.unwrap();
    consumer
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .unwrap();
    let window = Window::open(meter);
    let mut deliveries = consumer
        .basic_consume(
            DRAIN_QUEUE.into(),
            "drain".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut consumed = 0u64;
    while consumed < messages as u64 {
        let next = tokio::time::timeout(Duration::from_secs(30), deliveries.next()).await;
        let Ok(Some(Ok(mut last))) = next else { break };
        consumed += 1;
        while let Some(Some(Ok(next))) = deliveries.next().now_or_never() {
            consumed += 1;
            last = next;
        }
        // Not awaited: the next deliveries are taken while the ack is written.
        let _ = consumer
            .basic_ack(last.delivery_tag, BasicAckOptions { multiple: true })
            .now_or_never();
    }
    let measured = window.close(meter, consumed);
    clean_up(conn, &channel, DRAIN_QUEUE).await;
    measured
}

/// A measured window of a raw scenario: when it opened, and the CPU counters then.
struct Window {
    started: std::time::Instant,
    before: cpu::Snapshot,
}

impl Window {
    fn open(meter: &cpu::Meter) -> Window {
        let before = meter.snapshot();
        Window {
            started: std::time::Instant::now(),
            before,
        }
    }

    /// `count` items done in the window: the count, per second, and the CPU spent.
    fn close(self, meter: &cpu::Meter, count: u64) -> (u64, f64, cpu::Usage) {
        let rate = count as f64 / self.started.elapsed().as_secs_f64();
        let usage = meter.usage(&self.before, &meter.snapshot());
        (count, rate, usage)
    }
}

/// Deletes a raw scenario's throwaway queue and closes its connection.
async fn clean_up(conn: Connection, channel: &lapin::Channel, queue: &str) {
    let _ = channel
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await;
    let _ = conn.close(200, "done".into()).await;
}
