//! Working one delivery, or one batch of them, to the end: decode, call the handler,
//! retry what may succeed later, verify what may have been committed, dead-letter what
//! never will, and queue the reply and the ack.

use super::settle::{meta_of, Settler, Writes};
use crate::broker::Backoff;
use crate::handler::{Failure, Handler, Message};
use crate::shutdown::Shutdown;
use futures_util::FutureExt;
use lapin::message::Delivery;
use protocol::message::QueueRequest;
use protocol::{Reply, Request};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::SystemTime;

/// Attempts at one message (or batch) that fail while the handler's dependencies
/// answer, before it is taken for poison.
pub const MAX_ATTEMPTS: u32 = 5;

/// Everything a delivery's task needs; shared by all of one connection's tasks.
pub(crate) struct Job<H> {
    pub(crate) handler: std::sync::Arc<H>,
    pub(crate) settler: Settler,
    pub(crate) shutdown: Shutdown,
    /// Jobs run one at a time, so one `multiple` ack may settle a batch.
    pub(crate) one_at_a_time: bool,
}

/// What became of a delivery.
enum Decoded<I> {
    Work(Message<I>),
    /// Not a request of this queue: dead-letter with this reason.
    Poison(String),
    /// A read or health check whose caller stopped waiting.
    Expired,
}

impl<H: Handler> Job<H> {
    fn decode(&self, delivery: &Delivery) -> Decoded<H::Input> {
        let request = match Request::decode(&delivery.data) {
            Ok(request) => request,
            Err(e) => return Decoded::Poison(e.to_string()),
        };
        let input = match H::Input::try_from(request) {
            Ok(input) => input,
            Err(other) => {
                return Decoded::Poison(format!(
                    "a {} request does not belong on the {} queue",
                    other.operation(),
                    H::Input::OPERATION.queue()
                ))
            }
        };
        let meta = meta_of(delivery, &self.settler.channel);
        // Writes are done whoever waits for them; a read nobody waits for is not.
        if !H::Input::OPERATION.is_write() && meta.expired(SystemTime::now()) {
            return Decoded::Expired;
        }
        Decoded::Work(Message { input, meta })
    }

    /// One delivery, start to finish; its reply and ack are queued on `writes`. Returns
    /// whether it was settled; `false` means it was left for the broker to requeue
    /// (shutdown while it waited to be retried).
    pub(crate) async fn process(&self, delivery: Delivery, writes: &mut Writes) -> bool {
        match self.decode(&delivery) {
            Decoded::Work(message) => self.process_message(&delivery, &message, writes).await,
            Decoded::Poison(reason) => self.poison(&delivery, &reason, writes).await,
            Decoded::Expired => {
                let id = delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map_or("-", |i| i.as_str());
                log::info!(
                    "{}: id={id} expired before it was read; dropped",
                    self.name()
                );
                self.settler.ack(delivery.delivery_tag, false, id, writes);
                true
            }
        }
    }

    async fn process_message(
        &self,
        delivery: &Delivery,
        message: &Message<H::Input>,
        writes: &mut Writes,
    ) -> bool {
        let id = id_of(message);
        let mut backoff = Backoff::new();
        let mut failures_while_up = 0;
        // Set once an attempt's outcome is unknown: every later attempt verifies first.
        let mut unknown: Option<Option<Box<Reply>>> = None;
        let reply = loop {
            let result = if let Some(if_committed) = &unknown {
                match self
                    .guarded(self.handler.verify(message, if_committed.as_deref()))
                    .await
                {
                    Ok(Some(reply)) => Ok(reply),
                    Ok(None) => self.guarded(self.handler.handle(message)).await,
                    Err(failure) => Err(failure),
                }
            } else {
                self.guarded(self.handler.handle(message)).await
            };
            let failure = match result {
                Ok(reply) => break reply,
                Err(Failure::Permanent(reason)) => {
                    return self.poison(delivery, &reason, writes).await
                }
                Err(failure) => failure,
            };
            if let Failure::Unknown { if_committed, .. } = &failure {
                unknown = Some(if_committed.clone());
            }
            if let Some(reason) = self.count_failure(&failure, &mut failures_while_up).await {
                return self.poison(delivery, &reason, writes).await;
            }
            log::warn!("{}: id={id} will retry: {failure}", self.name());
            if !backoff.sleep(&self.shutdown).await {
                return false; // unacked: requeued when the channel closes
            }
        };
        log::info!("{}: id={id} {}", self.name(), describe(&reply));
        let parts = message.meta.parts_count();
        self.settler.reply(delivery, &reply, parts, writes);
        self.settler.ack(delivery.delivery_tag, false, id, writes);
        true
    }

