//! Inspecting and replaying the dead-letter queue.
//!
//! Replay moves a message back to the queue it came from (the `x-original-queue`
//! header) through the main exchange: it is published with a broker confirm first and
//! only then acked in `dead_letters`, so a failure in between leaves a copy, never none.

use crate::topology;
use protocol::message::headers;
use protocol::Operation;

use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Acker, BasicProperties, Channel};

/// One dead letter as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub origin: Option<String>,
    pub reason: Option<String>,
    pub message_id: Option<String>,
    /// The body, lossily as text (dead letters are often not valid UTF-8).
    pub body: String,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the broker did not confirm the replayed message")]
    NotConfirmed,
}

fn describe(props: &BasicProperties, data: &[u8]) -> DeadLetter {
    let table = props.headers().as_ref();
    DeadLetter {
        origin: topology::header_str(table, headers::DEAD_LETTER_ORIGIN),
        reason: topology::header_str(table, headers::DEAD_LETTER_REASON),
        message_id: props.message_id().as_ref().map(|id| id.to_string()),
        body: String::from_utf8_lossy(data).into_owned(),
    }
}

/// Up to `limit` dead letters, oldest first, left in the queue.
///
/// Fails on a broker error.
pub async fn inspect(channel: &Channel, limit: usize) -> Result<Vec<DeadLetter>, lapin::Error> {
    let mut seen = Vec::new();
    let mut held = Vec::new();
    while seen.len() < limit {
        let Some(delivery) = next(channel).await? else {
            break;
        };
        seen.push(describe(&delivery.properties, &delivery.data));
        held.push(delivery.acker);
    }
    // Held unacked while reading so the same message is not fetched twice; now put back.
    requeue(held).await?;
    Ok(seen)
}

/// The next dead letter, unacked, if any.
async fn next(channel: &Channel) -> Result<Option<Delivery>, lapin::Error> {
    let message = channel
        .basic_get(
            topology::DEAD_LETTER_QUEUE.into(),
            BasicGetOptions { no_ack: false },
        )
        .await?;
    Ok(message.map(|m| m.delivery))
}

/// Puts messages taken with [`next`] back in the queue.
async fn requeue(ackers: Vec<Acker>) -> Result<(), lapin::Error> {
    for acker in ackers {
        acker
            .nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            })
            .await?;
    }
    Ok(())
}

/// Replays up to `limit` dead letters to the queues they came from; ones without a
/// known origin stay. Returns what was replayed.
///
/// Fails on a broker error or a missing confirm; what was replayed before stays replayed.
pub async fn replay(channel: &Channel, limit: usize) -> Result<Vec<DeadLetter>, ReplayError> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut replayed = Vec::new();
    let mut skipped = Vec::new();
    while replayed.len() < limit {
        let Some(message) = channel
            .basic_get(
                topology::DEAD_LETTER_QUEUE.into(),
                BasicGetOptions { no_ack: false },
            )
            .await?
        else {
            break;
        };
        let delivery = message.delivery;
        let letter = describe(&delivery.properties, &delivery.data);
        let origin = letter
            .origin
            .as_deref()
            .and_then(|q| Operation::ALL.into_iter().find(|op| op.queue() == q));
        let Some(op) = origin else {
            skipped.push(delivery.acker);
            continue;
        };
        // The reason headers go: a replayed message starts over.
        let mut table = delivery.properties.headers().clone().unwrap_or_default();
        let kept: FieldTable = {
            let mut t = FieldTable::default();
            for (k, v) in table.inner() {
                if k.as_str() != headers::DEAD_LETTER_REASON
                    && k.as_str() != headers::DEAD_LETTER_ORIGIN
                {
                    t.insert(k.clone(), v.clone());
                }
            }
            t
        };
        table = kept;
        table.insert(ShortString::from("x-replayed"), AMQPValue::Boolean(true));
        let props = delivery.properties.clone().with_headers(table);
        let confirm = channel
            .basic_publish(
                topology::EXCHANGE.into(),
                op.routing_key().into(),
                BasicPublishOptions::default(),
                &delivery.data,
                props,
            )
            .await?
            .await?;
        if !confirm.is_ack() || confirm.take_message().is_some() {
            return Err(ReplayError::NotConfirmed);
        }
        delivery.acker.ack(BasicAckOptions::default()).await?;
        replayed.push(letter);
    }
    requeue(skipped).await?;
    Ok(replayed)
}
