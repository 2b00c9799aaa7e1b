//! HTTP load: a fixed number of clients, each sending its next request as soon as the
//! last is answered, for a fixed time after a warm-up. Latency goes into one HDR
//! histogram per scenario; answers are counted by status.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one request does: returns the HTTP status (0 for a transport error).
pub type Step =
    Arc<dyn Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = u16> + Send>> + Send + Sync>;

/// Figures of one scenario.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Expected answers per second.
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Answers by status (0: transport error).
    pub statuses: BTreeMap<u16, u64>,
}

/// Runs `step` from `concurrency` clients: `warmup` unmeasured, then `duration` measured.
/// `expected` is the status a successful request gets.
pub async fn run(
    step: Step,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    expected: &[u16],
) -> Figures {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, u64>::new()));
    let histogram = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
    ));
    let clients: Vec<_> = (0..concurrency)
        .map(|_| {
            let (step, counter, statuses, histogram) = (
                step.clone(),
                counter.clone(),
                statuses.clone(),
                histogram.clone(),
            );
            tokio::spawn(async move {
                let mut local =
                    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
                let mut local_statuses = BTreeMap::<u16, u64>::new();
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let status = step(n).await;
                    if sent >= measure_from {
                        let micros = sent.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                        let _ = local.record(micros);
                        *local_statuses.entry(status).or_default() += 1;
                    }
                }
                histogram.lock().unwrap().add(&local).expect("same bounds");
                let mut all = statuses.lock().unwrap();
                for (status, n) in local_statuses {
                    *all.entry(status).or_default() += n;
                }
            })
        })
        .collect();
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
        per_second: ok as f64 / duration.as_secs_f64(),
        p50_ms: ms(0.5),
        p90_ms: ms(0.9),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
        statuses,
    }
}
