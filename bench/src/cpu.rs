//! CPU time per component over a measured window, read from `/proc`: the evidence for
//! where the time goes. Each process's utime + stime (`/proc/<pid>/stat`, which sums all
//! its threads, live and exited) is read at the start and at the end of the window, and
//! the machine's busy, idle and steal time from `/proc/stat` beside it.
//!
//! Components: the stack's five binaries (replicas `NAME-R` added to `NAME`), RabbitMQ
//! (the `beam.smp` processes holding files open under the stack's folder — one per node,
//! so a cluster is summed — and their helper children), MariaDB (its pid file) and this
//! bench process. Whatever else kept the machine busy is "rest of machine".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Column order of the report.
pub(crate) const COMPONENTS: [&str; 8] = [
    "producer",
    "consumer-health",
    "consumer-insert",
    "consumer-delete",
    "consumer-read",
    "rabbitmq",
    "mariadb",
    "bench",
];

/// Knows which processes belong to the stack; takes snapshots.
pub struct Meter {
    dir: PathBuf,
    ticks_per_second: f64,
    /// Processes the bench started itself and counts while they run (HAProxy).
    extra: Mutex<Vec<(&'static str, u32)>>,
}

/// Cumulative CPU ticks at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    /// Component -> (pid, utime + stime) of each of its processes.
    processes: BTreeMap<&'static str, Vec<(u32, u64)>>,
    machine: Machine,
}

#[derive(Debug, Clone, Copy, Default)]
struct Machine {
    busy: u64,
    idle: u64,
    steal: u64,
}

/// CPU seconds spent in a window.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub wall_seconds: f64,
    /// Component -> CPU seconds (utime + stime).
    pub components: BTreeMap<&'static str, f64>,
    /// All CPUs together, from /proc/stat.
    pub machine_busy: f64,
    pub machine_idle: f64,
    pub machine_steal: f64,
}

impl Usage {
    /// CPU seconds of the components together.
    pub fn total(&self) -> f64 {
        self.components.values().sum()
    }

    /// Busy CPU seconds of the machine not spent in a component: other processes
    /// (another stack on a shared machine, kernel threads). Tick rounding can make it
    /// slightly negative.
    pub fn rest(&self) -> f64 {
        self.machine_busy - self.total()
    }

    /// Busy and steal as percentages of all CPU time in the window.
    pub fn machine_percent(&self) -> (f64, f64) {
        let all = self.machine_busy + self.machine_idle + self.machine_steal;
        if all <= 0.0 {
            return (0.0, 0.0);
        }
        (
            100.0 * self.machine_busy / all,
            100.0 * self.machine_steal / all,
        )
    }
}

/// utime + stime, and the parent pid, from /proc/<pid>/stat.
fn stat(pid: &str) -> Option<(u64, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields follow the last ')'.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state, ppid, ..., utime (14th field of the line), stime (15th).
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime, ppid))
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn read_pid(file: &Path) -> Option<u32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

fn machine() -> Machine {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    Machine {
        busy: at(0) + at(1) + at(2) + at(5) + at(6),
        idle: at(3) + at(4),
        steal: at(7),
    }
}

