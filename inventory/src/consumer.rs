//! The consumer run loop shared by the four consumers, and the one step it repeats.
//!
//! [`handle`] turns one message body into an [`Outcome`]; it is what tests drive.
//! [`run`] owns everything around it: connecting with backoff, declaring the topology,
//! taking deliveries with a bounded prefetch, retrying while the database is down,
//! replying, dead-lettering poison messages, and acking only after the work is committed.

use crate::broker::{self, Backoff};
use crate::message::{Reply, Request};
use crate::record::RecordError;
use crate::settings::Settings;
use crate::shutdown::Shutdown;
use crate::store::{InsertOutcome, ReadOutcome, RecordStore, StoreError};
use crate::topology::{self, Operation};
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Attempts at one message that fail while the database answers pings, before the
/// message is dead-lettered as poison.
pub const MAX_ATTEMPTS: u32 = 5;

/// Most inserts committed in one transaction.
pub const INSERT_BATCH_MAX: usize = 500;

/// What to do with a message after one attempt at it.
#[derive(Debug)]
pub enum Outcome {
    /// Done: send this reply (if the request asked for one) and ack.
    Reply(Reply),
    /// The message can never succeed: move it to the dead-letter queue with `reason`,
    /// tell the caller, and ack.
    DeadLetter { reason: String },
    /// The database is unavailable: keep the delivery and try again after a backoff.
    Retry(StoreError),
}

impl Outcome {
    fn dead_letter(reason: impl Into<String>) -> Outcome {
        Outcome::DeadLetter {
            reason: reason.into(),
        }
    }
}

/// One attempt at one message: decode, check, and do this queue's database operation.
///
/// `request_id` is the message id; an insert stores it so that a redelivery of the same
/// request is recognised. `store` is `None` only for the health-check consumer.
pub async fn handle(
    op: Operation,
    store: Option<&RecordStore>,
    body: &[u8],
    request_id: Option<&str>,
) -> Outcome {
    let request = match Request::decode(body) {
        Ok(request) => request,
        Err(e) => return Outcome::dead_letter(e.to_string()),
    };
    if request.operation() != op {
        return Outcome::dead_letter(format!(
            "a {} request does not belong on the {} queue",
            request.operation(),
            op.queue()
        ));
    }
    if let Request::HealthCheck { message } = request {
        return Outcome::Reply(Reply::HealthOk {
            message,
            consumer: op.consumer_name().into(),
        });
    }
    let Some(store) = store else {
        return Outcome::Reply(Reply::Failed {
            detail: format!("{} has no database", op.consumer_name()),
        });
    };
    let result = match request {
        Request::HealthCheck { .. } => unreachable!("answered above"),
        Request::InsertRecord { record } => {
            if let Err(e) = record.validate() {
                return invalid(e);
            }
            store
                .insert(&record, request_id)
                .await
                .map(|outcome| match outcome {
                    InsertOutcome::Inserted(record) => Reply::Inserted { record },
                    InsertOutcome::AlreadyExists(record) => Reply::AlreadyExists { record },
                })
        }
        Request::DeleteRecord { srn } => store.delete(&srn).await.map(|deleted| match deleted {
            Some(record) => Reply::Deleted { record },
            None => Reply::NotFound { srn },
        }),
        Request::ReadRecord { srn } => store.get(&srn).await.map(|found| match found {
            Some(record) => Reply::Record { record },
            None => Reply::NotFound { srn },
        }),
        Request::ReadDatabase {
            after,
            limit,
            known_version,
        } => store
            .read(after.as_ref(), limit, known_version.as_ref())
            .await
            .map(|read| match read {
                ReadOutcome::Unchanged(version) => Reply::Unchanged { version },
                ReadOutcome::Records {
                    records,
                    next_after,
                    version,
                } => Reply::Records {
                    records,
                    next_after,
                    version,
                },
            }),
    };
    match result {
        Ok(reply) => Outcome::Reply(reply),
        Err(e) if e.is_transient() => Outcome::Retry(e),
        Err(e) => Outcome::dead_letter(e.to_string()),
    }
}

fn invalid(e: RecordError) -> Outcome {
    Outcome::dead_letter(e.to_string())
}

