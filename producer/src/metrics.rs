//! Prometheus metrics of the producer, and their route, `GET /metrics`.
//!
//! HTTP requests by route and status with a latency histogram (a fairing); publish
//! confirm and reply latency, timed-out replies, and the consumers' outcomes counted
//! from their replies (the gateway); queue depth and consumers per queue, read by a
//! passive declare at scrape time.

use crate::gateway::Gateway;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::get;
use rocket::http::ContentType;
use rocket::{Data, Request, Response, State};
use std::sync::Arc;
use std::time::Instant;

/// Latency buckets from 0.5 ms to 10 s: round trips here are milliseconds, timeouts seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub confirm_duration: HistogramVec,
    pub reply_duration: HistogramVec,
    pub reply_timeouts: IntCounterVec,
    pub consumer_replies: IntCounterVec,
    pub queue_messages: IntGaugeVec,
    pub queue_consumers: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(BUCKETS.to_vec());
            let h = HistogramVec::new(opts, labels).expect("valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("unique metric");
            h
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        Metrics {
            http_requests: counter(
                "http_requests_total",
                "HTTP requests by route, method and status",
                &["route", "method", "status"],
            ),
            http_duration: histogram(
                "http_request_duration_seconds",
                "HTTP request latency by route",
                &["route"],
            ),
            confirm_duration: histogram(
                "broker_confirm_duration_seconds",
                "From publish to the broker's confirm, by routing key",
                &["routing_key"],
            ),
            reply_duration: histogram(
                "consumer_reply_duration_seconds",
                "From publish to the consumer's reply, by consumer",
                &["consumer"],
            ),
            reply_timeouts: counter(
                "consumer_reply_timeouts_total",
                "Requests the broker confirmed but no consumer answered in time",
                &["consumer"],
            ),
            consumer_replies: counter(
                "consumer_replies_total",
                "Replies received, by consumer and outcome (the consumers' processed and failed counts)",
                &["consumer", "outcome"],
            ),
            queue_messages: gauge(
                "queue_messages",
                "Messages ready in each queue (at scrape time)",
                &["queue"],
            ),
            queue_consumers: gauge(
                "queue_consumers",
                "Consumers attached to each queue (at scrape time)",
                &["queue"],
            ),
            registry,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding of gathered metrics");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Counts and times every HTTP request by its route template (not its URI, which
/// would make one series per SRN).
pub struct HttpMetrics(pub Arc<Metrics>);

#[derive(Clone, Copy)]
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for HttpMetrics {
    fn info(&self) -> Info {
        Info {
            name: "HTTP metrics",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let started = req.local_cache(|| Started(Instant::now())).0;
        let route = req
            .route()
            .map_or("unmatched".to_owned(), |r| r.uri.path().to_string());
        self.0
            .http_requests
            .with_label_values(&[
                route.as_str(),
                req.method().as_str(),
                &res.status().code.to_string(),
            ])
            .inc();
        self.0
            .http_duration
            .with_label_values(&[route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// Prometheus metrics (text format). Queue gauges are read at scrape time.
#[utoipa::path(tag = "probes", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(
    gateway: &State<Gateway>,
    metrics: &State<Arc<Metrics>>,
) -> (ContentType, String) {
    // While the broker is down the queue gauges keep their last values; the HTTP
    // counters (503s) show the outage.
    let _ = gateway.queue_stats().await;
    let content_type = ContentType::new("text", "plain").with_params([("version", "0.0.4")]);
    (content_type, metrics.render())
}
