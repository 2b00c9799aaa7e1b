//! `--cluster`: the same insert load on the three-node quorum cluster that
//! `scripts/bench` starts second, appended to RESULTS.md beside the single node's.

use crate::cpu;
use crate::report::{answers, cpu_table, rss_cell, Row};
use crate::Bench;
use std::fmt::Write as _;

/// Runs `insert_record` on the cluster, and appends it with the cluster's ceilings
/// (`rows`, `rpc` its request-reply rate) to the results file.
pub(crate) async fn run(bench: &Bench, mut rows: Vec<Row>, rpc: f64) {
    rows.push(crate::requests::insert_record(bench, "insert_record (cluster, quorum)", "K").await);
    let section = section(&rows, rpc, &bench.meter);
    print!("{section}");
    let output = &bench.args.output;
    let mut results = std::fs::read_to_string(output).unwrap_or_default();
    results.push_str(&section);
    std::fs::write(output, results).expect("append to the results");
}

/// `--cluster`: the ceiling and the insert load on the cluster, appended to RESULTS.md.
fn section(rows: &[Row], rpc: f64, meter: &cpu::Meter) -> String {
    let mut section = String::new();
    let _ = writeln!(
        section,
        "\n## The same insert load on a three-node cluster\n"
    );
    let _ = writeln!(section, "Measured by the same `make bench`, after the single-node scenarios, on three RabbitMQ nodes on this machine (`make cluster-test`'s layout) with quorum queues and two replicas of each consumer; its own raw request-reply ceiling measured against the cluster just before.\n");
    let _ = writeln!(section, "How: as for the single node above — the same clients, window and histogram; RSS is the first replica's.\n");
    let _ = writeln!(section, "| scenario | ok/s | ratio to ceiling | p50 ms | p99 ms | answers | peak RSS MiB (producer / health / insert / delete / read, first replicas) |");
    let _ = writeln!(section, "| --- | ---: | ---: | ---: | ---: | --- | --- |");
    for row in rows {
        let Some(f) = &row.figures else { continue };
        let ratio = if row.scenario.starts_with("ceiling") {
            "-".into()
        } else {
            format!("{:.2}", f.per_second / rpc)
        };
        let _ = writeln!(
            section,
            "| {} | {:.0} | {ratio} | {:.2} | {:.2} | {} | {} |",
            row.scenario,
            f.per_second,
            f.p50_ms,
            f.p99_ms,
            answers(f),
            rss_cell(&row.rss)
        );
    }
    let _ = writeln!(section, "\n### Where the CPU goes on the cluster\n");
    let _ = writeln!(
        section,
        "RabbitMQ is the three nodes together; each consumer column sums its two replicas.\n"
    );
    section.push_str(&cpu_table(rows, meter));
    section
}
