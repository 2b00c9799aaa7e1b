//! The fault-injection suite (`make chaos`, also run by `make test`).
//!
//! It runs its own stack (own RabbitMQ node, MariaDB, ports and data folder, through
//! `scripts/stack` with `STACK_DIR`), puts it under a sustained insert load from many
//! concurrent clients that record every SRN acknowledged with 2xx, and meanwhile:
//! SIGKILLs consumer-insert several times, restarts RabbitMQ, stops MariaDB for 10 s,
//! SIGKILLs the producer, and SIGTERMs consumer-insert and the producer (graceful).
//! Clients retry failed requests with the same SRN, as a real client would.
//!
//! Then it checks the database: every acknowledged SRN exactly once, nothing stored that
//! no client sent, no good message dead-lettered, no request left hanging, and only the
//! errors a fault explains (503, 504, refused connections). It prints a summary and exits
//! non-zero on any broken promise.

use mysql_async::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longer than any bounded wait in the system (publish 5 s + reply 5 s): a request
/// still unanswered then is a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long clients keep retrying their last SRN after the load stops.
const SETTLE_LIMIT: Duration = Duration::from_secs(90);
/// The promise: after RabbitMQ is back, the producer answers 2xx again within this.
/// Counted from the command that starts RabbitMQ, so it includes the broker's boot.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// What `make chaos` (and `make cluster-test`, with `--cluster`) runs against; each value
/// can come from its flag or from the environment variable the scripts set.
#[derive(clap::Parser)]
#[command(
    name = "chaos",
    about = "Fault-injection suite: sustained inserts while processes, the broker and the database fail.",
    long_about = "Fault-injection suite: sustained inserts while processes, the broker and the \
database fail. Run it through scripts/chaos (make chaos) or scripts/cluster-test, which start \
its private stack and set the environment below."
)]
struct Config {
    /// The repository root (scripts/stack is run from it).
    #[arg(skip = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))]
    root: PathBuf,
    /// The chaos stack's folder (its stack.env, pid files and data).
    #[arg(long, env = "STACK_DIR", default_value_os_t = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.local/chaos"))]
    dir: PathBuf,
    /// The producer's port on that stack.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8010)]
    http_port: u16,
    /// Concurrent inserting clients.
    #[arg(long, env = "CHAOS_CLIENTS", default_value_t = 24)]
    clients: usize,
    /// How many times consumer-insert is SIGKILLed.
    #[arg(long, env = "CHAOS_CONSUMER_KILLS", default_value_t = 3)]
    consumer_kills: usize,
    /// The faults are broker node losses on a three-node cluster.
    #[arg(long)]
    cluster: bool,
}

impl Config {
    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Reads one variable of the stack's generated `stack.env`.
    fn stack_var(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join("stack.env"))
            .expect("stack.env written by scripts/stack");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing from stack.env"))
            .to_owned()
    }
}

/// `scripts/stack ARGS` for the chaos stack.
fn stack_command(config: &Config, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(config.root.join("scripts/stack"));
    command.args(args).env("STACK_DIR", &config.dir);
    command
}

/// Runs `scripts/stack ARGS` for the chaos stack; panics if it fails.
async fn stack(config: &Config, args: &[&str]) {
    let status = stack_command(config, args)
        .status()
        .await
        .expect("run scripts/stack");
    assert!(status.success(), "scripts/stack {args:?} failed");
}

