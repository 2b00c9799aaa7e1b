//! The report written to `bench/RESULTS.md`: the machine and command, the throughput,
//! latency and memory table, the CPU-per-success table, then the targets and the reading
//! ([`crate::reading`]). [`Row`] is one measured scenario, whatever measured it.

use crate::cpu;
use crate::load::Figures;
use crate::stack::PROCESSES;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One line of the report.
pub struct Row {
    pub scenario: String,
    pub figures: Option<Figures>,
    /// Items per second for scenarios without HTTP latency (drain, publish ceiling).
    pub rate: Option<f64>,
    pub rss: BTreeMap<String, u64>,
    pub note: String,
    /// CPU over the measured window, divided by what succeeded in it.
    pub cpu: Option<Cpu>,
}

/// CPU time of a window and the count it is shared by.
pub struct Cpu {
    /// What one of `count` is: "request", "round trip", "committed insert".
    pub per: &'static str,
    pub count: u64,
    pub usage: cpu::Usage,
}

impl Row {
    /// A measured HTTP (or request-reply) scenario: CPU per successful request.
    pub fn measured(scenario: String, figures: Figures, per: &'static str) -> Row {
        Row {
            scenario,
            cpu: Some(Cpu {
                per,
                count: figures.ok,
                usage: figures.cpu.clone(),
            }),
            figures: Some(figures),
            rate: None,
            rss: BTreeMap::new(),
            note: String::new(),
        }
    }
}

pub(crate) async fn report(
    args: &crate::Args,
    rows: &[Row],
    rpc: f64,
    rpc_p99: f64,
    drain_ceiling: Option<f64>,
    meter: &cpu::Meter,
    slow: Option<&crate::slow_clients::Findings>,
) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("unknown", |m| m.trim_start_matches([' ', '\t', ':']));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .unwrap_or("MemTotal: unknown")
        .to_owned();
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark results\n");
    let _ = writeln!(out, "Written by `make bench` (`bench/`); every figure below comes from one run. Do not edit by hand.\n");
    let _ = writeln!(
        out,
        "- machine: {} cores, {}, {}",
        command_line("nproc", &[]).await,
        memory
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" "),
        cpu
    );
    let _ = writeln!(
        out,
        "- versions: {}; {}; RabbitMQ {}; MariaDB {}",
        command_line("rustc", &["-V"]).await,
        command_line("uname", &["-sr"]).await,
        command_line("dpkg-query", &["-W", "-f=${Version}", "rabbitmq-server"]).await,
        command_line("dpkg-query", &["-W", "-f=${Version}", "mariadb-server"]).await
    );
    let _ = writeln!(out, "- everything on this one machine: broker, database, the five release binaries and the load generator");
    let _ = writeln!(out, "- command: `make bench` (`bench --duration {} --warmup {} --concurrency {} --drain-messages {}`)\n",
        args.duration.as_secs_f64(), args.warmup.as_secs_f64(), args.concurrency, args.drain_messages);
    let _ = writeln!(out, "## Throughput, latency, memory\n");
    let _ = writeln!(out, "How: {c} clients, each sending its next request when the last is fully answered (body read to the end), for {w} s unmeasured then {d} s measured; latency from send to the body's last byte, every request sent in the window in one HDR histogram; ok/s counts expected answers only (the request-reply ceiling: confirmed publish, trivial pipelined responder, reply over direct reply-to, by the same clients); the publish ceiling: persistent publishes with 2,000 confirms in flight for {d} s; the raw drain: persistent messages queued first, then taken by a trivial consumer (same prefetch as consumer-insert, one `multiple` ack per group of deliveries that arrived together), timed from its subscription to the last ack; the drain: see its note. Peak RSS sampled every 100 ms per scenario.\n",
        c = args.concurrency, w = args.warmup.as_secs_f64(), d = args.duration.as_secs_f64());
    let _ = writeln!(out, "| scenario | ok/s | ratio to ceiling | p50 ms | p90 ms | p99 ms | max ms | answers | peak RSS MiB (producer / health / insert / delete / read) | note |");
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
    );
    for row in rows {
        let rate = row
            .figures
            .as_ref()
            .map_or(row.rate.unwrap_or(0.0), |f| f.per_second);
        let ceiling = if row.scenario.starts_with("drain") {
            drain_ceiling
        } else if row.scenario.starts_with("ceiling") {
            None
        } else {
            Some(rpc)
        };
        let ratio = ceiling.map_or("-".into(), |c| format!("{:.2}", rate / c));
        let (p50, p90, p99, max, answers) = match &row.figures {
            Some(f) => (
                format!("{:.2}", f.p50_ms),
                format!("{:.2}", f.p90_ms),
                format!("{:.2}", f.p99_ms),
                format!("{:.1}", f.max_ms),
                answers(f),
            ),
            None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {ratio} | {p50} | {p90} | {p99} | {max} | {answers} | {} | {} |",
            row.scenario,
            rate,
            rss_cell(&row.rss),
            row.note
        );
    }
    let _ = writeln!(out, "\nRatios: `health_check`, `insert_record` and the reads against the raw request-reply ceiling ({rpc:.0}/s, p99 {rpc_p99:.2} ms); the drain against the raw drain ceiling (the same number of queued persistent messages taken by a trivial consumer with consumer-insert's prefetch). The confirmed-publish pipeline is the broker's rate for accepting persistent messages, shown for reference.\n");
    let _ = writeln!(out, "## Where the time goes: CPU per success\n");
    out.push_str(&cpu_table(rows, meter));
    let _ = writeln!(out);

    if let Some(findings) = slow {
        out.push_str(&crate::slow_clients::section(
            rows,
            findings,
            args.concurrency,
        ));
        let _ = writeln!(out);
    }
    out.push_str(&crate::reading::targets(rows, rpc, slow));
    let _ = writeln!(out, "## Reading\n");
    out.push_str(&crate::reading::reading(rows));
    let _ = writeln!(
        out,
        "\nWhy each figure is what it is, and what was done about it: [READING.md](READING.md)."
    );
    out
}

