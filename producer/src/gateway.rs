//! The producer's side of request-reply over RabbitMQ.
//!
//! One supervised connection per process: a task connects (with backoff), declares the
//! topology, enables publisher confirms, and consumes RabbitMQ's direct reply-to
//! pseudo-queue on the same channel it publishes on (direct reply-to requires that).
//! Each [`Gateway::call`] publishes a persistent, mandatory message with a fresh id and
//! waits for the broker's confirm, then for the consumer's reply with that id.
//! While the connection is down, calls fail at once with `Unavailable`; waiters of a
//! lost connection are woken with `Unavailable` rather than left to time out.

use crate::body::QueueStats;
use crate::metrics::Metrics;
use futures_util::StreamExt;
use inventory::broker::{self, Backoff};
use inventory::message::{Reply, Request};
use inventory::shutdown::Shutdown;
use inventory::topology::{self, Operation};
use inventory::Settings;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, watch, Semaphore};

/// AMQP delivery mode 2: the broker writes the message to disk on a durable queue.
const PERSISTENT: u8 = 2;
/// Delivery mode 1: kept in memory only.
const TRANSIENT: u8 = 1;

/// Why a call produced no reply.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Not connected, the connection dropped mid-call, or the broker refused the message.
    #[error("message broker unavailable: {0}")]
    Unavailable(String),
    /// The exchange has no queue bound for this routing key (mandatory publish returned).
    #[error("no queue is bound for routing key {0}")]
    Unroutable(Operation),
    /// The broker confirmed the message, but no reply came in time.
    #[error("no reply from {consumer} within {} ms", .after.as_millis())]
    Timeout {
        consumer: &'static str,
        after: Duration,
    },
    /// `MAX_IN_FLIGHT` calls are already waiting.
    #[error("{0} requests are already waiting on the broker; try again shortly")]
    Overloaded(usize),
    /// A reply arrived that could not be read.
    #[error("unreadable reply from {consumer}: {detail}")]
    BadReply {
        consumer: &'static str,
        detail: String,
    },
}

/// A consumer's reply with what it took.
#[derive(Debug)]
pub struct Answer {
    pub reply: Reply,
    pub request_id: String,
    /// From publish to reply, including the broker's confirm.
    pub round_trip: Duration,
}

/// A consumer's reply as it arrived, not yet decoded: callers that pass part of it on
/// to the client (reads) decode only what they need.
#[derive(Debug)]
pub struct RawAnswer {
    pub body: Vec<u8>,
    pub request_id: String,
    pub round_trip: Duration,
}

type Pending = Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>;

struct Inner {
    /// The live channel, or `None` while (re)connecting.
    channel: RwLock<Option<Channel>>,
    /// Its connection, for short-lived channels (passive declares can close a channel).
    connection: RwLock<Option<Arc<Connection>>>,
    metrics: Arc<Metrics>,
    /// Callers waiting for a reply, by correlation id.
    pending: Pending,
    connected: watch::Sender<bool>,
    /// Bounds `pending`: one permit per call in flight.
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    publish_timeout: Duration,
    reply_timeout: Duration,
    queue_type: topology::QueueType,
}

/// Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

