//! What a consumer implements: the one operation it owns, as a [`Handler`].
//!
//! The split is Celery's task and worker, or tower's `Service` and its server: a handler
//! says what one message means (decode its request, do its database statement, build its
//! reply); the run loop in [`crate::worker`] owns everything around it (connecting,
//! prefetch, batching, acks, replies, retries, dead letters, reconnecting, shutdown).
//! A handler can be called directly in a test with a database and a [`Message`].
//!
//! The boundary carries what the next capabilities need, so it does not have to be
//! reshaped for each: per-message metadata ([`Meta`]: deadline, trace context,
//! idempotency fingerprint), answers in several parts ([`Meta::send_part`], for a
//! streamed read), and a commit whose outcome is unknown ([`Failure::Unknown`] and
//! [`Handler::verify`], for a replicated database that can lose a connection mid-commit).

use crate::db::Database;
use protocol::message::QueueRequest;
use protocol::Reply;
use std::future::Future;
use std::sync::Mutex;
use std::time::SystemTime;

/// One operation on one queue.
pub trait Handler: Send + Sync + 'static {
    /// The request of the queue this handler serves (`protocol::message::DeleteRequest`,
    /// ...), which names its operation. A message that is not one was published to the
    /// wrong queue: the loop dead-letters it.
    type Input: QueueRequest + Send + Sync + 'static;

    /// One attempt at one message: its database work, committed, and its reply.
    ///
    /// Called again with the same message after a [`Failure::Transient`], and after a
    /// [`Failure::Unknown`] once [`Handler::verify`] found nothing committed: an
    /// attempt must leave nothing behind when it fails.
    fn handle(
        &self,
        message: &Message<Self::Input>,
    ) -> impl Future<Output = Result<Reply, Failure>> + Send;

    /// The database the handler works on, if any: what [`Handler::concurrency`] and
    /// [`Handler::dependencies_answer`] follow unless the handler says otherwise.
    fn database(&self) -> Option<&Database> {
        None
    }

    /// How many messages (or batches) may be worked on at once. By default the database
    /// pool's size, so that no message waits for a connection long enough to look like
    /// an outage; without a database, as many as the prefetch delivers.
    fn concurrency(&self) -> usize {
        self.database()
            .map_or(usize::MAX, Database::max_connections)
    }

    /// The most messages [`Handler::handle_batch`] takes at once. 1, the default, means
    /// no batching. A batching handler also overrides `handle_batch`, and usually has
    /// a concurrency of 1, so that one `multiple` ack can settle each batch in turn.
    fn batch_max(&self) -> usize {
        1
    }

    /// Several messages as one unit of work: all committed, one reply each in order, or
    /// none committed and an error. When a batch keeps failing, the loop falls back to
    /// [`Handler::handle`] message by message, which isolates a poison message.
    ///
    /// The default handles them in turn and stops at the first failure, which is only
    /// right for a handler whose `handle` may be repeated; a batching handler overrides
    /// it.
    fn handle_batch(
        &self,
        batch: &[Message<Self::Input>],
    ) -> impl Future<Output = Result<Vec<Reply>, Failure>> + Send {
        async move {
            let mut replies = Vec::with_capacity(batch.len());
            for message in batch {
                replies.push(self.handle(message).await?);
            }
            Ok(replies)
        }
    }

    /// After an attempt ended in [`Failure::Unknown`], and before another: whether its
    /// work was committed after all. `if_committed` is the reply the attempt would have
    /// given. `Some(reply)` settles the message with that reply; `None` (the default,
    /// right for a handler whose `handle` may be repeated) tries it again.
    fn verify(
        &self,
        message: &Message<Self::Input>,
        if_committed: Option<&Reply>,
    ) -> impl Future<Output = Result<Option<Reply>, Failure>> + Send {
        let _ = (message, if_committed);
        async { Ok(None) }
    }

    /// Whether what the handler depends on answers now (by default its database). While
    /// it does not, a failing message is waited on; while it does, a message that keeps
    /// failing is poison and is dead-lettered.
    fn dependencies_answer(&self) -> impl Future<Output = bool> + Send {
        let database = self.database().cloned();
        async move {
            match database {
                Some(database) => database.answers().await,
                None => true,
            }
        }
    }
}