/// Runs a consumer until `shutdown`: connects (and reconnects) with bounded backoff,
/// then serves its queue. On shutdown it stops taking deliveries, finishes and acks the
/// ones in hand (up to the grace period), and closes its channel, connection and pool.
pub async fn run(
    op: Operation,
    settings: Settings,
    store: Option<RecordStore>,
    shutdown: Shutdown,
) {
    let mut backoff = Backoff::new();
    let name = op.consumer_name();
    while !shutdown.is_triggered() {
        let conn = match broker::connect_with(&settings.amqp_url, name, &settings.tls).await {
            Ok(conn) => conn,
            Err(e) => {
                log::warn!(
                    "{name}: cannot reach broker at {}: {e}; retrying",
                    settings.amqp_url_redacted()
                );
                if !backoff.sleep(&shutdown).await {
                    break;
                }
                continue;
            }
        };
        match serve(
            &conn,
            op,
            &settings,
            store.as_ref(),
            &shutdown,
            &mut backoff,
        )
        .await
        {
            Ok(()) => {
                let _ = conn.close(200, "consumer shutting down".into()).await;
                break;
            }
            Err(e) => {
                log::warn!("{name}: broker connection lost: {e}; reconnecting");
                let _ = conn.close(200, "reconnecting".into()).await;
                if !backoff.sleep(&shutdown).await {
                    break;
                }
            }
        }
    }
    if let Some(store) = store {
        store.close().await;
    }
    log::info!("{name}: stopped");
}

async fn serve(
    conn: &Connection,
    op: Operation,
    settings: &Settings,
    store: Option<&RecordStore>,
    shutdown: &Shutdown,
    backoff: &mut Backoff,
) -> Result<(), ServeError> {
    let name = op.consumer_name();
    let channel = conn.create_channel().await?;
    topology::declare_topology(&channel, settings.queue_type).await?;
    channel
        .basic_qos(settings.prefetch, BasicQosOptions::default())
        .await?;
    // Dead letters go through a confirmed channel: a poison message is acked only
    // once the broker has the copy. Replies use the work channel, unconfirmed, because
    // a lost reply costs a timeout, never data.
    let dead_letters = conn.create_channel().await?;
    dead_letters
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let tag = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    let mut deliveries = channel
        .basic_consume(
            op.queue().into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    backoff.reset();
    log::info!(
        "{name}: consuming queue {} (prefetch {})",
        op.queue(),
        settings.prefetch
    );

    // Database work is bounded by the pool; more concurrent tasks would only queue for
    // connections and time out as if the database were down. Inserts go in batches, one
    // at a time, so that one `multiple` ack can settle a whole batch.
    let batched = op == Operation::InsertRecord && store.is_some();
    let concurrency = if batched {
        1
    } else if store.is_some() {
        settings.db_pool_max
    } else {
        usize::from(settings.prefetch)
    };
    // A batch takes at most half the prefetch window, so that while one batch commits
    // the broker is already delivering the next: the consumer never waits on the wire.
    let batch_max = (usize::from(settings.prefetch) / 2).clamp(1, INSERT_BATCH_MAX);
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let result = loop {
        tokio::select! {
            _ = shutdown.wait() => break Ok(()),
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            next = deliveries.next() => match next {
                Some(Ok(delivery)) => {
                    let permit = tokio::select! {
                        permit = permits.clone().acquire_owned() => permit.expect("semaphore never closed"),
                        _ = shutdown.wait() => {
                            // Not started: leave it unacked; closing the channel requeues it.
                            break Ok(());
                        }
                    };
                    let worker = Worker {
                        op,
                        store: store.cloned(),
                        channel: channel.clone(),
                        dead_letters: dead_letters.clone(),
                        shutdown: shutdown.clone(),
                    };
                    if batched {
                        // Everything that arrived while the last batch was committing.
                        let mut batch = vec![delivery];
                        let mut failed = None;
                        while batch.len() < batch_max {
                            match deliveries.next().now_or_never() {
                                Some(Some(Ok(next))) => batch.push(next),
                                Some(Some(Err(e))) => {
                                    failed = Some(e);
                                    break;
                                }
                                Some(None) | None => break,
                            }
                        }
                        tasks.spawn(async move {
                            let writes = worker.process_batch(batch).await;
                            // The next batch may start now: its ack is queued after ours.
                            drop(permit);
                            writes.written().await;
                        });
                        if let Some(e) = failed {
                            break Err(e.into());
                        }
                    } else {
                        tasks.spawn(async move {
                            let mut writes = Writes::default();
                            worker.process(delivery, &mut writes).await;
                            drop(permit);
                            writes.written().await;
                        });
                    }
                }
                Some(Err(e)) => break Err(e.into()),
                None => break Err(ServeError::ConsumerEnded),
            },
        }
    };
    if result.is_ok() {
        // Stop new deliveries first, then let the ones in hand finish and ack.
        let _ = channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await;
        let drained = tokio::time::timeout(settings.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            log::warn!("{name}: grace period over with work in hand; it will be redelivered");
        }
        let _ = channel.close(200, "shutting down".into()).await;
        let _ = dead_letters.close(200, "shutting down".into()).await;
    }
    result
}

/// Why serving a queue stopped before shutdown; the run loop reconnects after either.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the delivery stream ended (connection closed or consumer cancelled by the broker)")]
    ConsumerEnded,
}

