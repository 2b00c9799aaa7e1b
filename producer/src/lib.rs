//! The producer: a Rocket HTTP server that turns each request into a message on the
//! `student_records` exchange and answers with the consumer's reply.
//!
//! By what it serves:
//! - [`table`]: the routes registered from the table of request shapes
//!   (`protocol::shapes`), the assignment's and `/v1`, through one handler;
//! - [`operations`]: one request-handling path per operation, shared by every row;
//! - [`page`]: `/`, the web page or the route list;
//! - [`probes`]: `/healthz` and `/readyz`;
//! - [`metrics`]: `/metrics` and the HTTP metrics fairing;
//! - [`openapi`]: `/openapi.json` (built from the table) and Swagger UI at `/api-docs/`;
//! - [`normalise`]: the URI rules every request goes through before routing;
//! - [`gateway`]: request-reply over RabbitMQ, with [`metadata`] as AMQP headers;
//! - [`snapshot`]: the full list held between reads;
//! - [`error`]: the one place a status is decided; [`answer`] and [`body`]: what a
//!   success sends;
//! - [`auth`], [`input`]: the bearer token and the Rocket side of reading a request.
//!
//! [`serve`] is what `main` runs and what integration tests run on port 0.

pub mod answer;
pub mod auth;
pub mod body;
pub mod connections;
pub mod error;
pub mod gateway;
pub mod input;
pub mod metadata;
pub mod metrics;
pub mod normalise;
pub mod openapi;
pub mod operations;
pub mod page;
pub mod probes;
pub mod snapshot;
pub mod table;

use gateway::Gateway;
use inventory::shutdown::Shutdown;
use inventory::Settings;
use metrics::Metrics;
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

pub use normalise::MAX_URI_BYTES;

/// Builds the Rocket instance with every route, the JSON catcher and the settings.
pub fn build(settings: &Settings, gateway: Gateway, metrics: Arc<Metrics>) -> Rocket<Build> {
    let figment = rocket::Config::figment()
        .merge(("address", settings.http_address))
        .merge(("port", settings.http_port))
        .merge(("ident", "student-records"))
        .merge(("shutdown.grace", settings.shutdown_grace.as_secs()))
        .merge(("shutdown.mercy", 2))
        // `main` installs env_logger first, so this only quiets Rocket where it would
        // install its own logger (tests).
        .merge(("log_level", "critical"));
    // Deadlines and a cap for client connections (slow clients cannot hold them).
    let mut figment = connections::configure(figment, settings);
    // HTTPS when HTTP_TLS_CERT_FILE / HTTP_TLS_KEY_FILE are set (checked at start-up).
    if let Some(tls) = &settings.http_tls {
        figment = figment
            .merge(("tls.certs", &tls.cert_file))
            .merge(("tls.key", &tls.key_file));
    }
    let snapshots = Arc::new(snapshot::Snapshots::new(settings.read_snapshot_max_bytes));
    rocket::custom(figment)
        .mount("/", table::routes(&gateway, &snapshots))
        .mount("/", rocket::routes![page::page, page::index])
        .mount("/", rocket::routes![probes::healthz, probes::readyz])
        .mount("/", rocket::routes![metrics::metrics])
        .mount("/", rocket::routes![normalise::uri_too_long])
        .mount("/", openapi::routes())
        .manage(gateway)
        .manage(metrics.clone())
        .manage(input::BodyLimit(settings.max_body_bytes))
        .manage(input::BodyTimeout(settings.http_body_timeout))
        .manage(auth::ApiToken(settings.api_token.clone()))
        .register("/", rocket::catchers![error::default_catcher])
        .attach(metrics::HttpMetrics(metrics))
        .attach(normalise::fairing())
}

/// Runs the producer until `shutdown` (or SIGTERM/Ctrl-C, which Rocket handles):
/// stops accepting, lets in-flight requests finish within the grace period, then
/// closes the broker connection. Sends the bound address on `bound` once listening.
///
/// Fails if the server cannot start (for example the port is taken).
pub async fn serve(
    settings: Settings,
    shutdown: Shutdown,
    bound: Option<oneshot::Sender<SocketAddr>>,
) -> Result<(), rocket::Error> {
    if settings.api_token.is_none() {
        log::warn!(
            "producer: API_TOKEN is not set: anyone who reaches this port can insert and delete records"
        );
    }
    let metrics = Arc::new(Metrics::new());
    let gateway = Gateway::start(&settings, shutdown.clone(), metrics.clone());
    let report = std::sync::Mutex::new(bound);
    let rocket = build(&settings, gateway, metrics)
        .attach(AdHoc::on_liftoff("report address", move |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                let addr = SocketAddr::new(config.address, config.port);
                let scheme = if config.tls_enabled() {
                    "https"
                } else {
                    "http"
                };
                log::info!("producer: listening on {scheme}://{addr}");
                if let Some(tx) = report.lock().ok().and_then(|mut b| b.take()) {
                    let _ = tx.send(addr);
                }
            })
        }))
        .ignite()
        .await?;
    let handle = rocket.shutdown();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        stop.wait().await;
        handle.notify();
    });
    let result = rocket.launch().await.map(|_| ());
    // After the last in-flight request: close the broker connection.
    shutdown.trigger();
    result
}
