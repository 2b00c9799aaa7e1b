//! Connecting to RabbitMQ, a caller's channel, and the bounded backoff every reconnect
//! loop uses.
//!
//! Recovery is our own supervised loop (connect, declare, serve, and on any error start
//! over) rather than lapin's auto-recovery, so that a broker restart is handled by the
//! same code path as a first start, which every test exercises.

use crate::shutdown::Shutdown;
use crate::tls::ClientTls;
use crate::topology;
use lapin::options::{BasicConsumeOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, Consumer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The largest frame we ask the broker for, unless the URL names one (`?frame_max=`).
/// lapin keeps 32 frames' worth of buffer each way per connection, and a busy
/// connection cycles through all of it: the broker's default of 128 KiB made that
/// 8 MiB resident per process. Messages here are a few hundred bytes; a full list of
/// records simply travels as more frames.
pub const FRAME_MAX: u32 = 32 * 1024;

/// Opens a connection named after the process (shown in the management UI).
///
/// `urls` may list several brokers, comma-separated (a cluster): they are tried in
/// turn, starting from a different one each call, so reconnects spread over the nodes
/// and a dead node is skipped. Fails with the last node's error if none answers.
///
/// `amqps://` is verified against the built-in public roots; a process with TLS
/// settings uses [`connect_with`].
pub async fn connect(urls: &str, name: &str) -> Result<Connection, lapin::Error> {
    connect_with(urls, name, &ClientTls::default()).await
}

/// [`connect`] with these TLS settings (`Settings::tls`): `amqps://` is verified as
/// they say, and a failed handshake is an error naming the broker and what is wrong.
pub async fn connect_with(
    urls: &str,
    name: &str,
    tls: &ClientTls,
) -> Result<Connection, lapin::Error> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let urls: Vec<&str> = urls
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .collect();
    let start = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut last_error = None;
    for i in 0..urls.len().max(1) {
        let url = urls
            .get((start + i) % urls.len().max(1))
            .copied()
            .unwrap_or("");
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        let connected = match url.parse::<AMQPUri>() {
            Ok(mut uri) => {
                uri.query.frame_max.get_or_insert(FRAME_MAX);
                tls.connect_amqp(uri, properties).await
            }
            // lapin's message may quote the whole URL, password included.
            Err(e) => {
                let shown = crate::secret::redact(url);
                Err(lapin::Error::from(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("invalid broker URL {shown}: {}", e.replace(url, &shown)),
                )))
            }
        };
        match connected {
            Ok(conn) => return Ok(conn),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.expect("at least one attempt was made"))
}

/// Makes `channel` a caller's: publisher confirms on (a publish resolves when the broker
/// has the message), and a consumer, named `tag`, of RabbitMQ's direct reply-to
/// pseudo-queue, whose deliveries are never acked. Returns that consumer.
pub async fn calling_channel(channel: &Channel, tag: &str) -> Result<Consumer, lapin::Error> {
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    channel
        .basic_consume(
            topology::REPLY_TO.into(),
            tag.into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// Exponential backoff from 100 ms to 5 s.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Backoff::FIRST,
        }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    pub fn new() -> Backoff {
        Backoff::default()
    }

    /// The next delay; each call doubles it up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        delay
    }

    pub fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }

    /// Sleeps for the next delay. Returns `false` if shutdown came first.
    pub async fn sleep(&mut self, shutdown: &Shutdown) -> bool {
        let delay = self.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = shutdown.wait() => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_bound_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<_> = (0..8).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }
}
