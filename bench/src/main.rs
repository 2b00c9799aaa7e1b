//! `make bench`: the system's throughput, latency, memory and CPU per request, each
//! figure beside the broker's own ceiling measured in the same run, written to
//! `bench/RESULTS.md`.
//!
//!     bench [--duration S] [--warmup S] [--concurrency N] [--drain-messages N]
//!           [--scenarios health_check,insert_record,read_full,read_paged,mixed,drain,slow_clients]
//!           [--output FILE (default bench/RESULTS.md)] [--cluster]
//!
//! It runs against the stack `scripts/bench` starts (release builds, its own ports and
//! data), reading that stack's `stack.env` for the admin URLs. This file holds the
//! arguments and the order of the run; each scenario lives in its own module.

mod attack;
mod ceiling;
mod cluster;
mod cpu;
mod drain;
mod haproxy;
mod load;
mod reading;
mod report;
mod requests;
mod slow_clients;
mod stack;

use clap::{Parser, ValueEnum};
use load::Step;
use report::{Cpu, Row};
use stack::{RssSampler, Stack};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A scenario `--scenarios` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    #[value(name = "health_check")]
    HealthCheck,
    #[value(name = "insert_record")]
    InsertRecord,
    #[value(name = "read_full")]
    ReadFull,
    #[value(name = "read_paged")]
    ReadPaged,
    #[value(name = "mixed")]
    Mixed,
    #[value(name = "drain")]
    Drain,
    #[value(name = "slow_clients", alias = "slow-clients")]
    SlowClients,
}

const ALL_SCENARIOS: [Scenario; 7] = [
    Scenario::HealthCheck,
    Scenario::InsertRecord,
    Scenario::ReadFull,
    Scenario::ReadPaged,
    Scenario::Mixed,
    Scenario::Drain,
    Scenario::SlowClients,
];

/// Throughput, latency, memory and CPU per request of the running stack, beside the
/// broker's own ceiling, written to bench/RESULTS.md. Run it through scripts/bench
/// (`make bench`), which starts the stack and sets STACK_DIR.
#[derive(Parser)]
#[command(name = "bench")]
pub struct Args {
    /// Measured seconds per scenario.
    #[arg(long, default_value = "10", value_parser = seconds)]
    pub duration: Duration,
    /// Unmeasured seconds before each scenario's window.
    #[arg(long, default_value = "2", value_parser = seconds)]
    pub warmup: Duration,
    /// Concurrent HTTP clients (and request-reply clients of the ceiling).
    #[arg(long, default_value_t = 64, value_parser = at_least_one)]
    pub concurrency: usize,
    /// Inserts queued for the drain (and its raw ceiling).
    #[arg(long, default_value_t = 100_000)]
    pub drain_messages: usize,
    /// Which scenarios run, comma-separated (the ceilings always run).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = ALL_SCENARIOS)]
    pub scenarios: Vec<Scenario>,
    /// Where the report goes (scripts/profile keeps RESULTS.md untouched).
    #[arg(long, default_value_os_t = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md"))]
    pub output: PathBuf,
    /// Measure only the ceiling and insert_record on this (cluster) stack, and append
    /// them to the output beside the single node's.
    #[arg(long)]
    pub cluster: bool,
}

fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    Duration::try_from_secs_f64(value).map_err(|e| format!("{e}"))
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// What every scenario measures with: the arguments, the stack and its meters.
pub struct Bench {
    pub args: Args,
    pub stack: Stack,
    pub meter: cpu::Meter,
    pub http: reqwest::Client,
    /// Five characters unique to this run, in every SRN it makes.
    pub run: String,
}

impl Bench {
    fn wants(&self, scenario: Scenario) -> bool {
        self.args.scenarios.contains(&scenario)
    }