/// Broker writes (replies, acks) already queued on lapin's I/O loop, in the order they
/// were made, and not yet confirmed written. Making a write never waits for an earlier
/// one: waiting for each in turn costs a round trip to the I/O thread per message.
#[derive(Default)]
struct Writes(Vec<Pin<Box<dyn Future<Output = ()> + Send>>>);

impl Writes {
    /// Polls `write` once, which queues its frames behind every earlier write on the
    /// same channel (lapin queues them on the first poll), and keeps it until written.
    fn queue(&mut self, write: impl Future<Output = ()> + Send + 'static) {
        let mut write = Box::pin(write);
        if (&mut write).now_or_never().is_none() {
            self.0.push(write);
        }
    }

    /// Waits until every queued write has gone to the socket (or failed, logged).
    async fn written(self) {
        futures_util::future::join_all(self.0).await;
    }
}

/// Everything one delivery's task needs.
struct Worker {
    op: Operation,
    store: Option<RecordStore>,
    channel: Channel,
    dead_letters: Channel,
    shutdown: Shutdown,
}

impl Worker {
    /// One message, start to finish; its reply and ack are queued on `writes`. Returns
    /// whether it was settled (acked or nacked); `false` means it was left for the
    /// broker to requeue (shutdown during a retry).
    async fn process(&self, delivery: Delivery, writes: &mut Writes) -> bool {
        let name = self.op.consumer_name();
        let request_id = request_id_of(&delivery.properties);
        let id = request_id.as_deref().unwrap_or("-");
        let mut backoff = Backoff::new();
        let mut failures_while_database_up = 0;
        let outcome = loop {
            let attempt = handle(
                self.op,
                self.store.as_ref(),
                &delivery.data,
                request_id.as_deref(),
            );
            // A panic is a bug this message triggers: dead-letter it rather than let it
            // hold a prefetch slot unacked, or crash-loop on redelivery.
            let outcome = match AssertUnwindSafe(attempt).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => {
                    Outcome::dead_letter(format!("consumer panicked: {}", panic_message(&panic)))
                }
            };
            match outcome {
                Outcome::Retry(e) => {
                    // An outage is waited out however long it lasts; a message that keeps
                    // failing while the database answers is the message's fault.
                    if self.database_answers().await {
                        failures_while_database_up += 1;
                        if failures_while_database_up >= MAX_ATTEMPTS {
                            break Outcome::dead_letter(format!(
                                "failed {MAX_ATTEMPTS} times while the database was up; last error: {e}"
                            ));
                        }
                    }
                    log::warn!("{name}: id={id} database unavailable, will retry: {e}");
                    if !backoff.sleep(&self.shutdown).await {
                        // Leave it unacked: it is requeued when the channel closes.
                        return false;
                    }
                }
                outcome => break outcome,
            }
        };
        match outcome {
            Outcome::Reply(reply) => {
                log::info!("{name}: id={id} {}", describe(&reply));
                self.reply(&delivery, &reply, writes);
                self.ack(delivery.delivery_tag, false, id, writes);
            }
            Outcome::DeadLetter { reason } => {
                log::warn!("{name}: id={id} dead-lettered: {reason}");
                if self.dead_letter(&delivery, &reason).await {
                    self.reply(&delivery, &Reply::Invalid { detail: reason }, writes);
                    self.ack(delivery.delivery_tag, false, id, writes);
                } else if let Err(e) = delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await
                {
                    log::warn!("{name}: id={id} nack failed: {e}");
                }
            }
            Outcome::Retry(_) => unreachable!("retried above"),
        }
        true
    }

    /// Inserts committed together: one transaction for the batch, a reply per message
    /// with its own outcome, then one `multiple` ack, all queued on the returned writes.
    /// Messages that are not valid inserts take the one-message path first; if the
    /// batch itself keeps failing while the database answers, each message takes that
    /// path, which isolates the one at fault.
    async fn process_batch(&self, deliveries: Vec<Delivery>) -> Writes {
        let name = self.op.consumer_name();
        let mut writes = Writes::default();
        // The valid inserts: their deliveries, and the rows to store, in the same order.
        let mut held = Vec::with_capacity(deliveries.len());
        let mut batch = Vec::with_capacity(deliveries.len());
        let mut earlier_settled = true;
        for delivery in deliveries {
            match Request::decode(&delivery.data) {
                Ok(Request::InsertRecord { record }) if record.validate().is_ok() => {
                    batch.push((record, request_id_of(&delivery.properties)));
                    held.push(delivery);
                }
                _ => earlier_settled &= self.process(delivery, &mut writes).await,
            }
        }
        let Some(store) = self.store.as_ref().filter(|_| !batch.is_empty()) else {
            return writes;
        };
        let mut backoff = Backoff::new();
        let mut failures_while_database_up = 0;
        let outcomes = loop {
            match store.insert_batch(&batch).await {
                Ok(outcomes) => break Some(outcomes),
                Err(e) if e.is_transient() => {
                    if self.database_answers().await {
                        failures_while_database_up += 1;
                        if failures_while_database_up >= MAX_ATTEMPTS {
                            break None;
                        }
                    }
                    log::warn!(
                        "{name}: batch of {} waits for the database: {e}",
                        batch.len()
                    );
                    if !backoff.sleep(&self.shutdown).await {
                        return writes; // unacked: requeued when the channel closes
                    }
                }
                Err(e) => {
                    log::warn!("{name}: batch of {} refused ({e}); one by one", batch.len());
                    break None;
                }
            }
        };
        let Some(outcomes) = outcomes else {
            for delivery in held {
                self.process(delivery, &mut writes).await;
            }
            return writes;
        };
        for ((delivery, (_, id)), outcome) in held.iter().zip(&batch).zip(outcomes) {
            let reply = match outcome {
                InsertOutcome::Inserted(record) => Reply::Inserted { record },
                InsertOutcome::AlreadyExists(record) => Reply::AlreadyExists { record },
            };
            log::info!(
                "{name}: id={} {}",
                id.as_deref().unwrap_or("-"),
                describe(&reply)
            );
            self.reply(delivery, &reply, &mut writes);
        }
        let id = |i: usize| batch[i].1.as_deref().unwrap_or("-");
        if earlier_settled {
            // Batches run one at a time and every earlier delivery is settled: one ack
            // with `multiple` covers the batch.
            let last = held.len() - 1;
            self.ack(held[last].delivery_tag, true, id(last), &mut writes);
        } else {
            for (i, delivery) in held.iter().enumerate() {
                self.ack(delivery.delivery_tag, false, id(i), &mut writes);
            }
        }
        writes
    }

    async fn database_answers(&self) -> bool {
        match &self.store {
            Some(store) => store.ping().await.is_ok(),
            None => true,
        }
    }

    /// Queues the reply, if the request asked for one. A lost reply costs the caller a
    /// timeout, never data, so replies go unconfirmed.
    fn reply(&self, delivery: &Delivery, reply: &Reply, writes: &mut Writes) {
        let props = &delivery.properties;
        let Some(reply_to) = props.reply_to().clone() else {
            return;
        };
        let mut reply_props =
            BasicProperties::default().with_content_type("application/json".into());
        if let Some(cid) = props.correlation_id() {
            reply_props = reply_props.with_correlation_id(cid.clone());
        }
        let (channel, body, name) = (
            self.channel.clone(),
            reply.encode(),
            self.op.consumer_name(),
        );
        writes.queue(async move {
            let sent = channel
                .basic_publish(
                    "".into(),
                    reply_to.clone(),
                    BasicPublishOptions::default(),
                    &body,
                    reply_props,
                )
                .await;
            if let Err(e) = sent {
                log::warn!("{name}: reply to {reply_to} not sent: {e}");
            }
        });
    }

    /// Queues the ack of `tag` (and, with `multiple`, of every earlier delivery).
    fn ack(&self, tag: u64, multiple: bool, id: &str, writes: &mut Writes) {
        let (channel, name, id) = (self.channel.clone(), self.op.consumer_name(), id.to_owned());
        writes.queue(async move {
            if let Err(e) = channel.basic_ack(tag, BasicAckOptions { multiple }).await {
                // The work is committed; a redelivery is recognised by its message id.
                log::warn!("{name}: id={id} ack failed: {e}");
            }
        });
    }

    /// Copies the message to the dead-letter exchange with the reason in a header.
    /// Returns whether the broker confirmed the copy.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> bool {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(
            topology::REASON_HEADER.into(),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert(
            topology::ORIGIN_HEADER.into(),
            AMQPValue::LongString(self.op.queue().into()),
        );
        let props = delivery.properties.clone().with_headers(headers);
        let confirm = match self
            .dead_letters
            .basic_publish(
                topology::DEAD_LETTER_EXCHANGE.into(),
                self.op.routing_key().into(),
                BasicPublishOptions::default(),
                &delivery.data,
                props,
            )
            .await
        {
            Ok(confirm) => confirm.await,
            Err(e) => Err(e),
        };
        match confirm {
            Ok(c) if c.is_ack() => true,
            other => {
                log::warn!(
                    "{}: dead letter not confirmed ({other:?}); message requeued",
                    self.op.consumer_name()
                );
                false
            }
        }
    }
}

