//! The `slow_clients` scenario: ordinary clients (half health checks, half inserts)
//! measured alone, then through HAProxy (the alternative to the patched server, for
//! its CPU per request), then while 10,000 slow connections ([`crate::attack`]) are
//! held against the producer. After the attack stops reopening, it waits out the
//! header and body deadlines and counts the attack connections still open, twice: the
//! attackers' own count and the kernel's socket table (`/proc/net/tcp*`). The
//! producer's peak RSS is sampled every 100 ms and read again as the kernel's
//! high-water mark (`VmHWM`, reset when the attack starts).

use crate::attack::Attack;
use crate::haproxy::Haproxy;
use crate::load::Step;
use crate::report::Row;
use crate::requests::fetch;
use crate::stack::{rss_kib, RssSampler};
use crate::Bench;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Slow connections held against the producer.
pub(crate) const ATTACK_CONNECTIONS: usize = 10_000;
/// The producer's header and body deadlines on the bench stack (its defaults).
const DEADLINE: Duration = Duration::from_secs(10);
/// Slack for the deadline's timer on a busy machine, before counting.
const MARGIN: Duration = Duration::from_secs(2);

/// What the scenario measured beside its rows.
pub(crate) struct Findings {
    pub connections: usize,
    /// The bench's own open-file limit (raised to the hard limit first).
    pub fd_limit: u64,
    pub ramp_seconds: f64,
    pub opened: u64,
    pub connect_failures: u64,
    pub closed_by_server: u64,
    pub answered_408: u64,
    /// Open→close of attack connections the producer closed: p50, p99, max (s).
    pub lifetime: (f64, f64, f64),
    /// Attack connections still open after the deadline: the attackers' count, the
    /// kernel's.
    pub open_after: (u64, u64),
    /// The producer's open socket descriptors: before the attack (the ordinary
    /// clients' kept-alive connections included), at its height, after the deadline.
    pub producer_sockets: (usize, usize, usize),
    /// The producer's peak RSS in KiB under attack: sampled, and the kernel's VmHWM.
    pub peak_rss: (u64, Option<u64>),
    pub rss_before: Option<u64>,
    /// After the deadline, the attack's connections closed.
    pub rss_after: Option<u64>,
    /// Why HAProxy was not measured, if it was not.
    pub haproxy_missing: Option<String>,
}

/// The ordinary clients' step against `base`: even requests are health checks, odd
/// ones inserts whose SRNs start with `tag`.
fn ordinary(bench: &Bench, base: &str, tag: &'static str) -> Step {
    let (http, base, run) = (bench.http.clone(), base.to_owned(), bench.run.clone());
    Arc::new(move |n| {
        if n % 2 == 0 {
            Box::pin(fetch(
                http.get(format!("{base}/health_check?message=bench")),
            ))
        } else {
            let body = serde_json::json!({"Name": "Ordinary Client", "SRN": format!("{tag}{run}{n:08}"), "Section": "O"});
            Box::pin(fetch(
                http.post(format!("{base}/insert_record")).json(&body),
            ))
        }
    })
}

/// The ordinary load against `base` (SRNs tagged `tag`), measured as the row
/// `slow_clients: ordinary load {what}`.
async fn ordinary_row(bench: &Bench, base: &str, tag: &'static str, what: &str) -> Row {
    let name = format!("slow_clients: ordinary load {what}");
    bench
        .http_scenario(&name, ordinary(bench, base, tag), &[200, 201])
        .await
}

