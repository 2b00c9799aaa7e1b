//! HAProxy (Debian's package) in front of the producer, started by the bench on a free
//! loopback port for one measurement and stopped after it: the alternative to the
//! patched Rocket that issue 13 weighed (`timeout http-request`, `maxconn`), measured
//! for its CPU per request. Configured as it would be deployed: HTTP mode, keep-alive on
//! both sides, the same header deadline as the producer.

use std::path::Path;
use std::time::{Duration, Instant};

pub(crate) struct Haproxy {
    child: tokio::process::Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT` of the proxy.
    pub base: String,
}

/// The configuration: the producer at `backend` behind 127.0.0.1:`port`.
fn config(port: u16, backend: &str) -> String {
    format!(
        "global
    maxconn 4000
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 10s
frontend producer
    bind 127.0.0.1:{port}
    default_backend producer
backend producer
    http-reuse always
    server producer {backend}
"
    )
}

impl Haproxy {
    /// Starts `haproxy` in front of `backend` (`host:port`), its configuration in `dir`;
    /// returns once it accepts connections. `None` (and why) if it is not installed or
    /// does not start within 10 s.
    pub(crate) async fn start(dir: &Path, backend: &str) -> Result<Haproxy, String> {
        // A free port: bound here, released, then given to HAProxy.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let file = dir.join("bench-haproxy.cfg");
        std::fs::write(&file, config(port, backend)).map_err(|e| e.to_string())?;
        let child = tokio::process::Command::new("haproxy")
            .arg("-db") // foreground: the bench owns the process
            .arg("-f")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("haproxy did not start ({e}): apt-get install haproxy"))?;
        let pid = child.id().ok_or("haproxy exited at once")?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("haproxy did not listen within 10 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Haproxy {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
