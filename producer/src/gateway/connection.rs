//! The gateway's one connection: a supervised task connects (with backoff), declares
//! the topology, enables publisher confirms, consumes the direct reply-to pseudo-queue
//! and hands each reply to its waiting caller; on any failure it wakes every waiter
//! with `Unavailable` and connects again.

use super::{lock, Gateway};
use futures_util::StreamExt;
use inventory::broker::{self, Backoff};
use inventory::shutdown::Shutdown;
use inventory::topology;
use inventory::Settings;
use lapin::Connection;
use std::sync::Arc;

impl Gateway {
    pub(super) async fn supervise(self, settings: Settings, shutdown: Shutdown) {
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
        let mut replies = broker::calling_channel(&channel, "producer-replies").await?;
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