/// The message id (or, failing that, the correlation id) that identifies a request.
fn request_id_of(props: &BasicProperties) -> Option<String> {
    props
        .message_id()
        .as_ref()
        .or(props.correlation_id().as_ref())
        .map(|id| id.as_str().to_owned())
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

fn describe(reply: &Reply) -> String {
    match reply {
        Reply::HealthOk { message, .. } => format!("health check acked: {message:?}"),
        Reply::Inserted { record } => format!("srn={} inserted", record.srn),
        Reply::AlreadyExists { record } => format!("srn={} already exists", record.srn),
        Reply::Deleted { record } => format!("srn={} deleted", record.srn),
        Reply::NotFound { srn } => format!("srn={srn} not found"),
        Reply::Record { record } => format!("srn={} read", record.srn),
        Reply::Records { records, .. } => format!("read {} records", records.len()),
        Reply::Unchanged { version } => format!("table unchanged at version {version}"),
        Reply::Invalid { detail } => format!("invalid: {detail}"),
        Reply::Failed { detail } => format!("failed: {detail}"),
    }
}

/// `main` of every consumer: settings, logging, pool, migration, run until a signal.
///
/// Exits the process with status 2 on invalid settings.
pub async fn main(op: Operation) {
    env_logger_init();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            log::error!("{}: {e}", op.consumer_name());
            std::process::exit(2);
        }
    };
    // A broker or database that fails TLS verification stops the process here.
    let database = op != Operation::HealthCheck;
    if let Err(e) = crate::tls::check_peers(&settings, op.consumer_name(), database).await {
        log::error!("{}: {e}; not starting", op.consumer_name());
        std::process::exit(2);
    }
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let store = if op == Operation::HealthCheck {
        None
    } else {
        match prepare_store(&settings, &shutdown).await {
            Some(store) => Some(store),
            None => return,
        }
    };
    run(op, settings, store, shutdown).await;
}

