//! `make bench`: the system's throughput, latency, memory and CPU per request, each
//! figure beside the broker's own ceiling measured in the same run, written to
//! `bench/RESULTS.md`.
//!
//!     bench [--duration S] [--warmup S] [--concurrency N] [--drain-messages N]
//!           [--scenarios health_check,insert_record,read_full,read_paged,mixed,drain]
//!           [--output FILE (default bench/RESULTS.md)] [--cluster]
//!
//! It runs against the stack `scripts/bench` starts (release builds, its own ports and
//! data), reading that stack's `stack.env` for the admin URLs.

mod ceiling;
mod cpu;
mod load;

use inventory::message::Request;
use inventory::StudentRecord;
use load::{Answer, Figures, Step};
use mysql_async::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PROCESSES: [&str; 5] = [
    "producer",
    "consumer-health",
    "consumer-insert",
    "consumer-delete",
    "consumer-read",
];
const SEEDED: usize = 10_000;

struct Args {
    /// `--cluster`: measure only the ceiling and insert_record on this (cluster) stack,
    /// and append them to RESULTS.md beside the single node's.
    cluster: bool,
    duration: Duration,
    warmup: Duration,
    concurrency: usize,
    drain_messages: usize,
    scenarios: Vec<String>,
    /// Where the report goes (`--output`; scripts/profile keeps RESULTS.md untouched).
    output: PathBuf,
}

