//! The producer: a Rocket HTTP server that turns each request into a message on the
//! `student_records` exchange and answers with the consumer's reply.
//!
//! [`serve`] is what `main` runs and what integration tests run on port 0.

pub mod api_doc;
pub mod auth;
pub mod body;
pub mod error;
pub mod gateway;
pub mod input;
pub mod metrics;
pub mod routes;
pub mod snapshot;
pub mod v1;

use api_doc::ApiDoc;
use gateway::Gateway;
use inventory::shutdown::Shutdown;
use inventory::Settings;
use metrics::Metrics;
use rocket::fairing::AdHoc;
use rocket::{Build, Rocket};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Builds the Rocket instance with every route, the JSON catcher and the settings.
pub fn build(settings: &Settings, gateway: Gateway, metrics: Arc<Metrics>) -> Rocket<Build> {
    let mut figment = rocket::Config::figment()
        .merge(("address", settings.http_address))
        .merge(("port", settings.http_port))
        .merge(("ident", "student-records"))
        .merge(("shutdown.grace", settings.shutdown_grace.as_secs()))
        .merge(("shutdown.mercy", 2))
        // `main` installs env_logger first, so this only quiets Rocket where it would
        // install its own logger (tests).
        .merge(("log_level", "critical"));
    // HTTPS when HTTP_TLS_CERT_FILE / HTTP_TLS_KEY_FILE are set (checked at start-up).
    if let Some(tls) = &settings.http_tls {
        figment = figment
            .merge(("tls.certs", &tls.cert_file))
            .merge(("tls.key", &tls.key_file));
    }
    let swagger = SwaggerUi::new("/api-docs/<_..>").url("/openapi.json", ApiDoc::openapi());
    rocket::custom(figment)
        .manage(gateway)
        .manage(metrics.clone())
        .manage(Arc::new(snapshot::Snapshots::new(
            settings.read_snapshot_max_bytes,
        )))
        .manage(input::BodyLimit(settings.max_body_bytes))
        .manage(auth::ApiToken(settings.api_token.clone()))
        .mount(
            "/",
            rocket::routes![
                routes::page,
                routes::index,
                routes::health_check,
                routes::health_check_post,
                routes::health_check_path,
                routes::insert_record,
                routes::delete_record,
                routes::delete_record_delete,
                routes::delete_record_post,
                routes::delete_record_path,
                routes::delete_record_path_delete,
                routes::read_database,
                routes::healthz,
                routes::readyz,
                routes::metrics,
                routes::uri_too_long,
                v1::list,
                v1::create,
                v1::get,
                v1::delete,
                v1::health,
            ],
        )
        .mount("/", swagger)
        .register("/", rocket::catchers![error::default_catcher])
        .attach(metrics::HttpMetrics(metrics))
        .attach(AdHoc::on_request("normalise URI", |req, _| {
            Box::pin(async move { normalise_uri(req) })
        }))
}

/// Longest request URI served. Hyper itself answers a plain-text 414 only past 64 KiB;
/// below that, this limit gives the JSON one.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Sends over-long URIs to the JSON 414 route, and treats `/insert_record/` as
/// `/insert_record` (clients add the slash often). Fairings cannot answer, only reroute.
fn normalise_uri(req: &mut rocket::Request<'_>) {
    let length = req.uri().path().len() + req.uri().query().map_or(0, |q| q.len() + 1);
    if length > MAX_URI_BYTES {
        req.set_method(rocket::http::Method::Get);
        if let Ok(origin) = rocket::http::uri::Origin::parse_owned(routes::URI_TOO_LONG_PATH.into())
        {
            req.set_uri(origin);
        }
        return;
    }
    let path = req.uri().path().as_str();
    // Swagger UI serves its page at `/api-docs/` and redirects the slash-less form there.
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/api-docs/") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let uri = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(origin) = rocket::http::uri::Origin::parse_owned(uri) {
            req.set_uri(origin);
        }
    }
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
