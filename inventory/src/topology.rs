//! Broker topology as code: every exchange, queue and routing-key name, and the one
//! function that declares them. Every process calls [`declare_topology`] at start-up
//! and after each reconnect; declaring is idempotent, so order does not matter.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};
use protocol::Operation;

/// The one durable direct exchange all requests are published to.
pub const EXCHANGE: &str = "student_records";
/// Where consumers send messages they cannot process (fanout: the queue keeps the reason).
pub const DEAD_LETTER_EXCHANGE: &str = "student_records.dead_letter";
/// The queue that holds dead letters until an operator inspects or replays them.
pub const DEAD_LETTER_QUEUE: &str = "dead_letters";
/// RabbitMQ's direct reply-to pseudo-queue: replies without declaring a queue per caller.
pub const REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// What kind of queues to declare: `classic` for a single node, `quorum` (replicated
/// with Raft across a cluster) for several. All processes of a deployment must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    #[default]
    Classic,
    Quorum,
}

impl std::str::FromStr for QueueType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classic" => Ok(QueueType::Classic),
            "quorum" => Ok(QueueType::Quorum),
            other => Err(format!(
                "{other:?} is not a queue type: use classic or quorum"
            )),
        }
    }
}

/// Deliveries of one message on a quorum queue before the broker dead-letters it: a
/// message that crashes every consumer it reaches stops after this many.
pub const QUORUM_DELIVERY_LIMIT: i64 = 10;

/// Declares the exchange, the four queues and their bindings, and the dead-letter path.
///
/// Fails if the broker refuses (for example a queue exists with other arguments).
pub async fn declare_topology(
    channel: &Channel,
    queue_type: QueueType,
) -> Result<(), lapin::Error> {
    let durable_exchange = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    let durable_queue = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .exchange_declare(
            DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Fanout,
            durable_exchange,
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            DEAD_LETTER_QUEUE.into(),
            durable_queue,
            queue_arguments(queue_type, false),
        )
        .await?;
    channel
        .queue_bind(
            DEAD_LETTER_QUEUE.into(),
            DEAD_LETTER_EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Direct,
            durable_exchange,
            FieldTable::default(),
        )
        .await?;
    for op in Operation::ALL {
        channel
            .queue_declare(
                op.queue().into(),
                durable_queue,
                queue_arguments(queue_type, op.is_write()),
            )
            .await?;
        channel
            .queue_bind(
                op.queue().into(),
                EXCHANGE.into(),
                op.routing_key().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Queue arguments. Classic queues get none (an explicit `x-queue-type: classic` would
/// clash with queues declared before). Quorum queues get their type, and the write
/// queues an explicit delivery limit with at-least-once dead-lettering, so a poison
/// message is moved, never dropped.
///
/// No `x-dead-letter-exchange` here: declaring it needs read permission on the queue,
/// which would force every service's broker user to read every queue. The operator's
/// policy ([`DEAD_LETTER_POLICY_PATTERN`]) names the exchange instead.
pub fn queue_arguments(queue_type: QueueType, write: bool) -> FieldTable {
    let mut args = FieldTable::default();
    if queue_type == QueueType::Quorum {
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        if write {
            args.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(QUORUM_DELIVERY_LIMIT),
            );
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            // at-least-once dead-lettering requires publishers to be refused, not old
            // messages dropped, when a queue is full.
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
        }
    }
    args
}

/// The queues the dead-letter policy applies to. Only writes: expired health checks and
/// reads have nobody waiting for them and are dropped, not kept.
pub const DEAD_LETTER_POLICY_PATTERN: &str = "^(insert_record|delete_record)$";

/// Reads a string header from message properties.
pub fn header_str(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    let value = headers?.inner().get(&ShortString::from(key))?;
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}
