//! HTTP load: a fixed number of clients, each sending its next request as soon as the
//! last is answered, for a fixed time after a warm-up. Latency goes into one HDR
//! histogram per scenario; answers are counted by status; CPU time per component is
//! taken over the same measured window.

use crate::cpu;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How one request ended.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// The HTTP status, 0 for a transport error (body included).
    pub status: u16,
    /// Body bytes received.
    pub bytes: u64,
}

/// What one request does.
pub(crate) type Step =
    Arc<dyn Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = Answer> + Send>> + Send + Sync>;

/// Figures of one scenario's measured window.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Requests with an expected answer.
    pub ok: u64,
    /// Expected answers per second.
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Answers by status (0: transport error).
    pub statuses: BTreeMap<u16, u64>,
    /// Body bytes received, all answers.
    pub bytes: u64,
    /// CPU time spent while the window ran.
    pub cpu: cpu::Usage,
}

impl Figures {
    /// Mean body size over all answers in the window.
    pub fn mean_body(&self) -> f64 {
        let answers: u64 = self.statuses.values().sum();
        self.bytes as f64 / answers.max(1) as f64
    }
}

/// Runs `step` from `concurrency` clients: `warmup` unmeasured, then `duration` measured.
/// `expected` is the status a successful request gets. A request counts in the window
/// it was sent in; `meter` reads CPU time at the window's start and end.
pub(crate) async fn run(
    step: Step,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    expected: &[u16],
    meter: &cpu::Meter,
) -> Figures {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
    let bytes = Arc::new(AtomicU64::new(0));
    let histogram = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
    ));
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (step, counter, statuses, histogram, bytes) = (
                step.clone(),
                counter.clone(),
                statuses.clone(),
                histogram.clone(),
                bytes.clone(),
            );
            tokio::spawn(async move {
                let mut local =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
                let mut local_statuses = BTreeMap::<u16, u64>::new();
                let mut local_bytes = 0;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let answer = step(n).await;
                    if sent >= measure_from {
                        let micros = sent.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                        let _ = local.record(micros);
                        *local_statuses.entry(answer.status).or_default() += 1;
                        local_bytes += answer.bytes;
                    }
                }
                histogram.lock().unwrap().add(&local).expect("same bounds");
                bytes.fetch_add(local_bytes, Ordering::Relaxed);
                let mut all = statuses.lock().unwrap();
                for (status, n) in local_statuses {
                    *all.entry(status).or_default() += n;
                }
            })
        })
        .collect();
    // This task is idle while the clients run: it reads CPU time at the window's edges.
    tokio::time::sleep_until(measure_from.into()).await;
    let before = meter.snapshot();
    tokio::time::sleep_until(end.into()).await;
    let after = meter.snapshot();
    for client in clients {
        client.await.expect("load client");
    }
    let histogram = histogram.lock().unwrap();
    let statuses = statuses.lock().unwrap().clone();
    let ok: u64 = statuses
        .iter()
        .filter(|(s, _)| expected.contains(s))
        .map(|(_, n)| n)
        .sum();
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Figures {
        ok,
        per_second: ok as f64 / duration.as_secs_f64(),
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
        statuses,
        bytes: bytes.load(Ordering::Relaxed),
        cpu: meter.usage(&before, &after),
    }
}