impl Meter {
    /// `dir` is the stack's folder (STACK_DIR).
    pub fn new(dir: &Path) -> Meter {
        let ticks = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0);
        Meter {
            // The servers' open files show the real path (the folder may be a link).
            dir: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned()),
            ticks_per_second: ticks,
            extra: Mutex::new(Vec::new()),
        }
    }

    /// Counts `pid` as `component` in the snapshots from now on (a component outside
    /// [`COMPONENTS`]: in a usage's total, not in the report's columns).
    pub fn watch(&self, component: &'static str, pid: u32) {
        self.extra.lock().unwrap().push((component, pid));
    }

    /// Stops counting what [`Meter::watch`] added as `component`.
    pub fn unwatch(&self, component: &'static str) {
        self.extra.lock().unwrap().retain(|(c, _)| *c != component);
    }

    pub fn ticks_per_second(&self) -> f64 {
        self.ticks_per_second
    }

    /// The stack's binaries by pid file; a pid only counts while its process has the
    /// binary's name (a stale pid file may name a reused pid).
    fn binaries(&self) -> Vec<(&'static str, u32)> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("run")) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(instance) = name.strip_suffix(".pid") else {
                continue;
            };
            // Replica R of NAME is NAME-R.
            let base = instance
                .rsplit_once('-')
                .filter(|(_, r)| r.chars().all(|c| c.is_ascii_digit()))
                .map_or(instance, |(base, _)| base);
            let Some(component) = COMPONENTS[..5].iter().find(|c| **c == base) else {
                continue;
            };
            if let Some(pid) = read_pid(&entry.path()) {
                if comm(pid) == base[..base.len().min(15)] {
                    found.push((*component, pid));
                }
            }
        }
        found
    }

    /// This stack's RabbitMQ nodes: `beam.smp` processes with a file open under the
    /// stack's folder (their log and message store), plus their children
    /// (erl_child_setup, inet_gethost). The command line does not name the node
    /// (RabbitMQ starts distribution itself), so it cannot be matched by name; epmd is
    /// shared between stacks and left out.
    fn rabbitmq(&self) -> Vec<u32> {
        let mut parents = Vec::new();
        let mut all = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Some((_, ppid)) = stat(&pid.to_string()) else {
                continue;
            };
            all.push((pid, ppid));
            if comm(pid) == "beam.smp" && self.holds_open_file(pid) {
                parents.push(pid);
            }
        }
        let children = all
            .iter()
            .filter(|(_, ppid)| parents.contains(ppid))
            .map(|(pid, _)| *pid);
        let mut pids = parents.clone();
        pids.extend(children);
        pids
    }

    fn holds_open_file(&self, pid: u32) -> bool {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.starts_with(&self.dir))
        })
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut pids: Vec<(&'static str, u32)> = self.binaries();
        pids.extend(self.rabbitmq().into_iter().map(|p| ("rabbitmq", p)));
        if let Some(pid) = read_pid(&self.dir.join("mariadb/mariadbd.pid")) {
            pids.push(("mariadb", pid));
        }
        pids.push(("bench", std::process::id()));
        pids.extend(self.extra.lock().unwrap().iter().copied());
        let mut processes: BTreeMap<&'static str, Vec<(u32, u64)>> = BTreeMap::new();
        for (component, pid) in pids {
            if let Some((ticks, _)) = stat(&pid.to_string()) {
                processes.entry(component).or_default().push((pid, ticks));
            }
        }
        Snapshot {
            at: Instant::now(),
            processes,
            machine: machine(),
        }
    }

    /// CPU spent between two snapshots. A process absent from `before` started inside
    /// the window and counts whole; one absent from `after` ended in it and is lost.
    pub fn usage(&self, before: &Snapshot, after: &Snapshot) -> Usage {
        let seconds = |ticks: u64| ticks as f64 / self.ticks_per_second;
        let mut components = BTreeMap::new();
        let watched = after.processes.keys().filter(|c| !COMPONENTS.contains(c));
        for component in COMPONENTS.iter().chain(watched).copied() {
            let earlier = before.processes.get(component);
            let spent: u64 = after
                .processes
                .get(component)
                .into_iter()
                .flatten()
                .map(|(pid, ticks)| {
                    let from = earlier
                        .and_then(|e| e.iter().find(|(p, _)| p == pid))
                        .map_or(0, |(_, t)| *t);
                    ticks.saturating_sub(from)
                })
                .sum();
            components.insert(component, seconds(spent));
        }
        let (b, a) = (before.machine, after.machine);
        Usage {
            wall_seconds: after.at.duration_since(before.at).as_secs_f64(),
            components,
            machine_busy: seconds(a.busy.saturating_sub(b.busy)),
            machine_idle: seconds(a.idle.saturating_sub(b.idle)),
            machine_steal: seconds(a.steal.saturating_sub(b.steal)),
        }
    }
}