/// Runs `scripts/stack ARGS` and returns what it printed.
async fn stack_output(config: &Config, args: &[&str]) -> String {
    let out = stack_command(config, args)
        .output()
        .await
        .expect("run scripts/stack");
    assert!(out.status.success(), "scripts/stack {args:?} failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn pid_of(config: &Config, binary: &str) -> Option<i32> {
    std::fs::read_to_string(config.dir.join(format!("run/{binary}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn signal(config: &Config, binary: &str, sig: &str) {
    let pid = pid_of(config, binary).unwrap_or_else(|| panic!("{binary} has no pid file"));
    let _ = tokio::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .await;
    for _ in 0..200 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{binary} (pid {pid}) did not exit after {sig}");
}

/// What the clients saw.
#[derive(Default)]
struct Stats {
    outcomes: Mutex<BTreeMap<String, u64>>,
    attempted: Mutex<HashSet<String>>,
    acknowledged: Mutex<HashSet<String>>,
    gave_up: Mutex<Vec<String>>,
    /// When each acknowledgement arrived, to time recovery after a fault.
    successes: Mutex<Vec<Instant>>,
}

impl Stats {
    fn count(&self, outcome: String) {
        *self.outcomes.lock().unwrap().entry(outcome).or_default() += 1;
    }
}

/// One client: inserts new SRNs until `stop`, retrying each until it is acknowledged.
/// A 409 on a retry means an earlier attempt was stored: acknowledged too.
async fn client(id: usize, run: String, url: String, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let mut stopped_at = None;
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let srn = format!("C{run}{id:02}N{n:06}");
        stats.attempted.lock().unwrap().insert(srn.clone());
        loop {
            let body =
                serde_json::json!({"Name": format!("Chaos {id} {n}"), "SRN": srn, "Section": "X"});
            let outcome = match http.post(&url).json(&body).send().await {
                Ok(response) => response.status().as_u16().to_string(),
                Err(e) if e.is_timeout() => "client timeout (hang)".into(),
                Err(e) if e.is_connect() => "connection refused".into(),
                Err(_) => "connection closed".into(),
            };
            let acknowledged = outcome == "201" || outcome == "409";
            stats.count(outcome);
            if acknowledged {
                stats.acknowledged.lock().unwrap().insert(srn.clone());
                stats.successes.lock().unwrap().push(Instant::now());
                break;
            }
            if stop.load(Ordering::Relaxed) {
                let since = *stopped_at.get_or_insert_with(Instant::now);
                if since.elapsed() > SETTLE_LIMIT {
                    stats.gave_up.lock().unwrap().push(srn.clone());
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn log(started: Instant, what: &str) {
    println!("[chaos {:>6.1}s] {what}", started.elapsed().as_secs_f64());
}

/// How long after `since` the first acknowledgement came (waiting for it if need be).
async fn first_success_after(stats: &Stats, since: Instant) -> Option<Duration> {
    let deadline = since + RECOVERY_LIMIT * 3;
    loop {
        let first = stats
            .successes
            .lock()
            .unwrap()
            .iter()
            .filter(|t| **t > since)
            .min()
            .copied();
        if let Some(t) = first {
            return Some(t - since);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn dead_letter_count(config: &Config) -> u64 {
    let api = test_support::ManagementApi::at(&config.stack_var("TEST_RABBITMQ_API"));
    let queue = api
        .get("/queues/%2f/dead_letters", "read dead_letters")
        .await;
    // The management API refreshes queue stats every few seconds.
    queue["messages"].as_u64().unwrap_or(0)
}

#[tokio::main]
async fn main() -> ExitCode {
    let config = <Config as clap::Parser>::parse();
    let started = Instant::now();
    log(
        started,
        &format!("starting the chaos stack in {}", config.dir.display()),
    );
    stack(&config, &["infra"]).await;
    let database_url = format!("{}/inventory", config.stack_var("TEST_MYSQL_ADMIN_URL"));
    // A clean slate: the table may hold an earlier run's rows, a queue its messages.
    if let Ok(mut conn) = mysql_async::Conn::from_url(&database_url).await {
        let _ = conn.query_drop("DELETE FROM students").await;
        let _ = conn.disconnect().await;
    }
    stack(&config, &["start"]).await;
    let result = run(&config, started, &database_url).await;
    log(started, "stopping the chaos stack");
    if std::env::var_os("CHAOS_KEEP").is_none() {
        stack(&config, &["down"]).await;
    }
    result
}

/// What every fault needs: the stack, the clock the log counts from, and what the
/// clients saw (to time recovery).
struct Faults<'a> {
    config: &'a Config,
    started: Instant,
    stats: &'a Stats,
}

impl Faults<'_> {
    fn log(&self, what: &str) {
        log(self.started, what);
    }

    /// Sends `sig` to `binary` (saying `what`), waits `down` seconds, has scripts/stack
    /// start whatever is not running, and gives it `settle` seconds.
    async fn restart(&self, what: &str, (binary, sig): (&str, &str), (down, settle): (u64, u64)) {
        self.log(what);
        signal(self.config, binary, sig).await;
        pause(down).await;
        stack(self.config, &["start"]).await;
        pause(settle).await;
    }

    /// Stops a server (`scripts/stack` command `stop`) for `down` seconds and starts it
    /// again; returns how long after the start command the first 2xx came. Timed from
    /// the start command, so it includes the server's own boot (about 6 s for RabbitMQ
    /// here).
    async fn outage(&self, server: &str, stop: &str, down: u64) -> Option<Duration> {
        self.log(&format!("stopping {server} for {down} s"));
        stack(self.config, &[stop]).await;
        pause(down).await;
        self.log(&format!("starting {server}"));
        let starting = Instant::now();
        stack(self.config, &["infra"]).await;
        let recovery = first_success_after(self.stats, starting).await;
        self.log(&format!(
            "first 2xx after {server} was started: {recovery:?}"
        ));
        recovery
    }
}

async fn pause(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// The single-node faults: consumer kills, broker restart, database outage, producer
/// kill and graceful stops. Returns the broker's and the database's recovery times.
async fn single_node_faults(f: &Faults<'_>) -> (Option<Duration>, Option<Duration>) {
    let kills = f.config.consumer_kills;
    for i in 1..=kills {
        let what = format!("SIGKILL consumer-insert ({i}/{kills})");
        f.restart(&what, ("consumer-insert", "-KILL"), (1, 2)).await;
    }
    let broker_recovery = f.outage("RabbitMQ", "stop-rabbitmq", 3).await;
    pause(2).await;
    let database_recovery = f.outage("MariaDB", "stop-mariadb", 10).await;
    pause(2).await;
    f.restart("SIGKILL producer", ("producer", "-KILL"), (1, 2))
        .await;
    let graceful = "SIGTERM consumer-insert (graceful)";
    f.restart(graceful, ("consumer-insert", "-TERM"), (0, 2))
        .await;
    let graceful = "SIGTERM producer (graceful)";
    f.restart(graceful, ("producer", "-TERM"), (0, 3)).await;
    (broker_recovery, database_recovery)
}

/// The cluster faults: a consumer replica killed, one broker node stopped, then the
/// node holding the insert_record queue's leader stopped. Recovery is timed from each
/// node's stop: the other nodes must go on serving.
async fn cluster_faults(f: &Faults<'_>) -> (Option<Duration>, Option<Duration>) {
    let what = "SIGKILL consumer-insert (one of two replicas)";
    f.restart(what, ("consumer-insert", "-KILL"), (2, 2)).await;

    let mut worst: Option<Duration> = Some(Duration::ZERO);
    for round in ["a follower", "the insert_record leader"] {
        let leader: usize = stack_output(f.config, &["queue-leader", "insert_record"])
            .await
            .parse()
            .expect("node index");
        let victim = if round == "a follower" {
            leader % 3 + 1
        } else {
            leader
        };
        f.log(&format!(
            "stopping RabbitMQ node {victim} ({round}; leader is node {leader})"
        ));
        let stopped = Instant::now();
        stack(f.config, &["stop-rabbitmq-node", &victim.to_string()]).await;
        let recovery = first_success_after(f.stats, stopped).await;
        f.log(&format!(
            "first 2xx after node {victim} stopped: {recovery:?}"
        ));
        worst = match (worst, recovery) {
            (Some(w), Some(r)) => Some(w.max(r)),
            _ => None,
        };
        pause(8).await;
        f.log(&format!("starting RabbitMQ node {victim} again"));
        stack(f.config, &["infra"]).await;
        pause(5).await;
    }
    (worst, Some(Duration::ZERO))
}

async fn run(config: &Config, started: Instant, database_url: &str) -> ExitCode {
    let run_tag = uuid::Uuid::new_v4().simple().to_string()[..5].to_uppercase();
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("{}/insert_record", config.base_url());
    let clients: Vec<_> = (0..config.clients)
        .map(|id| {
            tokio::spawn(client(
                id,
                run_tag.clone(),
                url.clone(),
                stats.clone(),
                stop.clone(),
            ))
        })
        .collect();
    log(started, &format!("{} clients inserting", config.clients));
    pause(3).await;

    let faults = Faults {
        config,
        started,
        stats: &stats,
    };
    let (broker_recovery, database_recovery) = if config.cluster {
        cluster_faults(&faults).await
    } else {
        single_node_faults(&faults).await
    };

    log(started, "stopping the load; clients finish their last SRN");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client task");
    }

    // Verify against the database.
    let mut conn = mysql_async::Conn::from_url(database_url)
        .await
        .expect("database after the run");
    let stored: Vec<String> = conn.query("SELECT srn FROM students").await.unwrap();
    let duplicated: Vec<(String, u64)> = conn
        .query("SELECT srn, COUNT(*) FROM students GROUP BY srn HAVING COUNT(*) > 1")
        .await
        .unwrap();
    let _ = conn.disconnect().await;
    let stored_set: HashSet<String> = stored.iter().cloned().collect();
    let acknowledged = stats.acknowledged.lock().unwrap().clone();
    let attempted = stats.attempted.lock().unwrap().clone();
    let lost: Vec<_> = acknowledged.difference(&stored_set).cloned().collect();
    let unexpected: Vec<_> = stored_set.difference(&attempted).cloned().collect();
    let gave_up = stats.gave_up.lock().unwrap().clone();
    tokio::time::sleep(Duration::from_secs(6)).await; // management stats refresh
    let dead_letters = dead_letter_count(config).await;
    let outcomes = stats.outcomes.lock().unwrap().clone();
    let requests: u64 = outcomes.values().sum();

    println!("\n== chaos summary");
    println!("requests          {requests}");
    for (outcome, n) in &outcomes {
        println!("  {outcome:<22} {n}");
    }
    println!("SRNs attempted    {}", attempted.len());
    println!(
        "acknowledged      {} (201, or 409 on a retry of an earlier attempt)",
        acknowledged.len()
    );
    println!("stored            {}", stored.len());
    println!("lost              {}", lost.len());
    println!("duplicated        {}", duplicated.len());
    println!("stored, never sent {}", unexpected.len());
    println!("gave up           {}", gave_up.len());
    println!("dead-lettered     {dead_letters}");
    if config.cluster {
        println!("broker recovery   {broker_recovery:?}: worst time from a node's stop to the next 2xx (limit {RECOVERY_LIMIT:?})");
    } else {
        println!("broker recovery   {broker_recovery:?} from starting RabbitMQ to the next 2xx (limit {RECOVERY_LIMIT:?})");
        println!("database recovery {database_recovery:?} from starting MariaDB to the next 2xx");
    }

    let mut broken = Vec::new();
    if !lost.is_empty() {
        broken.push(format!(
            "{} acknowledged inserts lost: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        ));
    }
    if !duplicated.is_empty() {
        broken.push(format!("duplicated rows: {duplicated:?}"));
    }
    if !unexpected.is_empty() {
        broken.push(format!("rows no client sent: {unexpected:?}"));
    }
    if !gave_up.is_empty() {
        broken.push(format!(
            "{} SRNs never acknowledged within {SETTLE_LIMIT:?}",
            gave_up.len()
        ));
    }
    if dead_letters > 0 {
        broken.push(format!("{dead_letters} good messages dead-lettered"));
    }
    if broker_recovery.is_none_or(|d| d > RECOVERY_LIMIT) {
        broken.push(format!(
            "no 2xx within {RECOVERY_LIMIT:?} of RabbitMQ coming back"
        ));
    }
    let explained = [
        "201",
        "409",
        "503",
        "504",
        "connection refused",
        "connection closed",
    ];
    for (outcome, n) in &outcomes {
        if !explained.contains(&outcome.as_str()) {
            broken.push(format!(
                "{n} requests ended with {outcome}, which no fault explains"
            ));
        }
    }
    if acknowledged.len() < 100 {
        broken.push(format!(
            "only {} inserts acknowledged: the load did not run",
            acknowledged.len()
        ));
    }
    if broken.is_empty() {
        println!("chaos: every promise kept");
        ExitCode::SUCCESS
    } else {
        for b in &broken {
            println!("chaos: BROKEN: {b}");
        }
        ExitCode::FAILURE
    }
}