/// Builds the pool and migrates (as `MIGRATION_DATABASE_URL` when set), retrying while
/// the database is down. Returns `None` if shutdown came first; exits with status 2 on
/// a bad URL.
pub async fn prepare_store(settings: &Settings, shutdown: &Shutdown) -> Option<RecordStore> {
    let open = |url: &str, pool_max: usize| match RecordStore::with_tls(
        url,
        pool_max,
        settings.db_connect_timeout,
        &settings.tls,
    ) {
        Ok(store) => store,
        Err(e) => {
            log::error!("{e}");
            std::process::exit(2);
        }
    };
    let store = open(&settings.database_url, settings.db_pool_max);
    let migrator = settings
        .migration_database_url
        .as_deref()
        .map(|url| open(url, 1));
    let mut backoff = Backoff::new();
    loop {
        match migrator.as_ref().unwrap_or(&store).migrate().await {
            Ok(()) => break,
            Err(e) => {
                log::warn!(
                    "database at {} not ready: {e}; retrying",
                    settings.database_url_redacted()
                );
                if !backoff.sleep(shutdown).await {
                    return None;
                }
            }
        }
    }
    if let Some(migrator) = migrator {
        migrator.close().await;
    }
    Some(store)
}

fn env_logger_init() {
    // `info` by default: one line per message outcome is the consumers' audit trail.
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env).try_init();
}