/// Removes a waiter from the pending map however the call ends (reply, timeout,
/// or the HTTP client going away), so abandoned calls leave nothing behind.
struct PendingGuard<'a> {
    pending: &'a Pending,
    id: &'a str,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(self.pending).remove(self.id);
    }
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Vec<u8>>>> {
    // A panic while holding this lock cannot leave the map inconsistent: keep going.
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gateway {
    /// Starts the supervisor task and returns at once; calls fail with `Unavailable`
    /// until the first connection is up (see [`Gateway::wait_connected`]).
    pub fn start(settings: &Settings, shutdown: Shutdown, metrics: Arc<Metrics>) -> Gateway {
        let (connected, _) = watch::channel(false);
        let gateway = Gateway {
            inner: Arc::new(Inner {
                channel: RwLock::new(None),
                connection: RwLock::new(None),
                metrics,
                pending: Mutex::new(HashMap::new()),
                connected,
                in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
                max_in_flight: settings.max_in_flight,
                publish_timeout: settings.publish_timeout,
                reply_timeout: settings.reply_timeout,
                queue_type: settings.queue_type,
            }),
        };
        tokio::spawn(gateway.clone().supervise(settings.clone(), shutdown));
        gateway
    }

    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// Waits up to `limit` for the broker connection. Returns whether it is up.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let mut rx = self.inner.connected.subscribe();
        let connected = tokio::time::timeout(limit, rx.wait_for(|up| *up)).await;
        matches!(connected, Ok(Ok(_)))
    }

    /// Calls waiting for a reply right now.
    pub fn in_flight(&self) -> usize {
        lock(&self.inner.pending).len()
    }

    pub fn reply_timeout(&self) -> Duration {
        self.inner.reply_timeout
    }

    /// Publishes `request` to its queue and waits for the consumer's reply.
    ///
    /// Fails with `Unavailable` (not connected, not confirmed, connection lost),
    /// `Unroutable` (no queue bound), `Timeout` (confirmed, no reply in time) or
    /// `BadReply`.
    pub async fn call(&self, request: &Request) -> Result<Answer, GatewayError> {
        let raw = self.call_raw(request).await?;
        let consumer = request.operation().consumer_name();
        let reply = Reply::decode(&raw.body).map_err(|e| GatewayError::BadReply {
            consumer,
            detail: e.to_string(),
        })?;
        self.count_reply(consumer, reply.outcome());
        Ok(Answer {
            reply,
            request_id: raw.request_id,
            round_trip: raw.round_trip,
        })
    }

    /// Counts a consumer's reply by outcome (for `/metrics`), once the caller has read it.
    pub fn count_reply(&self, consumer: &str, outcome: &str) {
        self.inner
            .metrics
            .consumer_replies
            .with_label_values(&[consumer, outcome])
            .inc();
    }

    /// Like [`Gateway::call`], but returns the reply undecoded; the caller decodes it
    /// and counts it with [`Gateway::count_reply`].
    pub async fn call_raw(&self, request: &Request) -> Result<RawAnswer, GatewayError> {
        let op = request.operation();
        let _permit = self
            .inner
            .in_flight
            .try_acquire()
            .map_err(|_| GatewayError::Overloaded(self.inner.max_in_flight))?;
        let channel = self
            .inner
            .channel
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                GatewayError::Unavailable(
                    "not connected to the broker; retrying in the background".into(),
                )
            })?;
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending).insert(id.clone(), tx);
        let _guard = PendingGuard {
            pending: &self.inner.pending,
            id: &id,
        };
        let started = Instant::now();
        // Writes must survive a broker restart. A health check or a read need not: after
        // a restart nobody waits for its answer any more, so it skips the disk.
        let mode = if op.is_write() { PERSISTENT } else { TRANSIENT };
        let mut props = BasicProperties::default()
            .with_delivery_mode(mode)
            .with_content_type("application/json".into())
            .with_message_id(id.as_str().into())
            .with_correlation_id(id.as_str().into())
            .with_reply_to(topology::REPLY_TO.into())
            .with_app_id("producer".into())
            .with_timestamp(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            );
        if !op.is_write() {
            // Nobody will read the answer after the caller has given up.
            props = props.with_expiration(self.inner.reply_timeout.as_millis().to_string().into());
        }
        let body = request.encode();
        let publish = async {
            channel
                .basic_publish(
                    topology::EXCHANGE.into(),
                    op.routing_key().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &body,
                    props,
                )
                .await?
                .await
        };
        let confirmation = tokio::time::timeout(self.inner.publish_timeout, publish)
            .await
            .map_err(|_| {
                GatewayError::Unavailable(format!(
                    "broker did not confirm within {} ms",
                    self.inner.publish_timeout.as_millis()
                ))
            })?
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let metrics = &self.inner.metrics;
        metrics
            .confirm_duration
            .with_label_values(&[op.routing_key()])
            .observe(started.elapsed().as_secs_f64());
        match confirmation {
            Confirmation::Ack(None) => {}
            Confirmation::Ack(Some(_returned)) => return Err(GatewayError::Unroutable(op)),
            Confirmation::Nack(_) => {
                return Err(GatewayError::Unavailable(
                    "broker refused the message (nack)".into(),
                ))
            }
            // Without confirms nothing proves the broker has the message: never a 2xx.
            Confirmation::NotRequested => {
                return Err(GatewayError::Unavailable(
                    "publish was not confirmed".into(),
                ))
            }
        }
        let remaining = self.inner.reply_timeout.saturating_sub(started.elapsed());
        let consumer = op.consumer_name();
        let reply = match tokio::time::timeout(remaining, rx).await {
            Err(_) => {
                metrics.reply_timeouts.with_label_values(&[consumer]).inc();
                return Err(GatewayError::Timeout {
                    consumer: op.consumer_name(),
                    after: self.inner.reply_timeout,
                });
            }
            Ok(Err(_)) => {
                return Err(GatewayError::Unavailable(
                    "broker connection lost while waiting for the reply".into(),
                ))
            }
            Ok(Ok(body)) => body,
        };
        metrics
            .reply_duration
            .with_label_values(&[consumer])
            .observe(started.elapsed().as_secs_f64());
        Ok(RawAnswer {
            body: reply,
            request_id: id.clone(),
            round_trip: started.elapsed(),
        })
    }

    async fn supervise(self, settings: Settings, shutdown: Shutdown) {
        let mut backoff = Backoff::new();
        loop {
            match self
                .session(&settings.amqp_url, &settings.tls, &shutdown, &mut backoff)
                .await
            {
                Ok(()) => break,
                Err(e) => log::warn!(
                    "producer: broker at {}: {e}; reconnecting",
                    settings.amqp_url_redacted()
                ),
            }
            self.disconnected();
            if !backoff.sleep(&shutdown).await {
                break;
            }
        }
        self.disconnected();
    }

    /// One connection's life. `Ok` only on shutdown.
    async fn session(
        &self,
        url: &str,
        tls: &inventory::tls::ClientTls,
        shutdown: &Shutdown,
        backoff: &mut Backoff,
    ) -> Result<(), SessionError> {
        let conn = Arc::new(broker::connect_with(url, "producer", tls).await?);
        *self
            .inner
            .connection
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
        let result = self.serve(&conn, shutdown, backoff).await;
        let _ = conn.close(200, "producer closing".into()).await;
        result
    }

    async fn serve(
        &self,
        conn: &Connection,
        shutdown: &Shutdown,
        backoff: &mut Backoff,
    ) -> Result<(), SessionError> {
        let channel = conn.create_channel().await?;
        topology::declare_topology(&channel, self.inner.queue_type).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let mut replies = channel
            .basic_consume(
                topology::REPLY_TO.into(),
                "producer-replies".into(),
                BasicConsumeOptions {
                    // Direct reply-to deliveries are never acked.
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        *self
            .inner
            .channel
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(channel.clone());
        self.inner.connected.send_replace(true);
        backoff.reset();
        log::info!("producer: connected to the broker; topology declared");
        loop {
            tokio::select! {
                _ = shutdown.wait() => return Ok(()),
                next = replies.next() => match next {
                    Some(Ok(delivery)) => self.deliver(delivery),
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(SessionError::RepliesEnded),
                },
            }
        }
    }

    /// Messages and consumers per queue, by passive declare on a throwaway channel (a
    /// missing queue closes the channel it is asked on). Also sets the queue gauges.
    ///
    /// Fails with `Unavailable` while disconnected or if the broker refuses.
    pub async fn queue_stats(&self) -> Result<BTreeMap<String, QueueStats>, GatewayError> {
        let conn = self
            .inner
            .connection
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| GatewayError::Unavailable("not connected to the broker".into()))?;
        let unavailable = |e: lapin::Error| GatewayError::Unavailable(e.to_string());
        let channel = conn.create_channel().await.map_err(unavailable)?;
        let mut stats = BTreeMap::new();
        for op in Operation::ALL {
            let queue = channel
                .queue_declare(
                    op.queue().into(),
                    QueueDeclareOptions::default().passive(),
                    FieldTable::default(),
                )
                .await
                .map_err(unavailable)?;
            let metrics = &self.inner.metrics;
            metrics
                .queue_messages
                .with_label_values(&[op.queue()])
                .set(i64::from(queue.message_count()));
            metrics
                .queue_consumers
                .with_label_values(&[op.queue()])
                .set(i64::from(queue.consumer_count()));
            stats.insert(
                op.queue().to_owned(),
                QueueStats {
                    messages: queue.message_count(),
                    consumers: queue.consumer_count(),
                },
            );
        }
        let _ = channel.close(200, "stats read".into()).await;
        Ok(stats)
    }

    /// Hands a reply to its caller. Decoding is the caller's: this task serves every
    /// reply of the process, the callers run in parallel.
    fn deliver(&self, delivery: lapin::message::Delivery) {
        let Some(id) = delivery.properties.correlation_id() else {
            log::warn!("producer: reply without correlation id dropped");
            return;
        };
        let waiter = lock(&self.inner.pending).remove(id.as_str());
        match waiter {
            Some(tx) => {
                let _ = tx.send(delivery.data);
            }
            None => log::info!("producer: id={id} reply arrived after its caller gave up"),
        }
    }

    fn disconnected(&self) {
        *self
            .inner
            .channel
            .write()
            .unwrap_or_else(|p| p.into_inner()) = None;
        self.inner.connected.send_replace(false);
        // Dropping the senders wakes every waiter with `Unavailable` now, not at timeout.
        lock(&self.inner.pending).clear();
    }
}

/// Why a connection's life ended before shutdown; the supervisor reconnects after either.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the reply consumer ended (connection or channel closed)")]
    RepliesEnded,
}