fn parse_args() -> Args {
    let mut args = Args {
        cluster: false,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        concurrency: 64,
        drain_messages: 100_000,
        scenarios: [
            "health_check",
            "insert_record",
            "read_full",
            "read_paged",
            "mixed",
            "drain",
        ]
        .map(String::from)
        .to_vec(),
        output: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md"),
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == "--cluster" {
            args.cluster = true;
            args.scenarios = vec!["insert_record".into()];
            i += 1;
            continue;
        }
        let value = raw
            .get(i + 1)
            .cloned()
            .unwrap_or_else(|| panic!("{} needs a value", raw[i]));
        let secs = || Duration::from_secs_f64(value.parse().expect("seconds"));
        match raw[i].as_str() {
            "--duration" => args.duration = secs(),
            "--warmup" => args.warmup = secs(),
            "--concurrency" => args.concurrency = value.parse().expect("--concurrency N"),
            "--drain-messages" => args.drain_messages = value.parse().expect("--drain-messages N"),
            "--scenarios" => args.scenarios = value.split(',').map(str::to_owned).collect(),
            "--output" => args.output = PathBuf::from(value),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    args
}

struct Stack {
    dir: PathBuf,
    base: String,
    amqp_url: String,
    database_url: String,
}

impl Stack {
    fn from_env() -> Stack {
        let dir = PathBuf::from(
            std::env::var("STACK_DIR").expect("STACK_DIR: run through scripts/bench"),
        );
        let env = std::fs::read_to_string(dir.join("stack.env")).expect("stack.env");
        let var = |name: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("{name} missing from stack.env"))
                .to_owned()
        };
        Stack {
            base: format!("http://127.0.0.1:{}", var("HTTP_PORT")),
            amqp_url: format!("{}/%2f", var("TEST_AMQP_ADMIN_URL")),
            database_url: format!("{}/inventory", var("TEST_MYSQL_ADMIN_URL")),
            dir,
        }
    }

    fn pid(&self, process: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(format!("run/{process}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Peak resident memory per process while a scenario runs, sampled every 100 ms.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peaks: Arc<Mutex<BTreeMap<String, u64>>>,
    task: tokio::task::JoinHandle<()>,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

impl RssSampler {
    fn start(stack: &Stack) -> RssSampler {
        let pids: Vec<(String, PathBuf)> = PROCESSES
            .iter()
            .map(|p| (p.to_string(), stack.dir.join(format!("run/{p}.pid"))))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let peaks = Arc::new(Mutex::new(BTreeMap::new()));
        let (s, p) = (stop.clone(), peaks.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                for (name, pidfile) in &pids {
                    let pid = std::fs::read_to_string(pidfile)
                        .ok()
                        .and_then(|t| t.trim().parse().ok());
                    if let Some(kib) = pid.and_then(rss_kib) {
                        let mut peaks = p.lock().unwrap();
                        let peak = peaks.entry(name.clone()).or_insert(0);
                        *peak = (*peak).max(kib);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler { stop, peaks, task }
    }

    async fn finish(self) -> BTreeMap<String, u64> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peaks.lock().unwrap().clone()
    }
}

struct Row {
    scenario: String,
    figures: Option<Figures>,
    /// Items per second for scenarios without HTTP latency (drain, publish ceiling).
    rate: Option<f64>,
    rss: BTreeMap<String, u64>,
    note: String,
    /// CPU over the measured window, divided by what succeeded in it.
    cpu: Option<Cpu>,
}

/// CPU time of a window and the count it is shared by.
struct Cpu {
    /// What one of `count` is: "request", "round trip", "committed insert".
    per: &'static str,
    count: u64,
    usage: cpu::Usage,
}

impl Row {
    /// A measured HTTP (or request-reply) scenario: CPU per successful request.
    fn measured(scenario: String, figures: Figures, per: &'static str) -> Row {
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

/// Sends a request and reads the whole body, as a client would: the status (0 if the
/// request or the transfer failed) and the bytes received.
async fn fetch(request: reqwest::RequestBuilder) -> Answer {
    let Ok(mut response) = request.send().await else {
        return Answer {
            status: 0,
            bytes: 0,
        };
    };
    let status = response.status().as_u16();
    let mut bytes = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes += chunk.len() as u64,
            Ok(None) => return Answer { status, bytes },
            Err(_) => return Answer { status: 0, bytes },
        }
    }
}

async fn seed(database_url: &str, run: &str) -> Vec<String> {
    let mut conn = mysql_async::Conn::from_url(database_url)
        .await
        .expect("database");
    conn.query_drop("DELETE FROM students")
        .await
        .expect("empty the table");
    let srns: Vec<String> = (0..SEEDED).map(|i| format!("S{run}{i:06}")).collect();
    for chunk in srns.chunks(1000) {
        let rows = vec!["(?, ?, ?, NULL)"; chunk.len()].join(", ");
        let params: Vec<mysql_async::Value> = chunk
            .iter()
            .flat_map(|s| [s.as_str().into(), "Seeded Student Name".into(), "A".into()])
            .collect();
        conn.exec_drop(
            format!("INSERT INTO students (srn, name, section, request_id) VALUES {rows}"),
            params,
        )
        .await
        .expect("seed");
    }
    conn.disconnect().await.ok();
    srns
}

/// What the drain measured.
struct Drained {
    committed: u64,
    /// Committed inserts per second, from subscription to the last commit.
    rate: f64,
    note: String,
    /// CPU from subscription until every row was seen committed.
    usage: cpu::Usage,
}

/// The drain test: inserts already queued while consumer-insert is stopped, then the
/// rate at which a freshly started consumer-insert commits them.
///
/// The clock starts when the queue gets its consumer (a passive declare polled every
/// 2 ms: `consumer_count` turns 1), not when the process is launched: start-up is
/// reported apart. It stops at the last drained row's `created_at` (TIMESTAMP(6) set by
/// the database at insert), both on this machine's clock as microseconds since the
/// epoch; polling the row count only says when to look.
async fn drain(stack: &Stack, meter: &cpu::Meter, run: &str, messages: usize) -> Drained {
    use futures_util::StreamExt;
    let pid = stack
        .pid("consumer-insert")
        .expect("consumer-insert is running");
    let _ = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conn = inventory::broker::connect(&stack.amqp_url, "bench-drain")
        .await
        .expect("broker");
    let channel = conn.create_channel().await.unwrap();
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    let mut confirms = futures_util::stream::FuturesUnordered::new();
    for i in 0..messages {
        let record = StudentRecord::new("Drained Student", &format!("D{run}{i:07}"), "D").unwrap();
        let props = lapin::BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(format!("drain-{run}-{i}").into());
        confirms.push(
            channel
                .basic_publish(
                    inventory::topology::EXCHANGE.into(),
                    "insert_record".into(),
                    lapin::options::BasicPublishOptions::default(),
                    &Request::InsertRecord { record }.encode(),
                    props,
                )
                .await
                .expect("publish"),
        );
        if confirms.len() >= 2_000 {
            confirms.next().await;
        }
    }
    while confirms.next().await.is_some() {}

    // Launch consumer-insert, and watch for its subscription.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let launched = Instant::now();
    let mut start = tokio::process::Command::new(root.join("scripts/stack"))
        .arg("start")
        .env("STACK_DIR", &stack.dir)
        .spawn()
        .expect("scripts/stack start");
    let passive = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let (subscribed, subscribed_wall) = loop {
        // The subscription happened before the broker answered this poll and after it
        // answered the previous one: the send time is within one poll of it.
        let (sent, sent_wall) = (Instant::now(), std::time::SystemTime::now());
        let queue = channel
            .queue_declare(
                "insert_record".into(),
                passive,
                lapin::types::FieldTable::default(),
            )
            .await
            .expect("passive declare of insert_record");
        if queue.consumer_count() >= 1 {
            break (sent, sent_wall);
        }
        assert!(
            launched.elapsed() < Duration::from_secs(120),
            "consumer-insert did not subscribe within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let before = meter.snapshot();
    println!("bench: drain: consumer-insert subscribed");
    let startup = subscribed.duration_since(launched).as_secs_f64();
    let t0 = subscribed_wall
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();

    let mut db = mysql_async::Conn::from_url(&stack.database_url)
        .await
        .expect("database");
    let pattern = format!("D{run}%");
    let deadline = subscribed + Duration::from_secs(600);
    let mut committed = 0;
    while Instant::now() < deadline {
        committed = db
            .exec_first::<u64, _, _>(
                "SELECT COUNT(*) FROM students WHERE srn LIKE ?",
                (&pattern,),
            )
            .await
            .expect("count")
            .unwrap_or(0);
        if committed >= messages as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let usage = meter.usage(&before, &meter.snapshot());
    // DECIMAL with six decimals, NULL if nothing was committed.
    let last: Option<String> = db
        .exec_first::<Option<String>, _, _>(
            "SELECT CAST(UNIX_TIMESTAMP(MAX(created_at)) AS CHAR) FROM students WHERE srn LIKE ?",
            (&pattern,),
        )
        .await
        .expect("last commit")
        .flatten();
    db.disconnect().await.ok();
    let started = start.wait().await.is_ok_and(|s| s.success());
    assert!(started, "scripts/stack start failed");
    let _ = conn.close(200, "drained".into()).await;
    let last = last.and_then(|t| t.parse::<f64>().ok()).unwrap_or(t0);
    let seconds = last - t0;
    Drained {
        committed,
        rate: if seconds > 0.0 {
            committed as f64 / seconds
        } else {
            0.0
        },
        note: format!(
            "{committed} of {messages} committed; {seconds:.2} s from subscription to last commit; consumer start-up {startup:.2} s (not counted)"
        ),
        usage,
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let stack = Stack::from_env();
    let meter = cpu::Meter::new(&stack.dir);
    let run = uuid::Uuid::new_v4().simple().to_string()[..5].to_uppercase();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();
    let mut rows = Vec::new();
    let wants = |s: &str| args.scenarios.iter().any(|x| x == s);
    println!(
        "bench: concurrency {}, {:?} per scenario after {:?} warm-up",
        args.concurrency, args.duration, args.warmup
    );

    // The ceiling first, while the machine is as quiet as it will be.
    println!("bench: raw request-reply ceiling");
    let rpc_figures = ceiling::request_reply(
        &stack.amqp_url,
        args.concurrency,
        args.warmup,
        args.duration,
        &meter,
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
        ceiling::publish_pipeline(&stack.amqp_url, args.duration, &meter).await;
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
    if wants("drain") && !args.cluster {
        println!("bench: raw drain ceiling");
        let prefetch = inventory::Settings::from_env()
            .map_or(inventory::Settings::default().prefetch, |s| s.prefetch);
        let (consumed, rate, cpu) =
            ceiling::drain(&stack.amqp_url, args.drain_messages, prefetch, &meter).await;
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

    let scenario = |name: &str, step: Step, expected: &'static [u16]| {
        let (http_concurrency, warmup, duration) = (args.concurrency, args.warmup, args.duration);
        let name = name.to_owned();
        let sampler = RssSampler::start(&stack);
        let meter = &meter;
        async move {
            println!("bench: {name}");
            let figures =
                load::run(step, http_concurrency, warmup, duration, expected, meter).await;
            let note = format!("mean body {:.0} B", figures.mean_body());
            let mut row = Row::measured(name, figures, "request");
            row.rss = sampler.finish().await;
            row.note = note;
            row
        }
    };
    let get = {
        let (http, base) = (http.clone(), stack.base.clone());
        move |path: String| fetch(http.get(format!("{base}{path}")))
    };
    let insert = {
        let (http, base, run) = (http.clone(), stack.base.clone(), run.clone());
        move |n: u64, tag: &'static str| {
            let srn = format!("{tag}{run}{n:08}");
            let body = serde_json::json!({"Name": "Bench Student", "SRN": srn, "Section": "B"});
            fetch(http.post(format!("{base}/insert_record")).json(&body))
        }
    };

    if args.cluster {
        let insert = insert.clone();
        let row = scenario(
            "insert_record (cluster, quorum)",
            Arc::new(move |n| Box::pin(insert(n, "K"))),
            &[201],
        )
        .await;
        rows.push(row);
        let section = cluster_section(&rows, rpc, &meter);
        print!("{section}");
        let mut results = std::fs::read_to_string(&args.output).unwrap_or_default();
        results.push_str(&section);
        std::fs::write(&args.output, results).expect("append to the results");
        return;
    }

    let srns = Arc::new(seed(&stack.database_url, &run).await);
    if wants("health_check") {
        let get = get.clone();
        rows.push(
            scenario(
                "health_check",
                Arc::new(move |_| Box::pin(get("/health_check?message=bench".into()))),
                &[200],
            )
            .await,
        );
    }
    if wants("insert_record") {
        let insert = insert.clone();
        rows.push(
            scenario(
                "insert_record",
                Arc::new(move |n| Box::pin(insert(n, "I"))),
                &[201],
            )
            .await,
        );
    }
    if wants("read_full") {
        // Inserts above added rows: back to exactly the seeded 10,000.
        seed(&stack.database_url, &run).await;
        let get = get.clone();
        let mut row = scenario(
            "read_full (10,000 records)",
            Arc::new(move |_| Box::pin(get("/read_database".into()))),
            &[200],
        )
        .await;
        row.note = format!("{SEEDED} records per response; {}", row.note);
        rows.push(row);
    }
    if wants("read_paged") {
        let (get, srns) = (get.clone(), srns.clone());
        rows.push(
            scenario(
                "read_paged (limit=100)",
                Arc::new(move |n| {
                    let after = &srns[(n as usize * 7919) % (SEEDED - 100)];
                    Box::pin(get(format!("/read_database?limit=100&after={after}")))
                }),
                &[200],
            )
            .await,
        );
    }
    if wants("mixed") {
        let inserted = Arc::new(Mutex::new(Vec::<String>::new()));
        let (get, srns, http, base, run) = (
            get.clone(),
            srns.clone(),
            http.clone(),
            stack.base.clone(),
            run.clone(),
        );
        let mut row = scenario(
            "mixed (70% read, 25% insert, 5% delete)",
            Arc::new(move |n| {
                let (get, http, base, inserted) =
                    (get.clone(), http.clone(), base.clone(), inserted.clone());
                let pick = n % 20;
                let after = srns[(n as usize * 7919) % (SEEDED - 100)].clone();
                let srn = format!("M{run}{n:08}");
                Box::pin(async move {
                    if pick < 14 {
                        get(format!("/read_database?limit=100&after={after}")).await
                    } else if pick < 19 {
                        let body = serde_json::json!({"Name": "Mixed", "SRN": srn, "Section": "M"});
                        let answer =
                            fetch(http.post(format!("{base}/insert_record")).json(&body)).await;
                        if answer.status == 201 {
                            inserted.lock().unwrap().push(srn);
                        }
                        answer
                    } else {
                        let victim = inserted.lock().unwrap().pop();
                        match victim {
                            Some(srn) => get(format!("/delete_record/{srn}")).await,
                            None => get(format!("/read_database?limit=100&after={after}")).await,
                        }
                    }
                })
            }),
            &[200, 201],
        )
        .await;
        row.note = format!("reads are paged (limit=100); {}", row.note);
        rows.push(row);
    }
    if wants("drain") {
        println!("bench: drain of {} queued inserts", args.drain_messages);
        let sampler = RssSampler::start(&stack);
        let drained = drain(&stack, &meter, &run, args.drain_messages).await;
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

    let report = report(&args, &rows, rpc, rpc_p99, drain_ceiling, &meter).await;
    println!("{report}");
    std::fs::write(&args.output, report).expect("write the results");
    println!("bench: wrote {}", args.output.display());
}

async fn command_line(cmd: &str, args: &[&str]) -> String {
    match tokio::process::Command::new(cmd).args(args).output().await {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Err(_) => "unknown".into(),
    }
}

fn mib(kib: Option<&u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1}", *k as f64 / 1024.0))
}

fn answers(f: &Figures) -> String {
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

fn rss_cell(rss: &BTreeMap<String, u64>) -> String {
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
fn cpu_table(rows: &[Row], meter: &cpu::Meter) -> String {
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

/// `--cluster`: the ceiling and the insert load on the cluster, appended to RESULTS.md.
fn cluster_section(rows: &[Row], rpc: f64, meter: &cpu::Meter) -> String {
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

async fn report(
    args: &Args,
    rows: &[Row],
    rpc: f64,
    rpc_p99: f64,
    drain_ceiling: Option<f64>,
    meter: &cpu::Meter,
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

    // Targets, judged from the figures above.
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
    let peak = |p: &str| rows.iter().filter_map(|r| r.rss.get(p)).max().copied();
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
    let _ = writeln!(
        out,
        "## Targets\n\nHow: each judged from the figures above (RSS: the peak over all scenarios).\n\n| target | measured | |\n| --- | --- | --- |\n{targets}"
    );
    let _ = writeln!(out, "## Reading\n");
    out.push_str(&reading(rows));
    let _ = writeln!(
        out,
        "\nWhy each figure is what it is, and what was done about it: [READING.md](READING.md)."
    );
    out
}

/// Where the time went in this run, scenario by scenario, from the CPU table: the
/// biggest shares, how busy the machine was, and the CPU cost against the ceiling's
/// (when the machine is saturated, throughput follows CPU per request).
fn reading(rows: &[Row]) -> String {
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
