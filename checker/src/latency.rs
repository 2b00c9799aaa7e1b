//! Latency of every answered request, per route, as HDR histograms: percentiles
//! without keeping every sample, the way `make bench` measures them.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// Histograms keyed by route (`POST /insert_record`).
#[derive(Clone, Default)]
pub struct Latencies {
    routes: BTreeMap<String, Histogram<u64>>,
}

/// One route's figures, in milliseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteLatency {
    pub route: String,
    pub requests: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latencies {
    pub fn record(&mut self, route: &str, elapsed: Duration) {
        let histogram = self.routes.entry(route.to_string()).or_insert_with(|| {
            // 1 µs to 10 min, three significant figures.
            Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
        });
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        histogram.saturating_record(micros.max(1));
    }

    /// Every route's percentiles, in route order.
    pub fn summary(&self) -> Vec<RouteLatency> {
        let ms = |micros: u64| (micros as f64 / 1000.0 * 100.0).round() / 100.0;
        self.routes
            .iter()
            .map(|(route, h)| RouteLatency {
                route: route.clone(),
                requests: h.len(),
                p50_ms: ms(h.value_at_quantile(0.50)),
                p90_ms: ms(h.value_at_quantile(0.90)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                max_ms: ms(h.max()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_per_route() {
        let mut l = Latencies::default();
        for ms in 1..=100 {
            l.record("GET /read_database", Duration::from_millis(ms));
        }
        l.record("POST /insert_record", Duration::from_millis(7));
        let s = l.summary();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].route, "GET /read_database");
        assert_eq!(s[0].requests, 100);
        assert!((s[0].p50_ms - 50.0).abs() < 0.1, "{:?}", s[0]);
        assert!((s[0].p99_ms - 99.0).abs() < 0.1, "{:?}", s[0]);
        assert!((s[0].max_ms - 100.0).abs() < 0.1, "{:?}", s[0]);
        assert_eq!(s[1].requests, 1);
    }
}