/// Why an attempt at a message failed, which decides what the loop does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// Nothing was changed and the cause is outside the message (the database is down
    /// or busy): the same message is tried again after a backoff.
    #[error("{0}")]
    Transient(String),
    /// The work may or may not have been committed (the connection broke during
    /// COMMIT): [`Handler::verify`] decides before anything is tried again, told the
    /// reply the attempt would have given (see [`Failure::if_committed`]).
    #[error("outcome unknown: {reason}")]
    Unknown {
        reason: String,
        if_committed: Option<Box<Reply>>,
    },
    /// The message can never succeed: it is dead-lettered with this reason.
    #[error("{0}")]
    Permanent(String),
}

impl Failure {
    /// A commit whose answer was lost.
    pub fn unknown(reason: impl Into<String>) -> Failure {
        Failure::Unknown {
            reason: reason.into(),
            if_committed: None,
        }
    }

    /// Names the reply an attempt would have given had its commit gone through, for
    /// [`Handler::verify`]. Other failures are returned as they are.
    pub fn if_committed(self, reply: Reply) -> Failure {
        match self {
            Failure::Unknown { reason, .. } => Failure::Unknown {
                reason,
                if_committed: Some(Box::new(reply)),
            },
            other => other,
        }
    }
}

/// One delivery, as a handler sees it: its request and what travelled with it.
#[derive(Debug)]
pub struct Message<I> {
    pub input: I,
    pub meta: Meta,
}

/// What a request carries besides its body (set by the producer; see
/// `protocol::message::headers`).
#[derive(Debug, Default)]
pub struct Meta {
    /// The message id: names the request in log lines and in the client's answer.
    pub request_id: Option<String>,
    /// What makes a repeat of the same request recognisable: the client's idempotency
    /// key when it sent one, else the message id (a redelivery keeps it).
    pub fingerprint: Option<String>,
    /// When the caller stops waiting.
    pub deadline: Option<SystemTime>,
    /// The caller's W3C trace context, for log lines.
    pub traceparent: Option<String>,
    /// The broker delivered this message before (its ack was lost, or a consumer died).
    pub redelivered: bool,
    pub(crate) parts: Parts,
}

impl Meta {
    /// Metadata for a message that did not come from the broker (tests, tools): its
    /// id, used as the fingerprint too. Parts sent are kept; see [`Meta::parts_sent`].
    pub fn with_id(request_id: &str) -> Meta {
        Meta {
            request_id: Some(request_id.to_owned()),
            fingerprint: Some(request_id.to_owned()),
            ..Meta::default()
        }
    }

    /// Whether the caller has stopped waiting.
    pub fn expired(&self, now: SystemTime) -> bool {
        self.deadline.is_some_and(|deadline| now > deadline)
    }

    /// Sends one part of a reply ahead of the final one returned by `handle`: for an
    /// answer too large for one message (a streamed read). Parts are sent in order, and
    /// the caller knows the last by its missing "more" mark.
    ///
    /// Fails (transiently) if the broker did not take the part; parts sent before stay
    /// sent, so a handler that sends parts must be one whose whole answer may be sent
    /// again.
    pub async fn send_part(&self, reply: &Reply) -> Result<(), Failure> {
        match &self.parts {
            Parts::Kept(kept) => {
                kept.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(reply.clone());
                Ok(())
            }
            Parts::Broker(sender) => sender.send(reply).await,
        }
    }

    /// The parts sent so far, for a message that did not come from the broker.
    pub fn parts_sent(&self) -> Vec<Reply> {
        match &self.parts {
            Parts::Kept(kept) => kept.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Parts::Broker(_) => Vec::new(),
        }
    }

    /// How many parts went ahead of the final reply.
    pub(crate) fn parts_count(&self) -> u32 {
        match &self.parts {
            Parts::Kept(kept) => kept.lock().map_or(0, |k| k.len() as u32),
            Parts::Broker(sender) => sender.count(),
        }
    }
}

/// Where the parts of a reply go.
#[derive(Debug)]
pub(crate) enum Parts {
    /// Kept in memory (a message that did not come from the broker).
    Kept(Mutex<Vec<Reply>>),
    Broker(Box<crate::worker::PartSender>),
}

impl Default for Parts {
    fn default() -> Self {
        Parts::Kept(Mutex::new(Vec::new()))
    }
}
