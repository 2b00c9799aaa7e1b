//! Judgments of one run's figures: the targets table (met or not) and the reading of
//! where the CPU went, scenario by scenario.

use crate::report::{mib, Cpu, Row};
use std::fmt::Write as _;

/// Which figure of a scenario a target judges.
#[derive(Clone, Copy)]
enum Measure {
    PerSecond,
    P50,
    P99,
    /// Requests per second as a share of the raw request-reply ceiling.
    OfCeiling,
    /// Items per second of a scenario without HTTP latency.
    Rate,
}

impl Measure {
    /// The figure in `row`; `None` when the scenario did not measure it.
    fn of(self, row: &Row, rpc: f64) -> Option<f64> {
        let figures = row.figures.as_ref();
        match self {
            Measure::PerSecond => figures.map(|f| f.per_second),
            Measure::P50 => figures.map(|f| f.p50_ms),
            Measure::P99 => figures.map(|f| f.p99_ms),
            Measure::OfCeiling => figures.map(|f| f.per_second / rpc),
            Measure::Rate => row.rate,
        }
    }

    fn show(self, value: f64) -> String {
        match self {
            Measure::PerSecond | Measure::Rate => format!("{value:.0}/s"),
            Measure::P50 | Measure::P99 => format!("{value:.2} ms"),
            Measure::OfCeiling => format!("{value:.2}"),
        }
    }
}

/// What a target asks of its figure.
#[derive(Clone, Copy)]
enum Goal {
    AtLeast(f64),
    Below(f64),
}

impl Goal {
    fn met(self, value: f64) -> bool {
        match self {
            Goal::AtLeast(bound) => value >= bound,
            Goal::Below(bound) => value < bound,
        }
    }
}

/// The targets judged from one scenario's figure: what, the scenario (by prefix), the
/// figure and its goal.
#[rustfmt::skip]
const FIGURE_TARGETS: [(&str, &str, Measure, Goal); 7] = [
    ("insert_record ≥ 8,000 req/s",                  "insert_record", Measure::PerSecond, Goal::AtLeast(8000.0)),
    ("insert_record p99 < 25 ms",                    "insert_record", Measure::P99,       Goal::Below(25.0)),
    ("insert_record ≥ 0.4 of request-reply ceiling", "insert_record", Measure::OfCeiling, Goal::AtLeast(0.4)),
    ("health_check ≥ 0.5 of request-reply ceiling",  "health_check",  Measure::OfCeiling, Goal::AtLeast(0.5)),
    ("read_full (10,000 records) p50 < 50 ms",       "read_full",     Measure::P50,       Goal::Below(50.0)),
    ("read_paged ≥ 3,000 req/s",                     "read_paged",    Measure::PerSecond, Goal::AtLeast(3000.0)),
    ("drain ≥ 50,000 inserts/s",                     "drain",         Measure::Rate,      Goal::AtLeast(50_000.0)),
];

/// The targets table, each judged from the figures of this run (RSS: the peak over all
/// scenarios); `rpc` is the raw request-reply ceiling in round trips per second.
pub(crate) fn targets(
    rows: &[Row],
    rpc: f64,
    slow: Option<&crate::slow_clients::Findings>,
) -> String {
    let find = |prefix: &str| rows.iter().find(|r| r.scenario.starts_with(prefix));
    let mut targets = String::new();
    let mut check = |what: &str, ok: Option<bool>, got: String| {
        let mark = match ok {
            Some(true) => "✅",
            Some(false) => "❌",
            None => "not run",
        };
        let _ = writeln!(targets, "| {what} | {got} | {mark} |");
    };
    for (what, scenario, measure, goal) in FIGURE_TARGETS {
        let value = find(scenario).and_then(|r| measure.of(r, rpc));
        let shown = value.map_or("-".into(), |v| measure.show(v));
        check(what, value.map(|v| goal.met(v)), shown);
    }
    // Normal operation: the slow-client attack's memory is judged in its own section.
    let peak = |p: &str| {
        rows.iter()
            .filter(|r| !r.scenario.starts_with("slow_clients"))
            .filter_map(|r| r.rss.get(p))
            .max()
            .copied()
    };
    let producer = peak("producer");
    check(
        "producer RSS < 40 MB",
        producer.map(|k| (k as f64) < 40.0 * 1000.0),
        mib(producer.as_ref()) + " MiB",
    );
    let consumers = [
        "consumer-health",
        "consumer-insert",
        "consumer-delete",
        "consumer-read",
    ]
    .iter()
    .filter_map(|p| peak(p))
    .max();
    check(
        "each consumer RSS < 20 MB",
        consumers.map(|k| (k as f64) < 20.0 * 1000.0),
        mib(consumers.as_ref()) + " MiB (largest)",
    );
    if let Some(findings) = slow {
        for (what, ok, got) in crate::slow_clients::goals(rows, findings) {
            check(&what, ok, got);
        }
    }
    format!(
        "## Targets\n\nHow: each judged from the figures above (RSS: the peak over all scenarios but the slow-client attack).\n\n| target | measured | |\n| --- | --- | --- |\n{targets}\n"
    )
}

/// Where the time went in this run, scenario by scenario, from the CPU table: the
/// biggest shares, how busy the machine was, and the CPU cost against the ceiling's
/// (when the machine is saturated, throughput follows CPU per request).
pub(crate) fn reading(rows: &[Row]) -> String {
    let mut out = String::new();
    fn per_unit(row: &Row) -> Option<(f64, &Cpu)> {
        row.cpu
            .as_ref()
            .map(|c| (c.usage.total() * 1e6 / c.count.max(1) as f64, c))
    }
    let ceiling_cost = |name: &str| {
        rows.iter()
            .find(|r| r.scenario.starts_with(name))
            .and_then(per_unit)
            .map(|(us, _)| us)
    };
    let rpc = ceiling_cost("ceiling: raw request-reply");
    let drain = ceiling_cost("ceiling: raw drain");
    for row in rows {
        let Some((total, cpu)) = per_unit(row) else {
            continue;
        };
        let mut shares: Vec<(&str, f64)> = cpu
            .usage
            .components
            .iter()
            .map(|(name, seconds)| (*name, 100.0 * seconds / cpu.usage.total().max(1e-9)))
            .filter(|(_, share)| *share >= 5.0)
            .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1));
        let shares = shares
            .iter()
            .map(|(name, share)| format!("{name} {share:.0}%"))
            .collect::<Vec<_>>()
            .join(", ");
        let (busy, steal) = cpu.usage.machine_percent();
        let bound = if busy >= 85.0 {
            "CPU-bound"
        } else {
            "not CPU-bound: waiting on something"
        };
        let mut line = format!(
            "- **{}**: {total:.0} µs of CPU per {} ({shares}); machine {busy:.0}% busy ({bound}), steal {steal:.1}%.",
            row.scenario, cpu.per
        );
        let against = if row.scenario.starts_with("drain") {
            drain.map(|c| ("the raw drain", c))
        } else if row.scenario.starts_with("ceiling") {
            None
        } else {
            rpc.map(|c| ("the raw request-reply loop", c))
        };
        if let Some((name, cost)) = against {
            let _ = write!(
                line,
                " Against {name}'s {cost:.0} µs: {:.2} of its CPU cost.",
                cost / total
            );
        }
        let _ = writeln!(out, "{line}");
    }
    out
}