    /// Counts a failed attempt. An outage is waited out however long it lasts; a message
    /// that keeps failing while the handler's dependencies answer is the message's
    /// fault: returns the reason to dead-letter it.
    async fn count_failure(
        &self,
        failure: &Failure,
        failures_while_up: &mut u32,
    ) -> Option<String> {
        if self.handler.dependencies_answer().await {
            *failures_while_up += 1;
            if *failures_while_up >= MAX_ATTEMPTS {
                return Some(format!(
                    "failed {MAX_ATTEMPTS} times while the database was up; last error: {failure}"
                ));
            }
        }
        None
    }

    /// Several deliveries as one unit of work (see [`Handler::handle_batch`]): one reply
    /// each, then one `multiple` ack when nothing earlier is unsettled. Deliveries that
    /// are not work take the one-message path first; a batch that keeps failing, or
    /// fails for good, is worked message by message, which isolates the one at fault.
    pub(crate) async fn process_batch(&self, deliveries: Vec<Delivery>) -> Writes {
        let mut writes = Writes::default();
        let mut held = Vec::with_capacity(deliveries.len());
        let mut batch = Vec::with_capacity(deliveries.len());
        let mut earlier_settled = true;
        for delivery in deliveries {
            match self.decode(&delivery) {
                Decoded::Work(message) => {
                    held.push(delivery);
                    batch.push(message);
                }
                _ => earlier_settled &= self.process(delivery, &mut writes).await,
            }
        }
        if batch.is_empty() {
            return writes;
        }
        let mut backoff = Backoff::new();
        let mut failures_while_up = 0;
        let replies = loop {
            let failure = match self.guarded(self.handler.handle_batch(&batch)).await {
                Ok(replies) if replies.len() == batch.len() => break Some(replies),
                Ok(replies) => Failure::Permanent(format!(
                    "a batch of {} got {} replies",
                    batch.len(),
                    replies.len()
                )),
                Err(failure) => failure,
            };
            if !matches!(failure, Failure::Transient(_)) {
                log::warn!(
                    "{}: batch of {} failed ({failure}); one by one",
                    self.name(),
                    batch.len()
                );
                break None;
            }
            if self
                .count_failure(&failure, &mut failures_while_up)
                .await
                .is_some()
            {
                break None;
            }
            log::warn!("{}: batch of {} waits: {failure}", self.name(), batch.len());
            if !backoff.sleep(&self.shutdown).await {
                return writes; // unacked: requeued when the channel closes
            }
        };
        let Some(replies) = replies else {
            for (delivery, message) in held.iter().zip(&batch) {
                self.process_message(delivery, message, &mut writes).await;
            }
            return writes;
        };
        for ((delivery, message), reply) in held.iter().zip(&batch).zip(&replies) {
            log::info!("{}: id={} {}", self.name(), id_of(message), describe(reply));
            self.settler
                .reply(delivery, reply, message.meta.parts_count(), &mut writes);
        }
        if earlier_settled && self.one_at_a_time {
            // Every earlier delivery is settled: one ack with `multiple` covers the batch.
            let last = held.len() - 1;
            self.settler.ack(
                held[last].delivery_tag,
                true,
                id_of(&batch[last]),
                &mut writes,
            );
        } else {
            for (delivery, message) in held.iter().zip(&batch) {
                self.settler
                    .ack(delivery.delivery_tag, false, id_of(message), &mut writes);
            }
        }
        writes
    }

    /// Moves a message that can never succeed to the dead-letter queue, tells the
    /// caller, and acks it; if the broker does not take the copy, requeues it instead.
    async fn poison(&self, delivery: &Delivery, reason: &str, writes: &mut Writes) -> bool {
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map_or("-", |i| i.as_str());
        log::warn!("{}: id={id} dead-lettered: {reason}", self.name());
        if self.settler.dead_letter(delivery, reason).await {
            let reply = Reply::Invalid {
                detail: reason.to_owned(),
            };
            self.settler.reply(delivery, &reply, 0, writes);
            self.settler.ack(delivery.delivery_tag, false, id, writes);
        } else {
            self.settler.requeue(delivery, id).await;
        }
        true
    }

    /// Runs a handler's future; a panic is a bug the message triggers, so it becomes a
    /// permanent failure (dead-lettered) rather than a crash that redelivers it forever.
    async fn guarded<T>(
        &self,
        attempt: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        match AssertUnwindSafe(attempt).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(Failure::Permanent(format!(
                "consumer panicked: {}",
                panic_message(&panic)
            ))),
        }
    }

    fn name(&self) -> &'static str {
        H::Input::OPERATION.consumer_name()
    }
}

fn id_of<I>(message: &Message<I>) -> &str {
    message.meta.request_id.as_deref().unwrap_or("-")
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

/// One log line per outcome: the consumers' audit trail.
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
