//! Settling deliveries on the broker: replies (and reply parts), acks, and dead letters.
//! Also what a delivery's properties say about it ([`meta_of`]).

use crate::handler::{Failure, Meta, Parts};
use crate::topology;
use futures_util::FutureExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};
use protocol::message::headers;
use protocol::{Operation, Reply};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, UNIX_EPOCH};

/// Broker writes (replies, acks) already queued on lapin's I/O loop, in the order they
/// were made, and not yet confirmed written. Making a write never waits for an earlier
/// one: waiting for each in turn costs a round trip to the I/O thread per message.
#[derive(Default)]
pub(crate) struct Writes(Vec<Pin<Box<dyn Future<Output = ()> + Send>>>);

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
    pub(crate) async fn written(self) {
        futures_util::future::join_all(self.0).await;
    }
}

/// The channels a consumer settles on, and the queue it serves.
pub(crate) struct Settler {
    pub(crate) op: Operation,
    /// The work channel: deliveries, acks and replies. Replies go unconfirmed: a lost
    /// reply costs the caller a timeout, never data.
    pub(crate) channel: Channel,
    /// A confirmed channel: a poison message is acked only once the broker has its copy.
    pub(crate) dead_letters: Channel,
}

impl Settler {
    /// Queues the final reply, if the request asked for one; after parts, it carries
    /// the last part's number and no "more" mark.
    pub(crate) fn reply(
        &self,
        delivery: &Delivery,
        reply: &Reply,
        parts: u32,
        writes: &mut Writes,
    ) {
        let Some((reply_to, props)) = reply_route(&delivery.properties) else {
            return;
        };
        let props = if parts > 0 {
            props.with_headers(part_headers(parts, false))
        } else {
            props
        };
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
                    props,
                )
                .await;
            if let Err(e) = sent {
                log::warn!("{name}: reply to {reply_to} not sent: {e}");
            }
        });
    }

    /// Queues the ack of `tag` (and, with `multiple`, of every earlier delivery).
    pub(crate) fn ack(&self, tag: u64, multiple: bool, id: &str, writes: &mut Writes) {
        let (channel, name, id) = (self.channel.clone(), self.op.consumer_name(), id.to_owned());
        writes.queue(async move {
            if let Err(e) = channel.basic_ack(tag, BasicAckOptions { multiple }).await {
                // The work is committed; a redelivery is recognised by its fingerprint.
                log::warn!("{name}: id={id} ack failed: {e}");
            }
        });
    }

    /// Puts a delivery back in its queue (a dead letter the broker did not take).
    pub(crate) async fn requeue(&self, delivery: &Delivery, id: &str) {
        let requeue = BasicNackOptions {
            requeue: true,
            ..BasicNackOptions::default()
        };
        if let Err(e) = delivery.acker.nack(requeue).await {
            log::warn!("{}: id={id} nack failed: {e}", self.op.consumer_name());
        }
    }

    /// Copies the message to the dead-letter exchange with the reason in a header.
    /// Returns whether the broker confirmed the copy.
    pub(crate) async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> bool {
        let mut table = delivery.properties.headers().clone().unwrap_or_default();
        table.insert(
            headers::DEAD_LETTER_REASON.into(),
            AMQPValue::LongString(reason.into()),
        );
        table.insert(
            headers::DEAD_LETTER_ORIGIN.into(),
            AMQPValue::LongString(self.op.queue().into()),
        );
        let props = delivery.properties.clone().with_headers(table);
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

/// Where a reply goes, with the correlation id it must carry; `None` if nobody asked.
fn reply_route(props: &BasicProperties) -> Option<(ShortString, BasicProperties)> {
    route_of(props.reply_to(), props.correlation_id())
}

fn route_of(
    reply_to: &Option<ShortString>,
    correlation_id: &Option<ShortString>,
) -> Option<(ShortString, BasicProperties)> {
    let reply_to = reply_to.clone()?;
    let mut reply_props = BasicProperties::default().with_content_type("application/json".into());
    if let Some(cid) = correlation_id {
        reply_props = reply_props.with_correlation_id(cid.clone());
    }
    Some((reply_to, reply_props))
}

fn part_headers(index: u32, more: bool) -> FieldTable {
    let mut table = FieldTable::default();
    table.insert(headers::REPLY_PART.into(), AMQPValue::LongUInt(index));
    if more {
        table.insert(headers::REPLY_MORE.into(), AMQPValue::Boolean(true));
    }
    table
}

/// Sends the parts of one delivery's reply ahead of the final one (see
/// [`Meta::send_part`]).
#[derive(Debug)]
pub struct PartSender {
    channel: Channel,
    /// Where the parts go: kept as the request named it, and made into properties only
    /// when a part is sent (most replies have none).
    reply_to: Option<ShortString>,
    correlation_id: Option<ShortString>,
    sent: AtomicU32,
}

impl PartSender {
    pub(crate) async fn send(&self, reply: &Reply) -> Result<(), Failure> {
        let Some((reply_to, props)) = route_of(&self.reply_to, &self.correlation_id) else {
            return Ok(()); // nobody asked for a reply
        };
        let index = self.sent.fetch_add(1, Ordering::SeqCst);
        let props = props.with_headers(part_headers(index, true));
        self.channel
            .basic_publish(
                "".into(),
                reply_to.clone(),
                BasicPublishOptions::default(),
                &reply.encode(),
                props,
            )
            .await
            .map(drop)
            .map_err(|e| Failure::Transient(format!("reply part not sent: {e}")))
    }

    pub(crate) fn count(&self) -> u32 {
        self.sent.load(Ordering::SeqCst)
    }
}

/// The metadata a delivery carries (see `protocol::message::headers`).
pub(crate) fn meta_of(delivery: &Delivery, channel: &Channel) -> Meta {
    let props = &delivery.properties;
    let header = |key| topology::header_str(props.headers().as_ref(), key);
    let request_id = props
        .message_id()
        .as_ref()
        .or(props.correlation_id().as_ref())
        .map(|id| id.as_str().to_owned());
    let deadline = props
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(&ShortString::from(headers::DEADLINE)))
        .and_then(as_u64)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms));
    Meta {
        fingerprint: header(headers::IDEMPOTENCY_KEY).or_else(|| request_id.clone()),
        request_id,
        deadline,
        traceparent: header(headers::TRACEPARENT),
        redelivered: delivery.redelivered,
        parts: Parts::Broker(Box::new(PartSender {
            channel: channel.clone(),
            reply_to: props.reply_to().clone(),
            correlation_id: props.correlation_id().clone(),
            sent: AtomicU32::new(0),
        })),
    }
}

fn as_u64(value: &AMQPValue) -> Option<u64> {
    match value {
        AMQPValue::LongLongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::LongUInt(v) => Some(u64::from(*v)),
        AMQPValue::LongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::Timestamp(v) => Some(*v),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_read_from_any_integer_header() {
        assert_eq!(as_u64(&AMQPValue::LongLongInt(5)), Some(5));
        assert_eq!(as_u64(&AMQPValue::LongLongInt(-5)), None);
        assert_eq!(as_u64(&AMQPValue::LongString("17".into())), Some(17));
        assert_eq!(as_u64(&AMQPValue::Boolean(true)), None);
    }

    #[test]
    fn parts_are_numbered_and_all_but_the_last_say_more() {
        let more = part_headers(3, true);
        assert_eq!(
            more.inner().get(&ShortString::from(headers::REPLY_PART)),
            Some(&AMQPValue::LongUInt(3))
        );
        assert_eq!(
            more.inner().get(&ShortString::from(headers::REPLY_MORE)),
            Some(&AMQPValue::Boolean(true))
        );
        assert!(part_headers(4, false)
            .inner()
            .get(&ShortString::from(headers::REPLY_MORE))
            .is_none());
    }
}
