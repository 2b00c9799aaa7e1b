//! The stack under measurement: where `scripts/bench` started it (`STACK_DIR` and its
//! `stack.env`), its processes' pids, and their peak resident memory while a scenario
//! runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The stack's five binaries, in the order of the report's columns.
pub(crate) const PROCESSES: [&str; 5] = [
    "producer",
    "consumer-health",
    "consumer-insert",
    "consumer-delete",
    "consumer-read",
];

pub struct Stack {
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT` of the producer.
    pub base: String,
    pub amqp_url: String,
    pub database_url: String,
}

impl Stack {
    /// The stack `scripts/bench` started: `STACK_DIR` and the admin URLs of its
    /// `stack.env`. Panics with the reason if either is missing.
    pub fn from_env() -> Stack {
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

    /// The pid in `run/PROCESS.pid`, if the file is there.
    pub fn pid(&self, process: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(format!("run/{process}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/PID/status`).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
}

/// Peak resident memory per process while a scenario runs, sampled every 100 ms.
pub(crate) struct RssSampler {
    stop: Arc<AtomicBool>,
    peaks: Arc<Mutex<BTreeMap<String, u64>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub(crate) fn start(stack: &Stack) -> RssSampler {
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

    /// Stops sampling; the peak KiB of each process seen.
    pub(crate) async fn finish(self) -> BTreeMap<String, u64> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.peaks.lock().unwrap().clone()
    }
}