/// Runs the scenario: three rows for the report's tables, and the findings.
pub(crate) async fn run(bench: &Bench) -> (Vec<Row>, Findings) {
    let base = bench.stack.base.clone();
    let mut rows = Vec::new();
    rows.push(ordinary_row(bench, &base, "N", "alone (50% health, 50% insert)").await);

    // The alternative: the same load through HAProxy, its CPU counted in the total.
    let producer_addr = base.trim_start_matches("http://").to_owned();
    let haproxy_missing = match Haproxy::start(&bench.stack.dir, &producer_addr).await {
        Ok(proxy) => {
            bench.meter.watch("haproxy", proxy.pid);
            let mut row = ordinary_row(bench, &proxy.base, "P", "through HAProxy").await;
            bench.meter.unwatch("haproxy");
            proxy.stop().await;
            if let Some(cpu) = &row.cpu {
                let haproxy = cpu.usage.components.get("haproxy").copied().unwrap_or(0.0);
                let us = haproxy * 1e6 / cpu.count.max(1) as f64;
                row.note = format!(
                    "{}; HAProxy {us:.0} µs of CPU per request, in the total",
                    row.note
                );
            }
            rows.push(row);
            None
        }
        Err(why) => Some(why),
    };

    // The attack.
    let pid = bench
        .stack
        .pid("producer")
        .expect("the producer is running");
    let sockets_before = socket_fds(pid);
    let rss_before = rss_kib(pid);
    // Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    let hwm_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let sampler = RssSampler::start(&bench.stack);
    let addr = producer_addr.parse().expect("the producer's address");
    let fd_limit = crate::attack::raise_fd_limit();
    if fd_limit < ATTACK_CONNECTIONS as u64 + 1024 {
        println!("bench: slow_clients: the open-file limit ({fd_limit}) is too low for {ATTACK_CONNECTIONS} connections: connects will fail");
    }
    println!("bench: slow_clients: opening {ATTACK_CONNECTIONS} slow connections");
    let attack = Attack::start(addr, ATTACK_CONNECTIONS);
    let ramp = Instant::now();
    while attack.tally.open.load(Ordering::Relaxed) < ATTACK_CONNECTIONS as u64 * 95 / 100
        && ramp.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ramp_seconds = ramp.elapsed().as_secs_f64();
    let sockets_height = socket_fds(pid);
    let what = "under attack (10,000 slow connections)";
    let mut under = ordinary_row(bench, &base, "A", what).await;
    under.note = format!(
        "{}; {} attack connections open when measured",
        under.note,
        attack.tally.open.load(Ordering::Relaxed)
    );
    rows.push(under);

    // No more reopening: every attack connection open now must be closed by the
    // deadlines. Wait them out, then count.
    attack.stop_sustaining();
    println!("bench: slow_clients: waiting out the deadlines");
    tokio::time::sleep(DEADLINE + MARGIN).await;
    let ports: HashSet<u16> = attack.tally.ports.lock().unwrap().clone();
    let open_tool = attack.tally.open.load(Ordering::Relaxed);
    let open_kernel = kernel_open(addr.port(), &ports);
    let sockets_after = socket_fds(pid);
    let hwm = if hwm_reset { vm_hwm(pid) } else { None };
    let rss_after = rss_kib(pid);
    let peaks = sampler.finish().await;
    let t = &attack.tally;
    let lifetime = t
        .lifetimes
        .lock()
        .unwrap()
        .take()
        .map_or((0.0, 0.0, 0.0), |h| {
            let s = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            (s(0.5), s(0.99), h.max() as f64 / 1000.0)
        });
    let findings = Findings {
        connections: ATTACK_CONNECTIONS,
        fd_limit,
        ramp_seconds,
        opened: t.opened.load(Ordering::Relaxed),
        connect_failures: t.connect_failures.load(Ordering::Relaxed),
        closed_by_server: t.closed_by_server.load(Ordering::Relaxed),
        answered_408: t.answered_408.load(Ordering::Relaxed),
        lifetime,
        open_after: (open_tool, open_kernel),
        producer_sockets: (sockets_before, sockets_height, sockets_after),
        peak_rss: (peaks.get("producer").copied().unwrap_or(0), hwm),
        rss_before,
        rss_after,
        haproxy_missing,
    };
    attack.halt().await;
    (rows, findings)
}

/// Socket descriptors the process holds (`/proc/PID/fd` links to `socket:[...]`).
fn socket_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Server-side sockets on `port` whose peer is one of `peers` (client ports on
/// loopback) and that the server has not closed: ESTABLISHED (01) or CLOSE_WAIT (08)
/// in the kernel's tables.
fn kernel_open(port: u16, peers: &HashSet<u16>) -> u64 {
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state)) =
                (fields.get(1), fields.get(2), fields.get(3))
            else {
                continue;
            };
            let port_of = |a: &str| {
                a.rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            };
            if port_of(local) == Some(port)
                && port_of(remote).is_some_and(|p| peers.contains(&p))
                && matches!(*state, "01" | "08")
            {
                count += 1;
            }
        }
    }
    count
}

