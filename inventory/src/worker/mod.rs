//! The run loop every consumer shares: it serves one [`Handler`] on its queue.
//!
//! [`run`] connects (and reconnects) with bounded backoff, declares the topology, takes
//! deliveries with a bounded prefetch, hands them to the handler one by one or in
//! batches (as the handler asks), and settles each: reply and ack after the work is
//! committed, retry while a dependency is down, dead-letter what can never succeed.
//! On shutdown it stops taking deliveries, finishes the ones in hand within the grace
//! period, and closes its channels. [`main`] is what a consumer binary calls.

mod attempt;
mod settle;

pub use attempt::MAX_ATTEMPTS;
pub use settle::PartSender;

use crate::broker::{self, Backoff};
use crate::db::{BadUrl, Database};
use crate::handler::{Failure, Handler};
use crate::settings::{Settings, SettingsError};
use crate::shutdown::Shutdown;
use crate::topology;
use attempt::Job;
use futures_util::{FutureExt, StreamExt};
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::Connection;
use protocol::message::QueueRequest;
use settle::{Settler, Writes};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Why a consumer could not start (logged before it is returned). Its binary decides
/// the exit code.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    DatabaseUrl(#[from] BadUrl),
    #[error("the database schema cannot be migrated: {0}")]
    Migration(String),
    /// A broker or database that fails TLS verification, or does not speak TLS.
    #[error("{0}; not starting")]
    Tls(#[from] crate::tls::TlsFailure),
}

/// `main` of a consumer whose handler uses the database: logging, settings, the pool,
/// the migrations, then [`run`] until SIGTERM or Ctrl-C. `Ok` after a clean shutdown.
pub async fn main<H: Handler>(handler: impl FnOnce(Database) -> H) -> Result<(), StartError> {
    let name = H::Input::OPERATION.consumer_name();
    let started = async {
        let (settings, shutdown) = start()?;
        crate::tls::check_peers(&settings, name, true).await?;
        let Some(database) = open_database(&settings, &shutdown).await? else {
            return Ok(()); // shut down while the database was still unreachable
        };
        run(handler(database.clone()), &settings, shutdown).await;
        database.close().await;
        Ok(())
    };
    logged(name, started.await)
}

/// `main` of a consumer that needs no database.
pub async fn main_without_database<H: Handler>(handler: H) -> Result<(), StartError> {
    let name = H::Input::OPERATION.consumer_name();
    let started = async {
        let (settings, shutdown) = start()?;
        crate::tls::check_peers(&settings, name, false).await?;
        run(handler, &settings, shutdown).await;
        Ok(())
    };
    logged(name, started.await)
}

fn start() -> Result<(Settings, Shutdown), StartError> {
    // `info` by default: one line per message outcome is the consumers' audit trail.
    let env = env_logger::Env::default().default_filter_or("info");
    let _ = env_logger::Builder::from_env(env).try_init();
    let settings = Settings::from_env()?;
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    Ok((settings, shutdown))
}

fn logged(name: &str, outcome: Result<(), StartError>) -> Result<(), StartError> {
    if let Err(e) = &outcome {
        log::error!("{name}: {e}");
    }
    outcome
}

/// The pool, with the schema migrated (as `MIGRATION_DATABASE_URL` when set), waiting
/// while the database is down. `None` if shutdown came first.
///
/// Fails on a bad URL, or when the database refuses the migration.
pub async fn open_database(
    settings: &Settings,
    shutdown: &Shutdown,
) -> Result<Option<Database>, StartError> {
    let open = |url: &str, pool_max| {
        Database::with_tls(url, pool_max, settings.db_connect_timeout, &settings.tls)
    };
    let database = open(&settings.database_url, settings.db_pool_max)?;
    let migrator = match &settings.migration_database_url {
        Some(url) => Some(open(url, 1)?),
        None => None,
    };
    let mut backoff = Backoff::new();
    loop {
        match crate::migrate::migrate(migrator.as_ref().unwrap_or(&database)).await {
            Ok(_) => break,
            Err(Failure::Permanent(why)) => return Err(StartError::Migration(why)),
            Err(e) => {
                log::warn!(
                    "database at {} not ready: {e}; retrying",
                    settings.database_url_redacted()
                );
                if !backoff.sleep(shutdown).await {
                    return Ok(None);
                }
            }
        }
    }
    if let Some(migrator) = migrator {
        migrator.close().await;
    }
    Ok(Some(database))
}

/// Serves `handler`'s queue until `shutdown`: connects (and reconnects) with bounded
/// backoff, then takes deliveries until the connection fails or shutdown comes.
pub async fn run<H: Handler>(handler: H, settings: &Settings, shutdown: Shutdown) {
    let name = H::Input::OPERATION.consumer_name();
    let handler = Arc::new(handler);
    let mut backoff = Backoff::new();
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
        let served = serve(&conn, &handler, settings, &shutdown, &mut backoff).await;
        match served {
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
    log::info!("{name}: stopped");
}

/// Why serving a queue stopped before shutdown; the run loop reconnects after either.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error(transparent)]
    Broker(#[from] lapin::Error),
    #[error("the delivery stream ended (connection closed or consumer cancelled by the broker)")]
    ConsumerEnded,
}

/// One connection's worth of serving.
async fn serve<H: Handler>(
    conn: &Connection,
    handler: &Arc<H>,
    settings: &Settings,
    shutdown: &Shutdown,
    backoff: &mut Backoff,
) -> Result<(), ServeError> {
    let op = H::Input::OPERATION;
    let name = op.consumer_name();
    let channel = conn.create_channel().await?;
    topology::declare_topology(&channel, settings.queue_type).await?;
    channel
        .basic_qos(settings.prefetch, BasicQosOptions::default())
        .await?;
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

    let prefetch = usize::from(settings.prefetch);
    let concurrency = handler.concurrency().clamp(1, prefetch);
    // A batch takes at most half the prefetch window, so that while one batch commits
    // the broker is already delivering the next: the consumer never waits on the wire.
    let batch_max = handler.batch_max().min(prefetch / 2).max(1);
    let job = Arc::new(Job {
        handler: handler.clone(),
        settler: Settler {
            op,
            channel: channel.clone(),
            dead_letters: dead_letters.clone(),
        },
        shutdown: shutdown.clone(),
        one_at_a_time: concurrency == 1,
    });
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
                        // Not started: leave it unacked; closing the channel requeues it.
                        _ = shutdown.wait() => break Ok(()),
                    };
                    let job = job.clone();
                    if batch_max == 1 {
                        tasks.spawn(async move {
                            let mut writes = Writes::default();
                            job.process(delivery, &mut writes).await;
                            drop(permit);
                            writes.written().await;
                        });
                        continue;
                    }
                    // Everything that arrived while the last batch was being worked on.
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
                        let writes = job.process_batch(batch).await;
                        // The next batch may start now: its ack is queued after ours.
                        drop(permit);
                        writes.written().await;
                    });
                    if let Some(e) = failed {
                        break Err(e.into());
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
    // Work still in hand after a lost connection is dropped unacked (its transaction
    // rolls back); the broker redelivers it.
    tasks.shutdown().await;
    result
}