    /// Runs `step` from `--concurrency` clients (see [`load::run`]), with each
    /// process's peak RSS and the CPU per successful request.
    pub async fn http_scenario(&self, name: &str, step: Step, expected: &'static [u16]) -> Row {
        let sampler = RssSampler::start(&self.stack);
        println!("bench: {name}");
        let args = &self.args;
        let figures = load::run(
            step,
            args.concurrency,
            args.warmup,
            args.duration,
            expected,
            &self.meter,
        )
        .await;
        let note = format!("mean body {:.0} B", figures.mean_body());
        let mut row = Row::measured(name.to_owned(), figures, "request");
        row.rss = sampler.finish().await;
        row.note = note;
        row
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let stack = Stack::from_env();
    let meter = cpu::Meter::new(&stack.dir);
    let run = uuid::Uuid::new_v4().simple().to_string()[..5].to_uppercase();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();
    let bench = Bench {
        args,
        stack,
        meter,
        http,
        run,
    };
    let (args, meter) = (&bench.args, &bench.meter);
    let mut rows = Vec::new();
    println!(
        "bench: concurrency {}, {:?} per scenario after {:?} warm-up",
        args.concurrency, args.duration, args.warmup
    );

    // The ceiling first, while the machine is as quiet as it will be.
    println!("bench: raw request-reply ceiling");
    let amqp_url = &bench.stack.amqp_url;
    let rpc_figures = ceiling::request_reply(
        amqp_url,
        args.concurrency,
        args.warmup,
        args.duration,
        meter,
    )
    .await;
    let (rpc, rpc_p99) = (rpc_figures.per_second, rpc_figures.p99_ms);
    let scope = if args.cluster {
        " (cluster, quorum queue)"
    } else {
        ""
    };
    rows.push(Row::measured(
        format!("ceiling: raw request-reply{scope}"),
        rpc_figures,
        "round trip",
    ));
    println!("bench: raw publish-with-confirms ceiling");
    let (confirmed, publish, publish_cpu) =
        ceiling::publish_pipeline(amqp_url, args.duration, meter).await;
    rows.push(Row {
        scenario: format!("ceiling: raw confirmed publishes{scope}"),
        figures: None,
        rate: Some(publish),
        rss: BTreeMap::new(),
        note: String::new(),
        cpu: Some(Cpu {
            per: "publish",
            count: confirmed,
            usage: publish_cpu,
        }),
    });

    // The drain's own ceiling: as many messages, the same prefetch as consumer-insert.
    let mut drain_ceiling = None;
    if bench.wants(Scenario::Drain) && !args.cluster {
        println!("bench: raw drain ceiling");
        let prefetch = inventory::Settings::from_env()
            .map_or(inventory::Settings::default().prefetch, |s| s.prefetch);
        let (consumed, rate, cpu) =
            ceiling::drain(amqp_url, args.drain_messages, prefetch, meter).await;
        drain_ceiling = Some(rate);
        rows.push(Row {
            scenario: "ceiling: raw drain".into(),
            figures: None,
            rate: Some(rate),
            rss: BTreeMap::new(),
            note: format!("{consumed} queued persistent messages, prefetch {prefetch}"),
            cpu: Some(Cpu {
                per: "message",
                count: consumed,
                usage: cpu,
            }),
        });
    }

    if args.cluster {
        cluster::run(&bench, rows, rpc).await;
        return;
    }

    let srns = Arc::new(requests::seed(&bench.stack.database_url, &bench.run).await);
    if bench.wants(Scenario::HealthCheck) {
        rows.push(requests::health_check(&bench).await);
    }
    if bench.wants(Scenario::InsertRecord) {
        rows.push(requests::insert_record(&bench, "insert_record", "I").await);
    }
    if bench.wants(Scenario::ReadFull) {
        rows.push(requests::read_full(&bench).await);
    }
    if bench.wants(Scenario::ReadPaged) {
        rows.push(requests::read_paged(&bench, srns.clone()).await);
    }
    if bench.wants(Scenario::Mixed) {
        rows.push(requests::mixed(&bench, srns.clone()).await);
    }
    if bench.wants(Scenario::Drain) {
        println!("bench: drain of {} queued inserts", args.drain_messages);
        let sampler = RssSampler::start(&bench.stack);
        let drained = drain::drain(&bench.stack, meter, &bench.run, args.drain_messages).await;
        rows.push(Row {
            scenario: format!("drain ({} queued inserts)", args.drain_messages),
            figures: None,
            rate: Some(drained.rate),
            rss: sampler.finish().await,
            note: drained.note,
            cpu: Some(Cpu {
                per: "committed insert",
                count: drained.committed,
                usage: drained.usage,
            }),
        });
    }

    // Last: the attack leaves the producer's memory high (the allocator keeps it), which
    // would show in the RSS of any scenario after it.
    let mut slow = None;
    if bench.wants(Scenario::SlowClients) {
        let (slow_rows, findings) = slow_clients::run(&bench).await;
        rows.extend(slow_rows);
        slow = Some(findings);
    }
    let report = report::report(
        args,
        &rows,
        rpc,
        rpc_p99,
        drain_ceiling,
        meter,
        slow.as_ref(),
    )
    .await;
    println!("{report}");
    std::fs::write(&args.output, report).expect("write the results");
    println!("bench: wrote {}", args.output.display());
}
