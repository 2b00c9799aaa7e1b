//! Judgments of one run's figures: the targets table (met or not) and the reading of
//! where the CPU went, scenario by scenario.

use crate::report::{mib, Cpu, Row};
use std::fmt::Write as _;

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
    let insert = find("insert_record").and_then(|r| r.figures.clone());
    check(
        "insert_record ≥ 8,000 req/s",
        insert.as_ref().map(|f| f.per_second >= 8000.0),
        insert
            .as_ref()
            .map_or("-".into(), |f| format!("{:.0}/s", f.per_second)),
    );
    check(
        "insert_record p99 < 25 ms",
        insert.as_ref().map(|f| f.p99_ms < 25.0),
        insert
            .as_ref()
            .map_or("-".into(), |f| format!("{:.2} ms", f.p99_ms)),
    );
    check(
        "insert_record ≥ 0.4 of request-reply ceiling",
        insert.as_ref().map(|f| f.per_second / rpc >= 0.4),
        insert
            .as_ref()
            .map_or("-".into(), |f| format!("{:.2}", f.per_second / rpc)),
    );
    let health = find("health_check").and_then(|r| r.figures.clone());
    check(
        "health_check ≥ 0.5 of request-reply ceiling",
        health.as_ref().map(|f| f.per_second / rpc >= 0.5),
        health
            .as_ref()
            .map_or("-".into(), |f| format!("{:.2}", f.per_second / rpc)),
    );
    let full = find("read_full").and_then(|r| r.figures.clone());
    check(
        "read_full (10,000 records) p50 < 50 ms",
        full.as_ref().map(|f| f.p50_ms < 50.0),
        full.as_ref()
            .map_or("-".into(), |f| format!("{:.2} ms", f.p50_ms)),
    );
    let paged = find("read_paged").and_then(|r| r.figures.clone());
    check(
        "read_paged ≥ 3,000 req/s",
        paged.as_ref().map(|f| f.per_second >= 3000.0),
        paged
            .as_ref()
            .map_or("-".into(), |f| format!("{:.0}/s", f.per_second)),
    );
    let drain = find("drain").and_then(|r| r.rate);
    check(
        "drain ≥ 50,000 inserts/s",
        drain.map(|r| r >= 50_000.0),
        drain.map_or("-".into(), |r| format!("{r:.0}/s")),
    );
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
