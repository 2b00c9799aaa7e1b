//! The slow-client attack of the `slow_clients` scenario (loopback only): a fixed number
//! of connections, half sending half a request header and then one more header byte a
//! second, half sending a complete header announcing a 10,000-byte body and then one
//! body byte a second. A connection the producer closes is opened again while the
//! attack is sustained, as a real attacker would; every connection is dropped at
//! [`Attack::halt`], and none outlives [`MAX_LIFETIME`] whatever happens. The attackers
//! run on their own runtime thread, as a separate client would: the ordinary clients'
//! tasks do not queue behind 10,000 attackers in the bench's runtime.

use hdrhistogram::Histogram;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bound on the whole attack, even if the bench never halts it.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_secs(300);
/// Connects in flight at once while opening.
const CONNECTS_IN_FLIGHT: usize = 256;
const HALF_HEADER: &[u8] = b"GET /health_check HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
const SLOW_BODY: &[u8] = b"POST /insert_record HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{";

/// Raises this process's soft open-file limit to the hard one: the attack holds a
/// descriptor per connection. Returns the soft limit in force.
pub(crate) fn raise_fd_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let hard = limit.maximum.unwrap_or(1 << 20);
    let raised = Rlimit {
        current: Some(hard),
        maximum: limit.maximum,
    };
    if setrlimit(Resource::Nofile, raised).is_ok() {
        hard
    } else {
        limit.current.unwrap_or(hard)
    }
}

/// What the attackers saw, shared by all of them.
#[derive(Default)]
pub(crate) struct Tally {
    /// Connections open now.
    pub open: AtomicU64,
    pub opened: AtomicU64,
    /// Closed by the producer (end of stream or reset).
    pub closed_by_server: AtomicU64,
    /// Of those, answered 408 first.
    pub answered_408: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Local ports of the connections open now (the kernel's socket table names them).
    pub ports: Mutex<HashSet<u16>>,
    /// Milliseconds from open to the producer's close.
    pub lifetimes: Mutex<Option<Histogram<u64>>>,
}

pub(crate) struct Attack {
    pub tally: Arc<Tally>,
    /// Set: connections the producer closes are not opened again.
    sustain: Arc<AtomicBool>,
    halt: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    runtime: tokio::runtime::Runtime,
}

impl Attack {
    /// Starts `connections` attackers against `addr` (half of each kind).
    pub(crate) fn start(addr: SocketAddr, connections: usize) -> Attack {
        let tally = Arc::new(Tally {
            lifetimes: Mutex::new(Some(
                Histogram::new_with_bounds(1, 3_600_000, 3).expect("valid bounds"),
            )),
            ..Tally::default()
        });
        let sustain = Arc::new(AtomicBool::new(true));
        let (halt, halted) = tokio::sync::watch::channel(false);
        let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT));
        let started = Instant::now();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("slow-attack")
            .enable_all()
            .build()
            .expect("the attack's runtime");
        let tasks = (0..connections)
            .map(|i| {
                let prefix = if i % 2 == 0 { HALF_HEADER } else { SLOW_BODY };
                let attacker = Attacker {
                    addr,
                    prefix,
                    tally: tally.clone(),
                    sustain: sustain.clone(),
                    halted: halted.clone(),
                    gate: gate.clone(),
                    started,
                };
                runtime.spawn(attacker.run())
            })
            .collect();
        Attack {
            tally,
            sustain,
            halt,
            tasks,
            runtime,
        }
    }

    /// Stops opening connections again; those open stay until the producer closes
    /// them or [`Attack::halt`].
    pub(crate) fn stop_sustaining(&self) {
        self.sustain.store(false, Ordering::Relaxed);
    }

    /// Drops every connection and waits for the attackers to end.
    pub(crate) async fn halt(self) {
        let _ = self.halt.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        // Dropping a runtime blocks, which is not allowed inside the bench's own.
        self.runtime.shutdown_background();
    }
}

struct Attacker {
    addr: SocketAddr,
    prefix: &'static [u8],
    tally: Arc<Tally>,
    sustain: Arc<AtomicBool>,
    halted: tokio::sync::watch::Receiver<bool>,
    gate: Arc<tokio::sync::Semaphore>,
    started: Instant,
}

impl Attacker {
    async fn run(mut self) {
        let tally = self.tally.clone();
        while self.sustain.load(Ordering::Relaxed)
            && !*self.halted.borrow()
            && self.started.elapsed() < MAX_LIFETIME
        {
            let connected = {
                let _turn = self.gate.acquire().await;
                tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(self.addr)).await
            };
            let Ok(Ok(stream)) = connected else {
                tally.connect_failures.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let port = stream.local_addr().map_or(0, |a| a.port());
            tally.ports.lock().unwrap().insert(port);
            tally.open.fetch_add(1, Ordering::Relaxed);
            tally.opened.fetch_add(1, Ordering::Relaxed);
            let opened = Instant::now();
            let closed = self.hold(stream).await;
            tally.open.fetch_sub(1, Ordering::Relaxed);
            tally.ports.lock().unwrap().remove(&port);
            if closed {
                tally.closed_by_server.fetch_add(1, Ordering::Relaxed);
                let ms = opened.elapsed().as_millis().clamp(1, 3_600_000) as u64;
                if let Some(h) = tally.lifetimes.lock().unwrap().as_mut() {
                    let _ = h.record(ms);
                }
            }
        }
    }

    /// Sends the prefix, then a byte a second, until the producer closes the
    /// connection (true) or the attack is halted (false).
    async fn hold(&mut self, stream: TcpStream) -> bool {
        let (mut reader, mut writer) = stream.into_split();
        if writer.write_all(self.prefix).await.is_err() {
            return true;
        }
        let mut buf = [0u8; 1024];
        let mut answered = false;
        let deadline = self.started + MAX_LIFETIME;
        loop {
            tokio::select! {
                read = reader.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return true,
                    Ok(n) => {
                        if !answered && buf[..n].starts_with(b"HTTP/1.1 408") {
                            answered = true;
                            self.tally.answered_408.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    // Writes may fail once the producer has closed; the read says so.
                    let _ = writer.write_all(b"a").await;
                }
                _ = self.halted.changed() => return false,
                _ = tokio::time::sleep_until(deadline.into()) => return false,
            }
        }
    }
}