pub(crate) async fn command_line(cmd: &str, args: &[&str]) -> String {
    match tokio::process::Command::new(cmd).args(args).output().await {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(_) => "unknown".into(),
    }
}

pub(crate) fn mib(kib: Option<&u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1}", *k as f64 / 1024.0))
}

pub(crate) fn answers(f: &Figures) -> String {
    f.statuses
        .iter()
        .map(|(s, n)| {
            if *s == 0 {
                format!("transport error: {n}")
            } else {
                format!("{s}: {n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn rss_cell(rss: &BTreeMap<String, u64>) -> String {
    if rss.is_empty() {
        return "-".into();
    }
    PROCESSES
        .iter()
        .map(|p| mib(rss.get(*p)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The second table: CPU microseconds per success, by component, for every row that
/// measured CPU.
pub(crate) fn cpu_table(rows: &[Row], meter: &cpu::Meter) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "How: each process's utime + stime (`/proc/<pid>/stat`, all threads, ticks of 1/{} s) read when the measured window opens and when it closes — the same window as the latency histogram; the drain's from the consumer's subscription until all rows were seen committed — divided by what succeeded in it. RabbitMQ is the `beam.smp` process of each of this stack's nodes (found by the files it holds open under the stack's folder) and its helper children; MariaDB is `mariadbd`; bench is this load generator, ceilings' clients and responder included. Rest of machine: `/proc/stat` busy time minus all of these (kernel threads, any other process on this shared machine). Busy and steal: shares of all CPU time on all cores in the window.\n", meter.ticks_per_second());
    let _ = writeln!(out, "| scenario | µs of CPU per | producer | health | insert | delete | read | RabbitMQ | MariaDB | bench | total | rest of machine | machine busy % | steal % |");
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    let micros = |seconds: f64, count: u64| {
        let us = seconds * 1e6 / count.max(1) as f64;
        if us.abs() < 10.0 {
            format!("{us:.1}")
        } else {
            format!("{us:.0}")
        }
    };
    for row in rows {
        let Some(cpu) = &row.cpu else { continue };
        let u = &cpu.usage;
        let mut cells: Vec<String> = cpu::COMPONENTS
            .iter()
            .map(|c| micros(u.components.get(c).copied().unwrap_or(0.0), cpu.count))
            .collect();
        cells.push(format!("**{}**", micros(u.total(), cpu.count)));
        cells.push(micros(u.rest(), cpu.count));
        let (busy, steal) = u.machine_percent();
        let _ = writeln!(
            out,
            "| {} | {} ({} in {:.1} s) | {} | {busy:.0} | {steal:.1} |",
            row.scenario,
            cpu.per,
            cpu.count,
            u.wall_seconds,
            cells.join(" | ")
        );
    }
    out
}