/// The kernel's peak RSS of the process in KiB (`VmHWM`).
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// The report's section on this scenario.
pub(crate) fn section(rows: &[Row], f: &Findings, concurrency: usize) -> String {
    let figures = |prefix: &str| {
        rows.iter()
            .find(|r| r.scenario.starts_with(prefix))
            .and_then(|r| r.figures.clone())
    };
    let alone = figures("slow_clients: ordinary load alone");
    let under = figures("slow_clients: ordinary load under attack");
    let proxied = figures("slow_clients: ordinary load through HAProxy");
    let cpu = |prefix: &str| {
        rows.iter()
            .find(|r| r.scenario.starts_with(prefix))
            .and_then(|r| r.cpu.as_ref())
            .map(|c| {
                let per = |s: f64| s * 1e6 / c.count.max(1) as f64;
                let producer = c.usage.components.get("producer").copied().unwrap_or(0.0);
                let haproxy = c.usage.components.get("haproxy").copied().unwrap_or(0.0);
                (per(producer), per(haproxy), per(c.usage.total()))
            })
    };
    let mut out = String::new();
    let _ = writeln!(out, "## Slow clients\n");
    let _ = writeln!(out, "How: the ordinary load is the same {} clients as above, half health checks, half inserts, measured alone, then through HAProxy (Debian's, started by the bench on loopback, HTTP mode, keep-alive both sides, `timeout http-request 10s`), then while {} slow connections are held: half send half a request header and then a header byte a second, half a complete header announcing a 10,000-byte body and then a body byte a second; each the producer closes is opened again (at most 256 connects in flight). Then the attack stops reopening, the bench waits {} s (the producer's header and body deadlines, 10 s each, plus {} s) and counts the attack connections still open: the attackers' own count, and the kernel's (`/proc/net/tcp*`: server-side sockets on the producer's port, ESTABLISHED or CLOSE_WAIT, whose peer port is an open attacker's). The producer's socket descriptors (`/proc/PID/fd`), and its peak RSS, sampled every 100 ms and read as the kernel's `VmHWM` (reset through `clear_refs` when the attack starts).\n",
        concurrency, f.connections, (DEADLINE + MARGIN).as_secs(), MARGIN.as_secs());
    let _ = writeln!(out, "| ordinary load | ok/s | p50 ms | p99 ms | answers | producer µs CPU per request | HAProxy µs | all components µs |");
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
    );
    for (name, prefix, f) in [
        ("alone", "slow_clients: ordinary load alone", &alone),
        (
            "through HAProxy",
            "slow_clients: ordinary load through HAProxy",
            &proxied,
        ),
        (
            "under attack",
            "slow_clients: ordinary load under attack",
            &under,
        ),
    ] {
        let Some(fig) = f else {
            let _ = writeln!(out, "| {name} | - | - | - | not run | - | - | - |");
            continue;
        };
        let (p, h, t) = cpu(prefix).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {name} | {:.0} | {:.2} | {:.2} | {} | {p:.0} | {} | {t:.0} |",
            fig.per_second,
            fig.p50_ms,
            fig.p99_ms,
            crate::report::answers(fig),
            if name == "through HAProxy" {
                format!("{h:.0}")
            } else {
                "-".into()
            },
        );
    }
    if let Some(why) = &f.haproxy_missing {
        let _ = writeln!(out, "\nHAProxy not measured: {why}.");
    }
    let mib = |k: u64| k as f64 / 1024.0;
    let _ = writeln!(out);
    let _ = writeln!(out, "| attack | measured |\n| --- | --- |");
    let _ = writeln!(out, "| slow connections held | {} (95% open after {:.1} s); {} opened in all, {} connects failed; the bench's open-file limit {} |", f.connections, f.ramp_seconds, f.opened, f.connect_failures, f.fd_limit);
    let _ = writeln!(out, "| closed by the producer | {} ({} of them after a 408 answer); open to close: p50 {:.1} s, p99 {:.1} s, max {:.1} s |", f.closed_by_server, f.answered_408, f.lifetime.0, f.lifetime.1, f.lifetime.2);
    let _ = writeln!(out, "| attack connections open {} s after the attack stopped reopening | **{}** (attackers' count) / **{}** (kernel's socket table) |", (DEADLINE + MARGIN).as_secs(), f.open_after.0, f.open_after.1);
    let _ = writeln!(out, "| producer's socket descriptors (`/proc/PID/fd`) | {} before the attack (the ordinary clients' kept-alive connections included), {} at its height, {} after the deadline |", f.producer_sockets.0, f.producer_sockets.1, f.producer_sockets.2);
    let _ = writeln!(
        out,
        "| producer's RSS | {} MiB before; peak under attack {:.1} MiB sampled / {} kernel `VmHWM`; {} MiB after the deadline |",
        f.rss_before.map_or("-".into(), |k| format!("{:.1}", mib(k))),
        mib(f.peak_rss.0),
        f.peak_rss.1.map_or("-".into(), |k| format!("{:.1} MiB", mib(k))),
        f.rss_after.map_or("-".into(), |k| format!("{:.1}", mib(k))),
    );
    out
}

/// The goals of issue 13, judged from the findings: (what, met, measured).
pub(crate) fn goals(rows: &[Row], f: &Findings) -> Vec<(String, Option<bool>, String)> {
    let p99 = |prefix: &str| {
        rows.iter()
            .find(|r| r.scenario.starts_with(prefix))
            .and_then(|r| r.figures.as_ref())
            .map(|f| f.p99_ms)
    };
    let (alone, under) = (
        p99("slow_clients: ordinary load alone"),
        p99("slow_clients: ordinary load under attack"),
    );
    let ratio = alone.zip(under).map(|(a, u)| u / a.max(1e-9));
    vec![
        (
            "slow_clients: p99 under attack ≤ 2 × p99 alone".into(),
            ratio.map(|r| r <= 2.0),
            match (alone, under, ratio) {
                (Some(a), Some(u), Some(r)) => format!("{u:.2} ms / {a:.2} ms = {r:.2}"),
                _ => "-".into(),
            },
        ),
        (
            "slow_clients: no attack connection open after the deadline".into(),
            Some(f.open_after == (0, 0)),
            format!(
                "{} (attackers) / {} (kernel)",
                f.open_after.0, f.open_after.1
            ),
        ),
    ]
}
