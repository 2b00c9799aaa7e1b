//! Starting a flawed server, running the checker against it, and reading its verdict.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

pub(crate) struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub(crate) fn start(style: &str, flaw: Option<&str>) -> Server {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flawed/server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).args(["--style", style]);
        if let Some(flaw) = flaw {
            cmd.args(["--flaw", flaw]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the flawed servers");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the server prints its port");
        let port: u16 = line.trim().parse().expect("a port number");
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The body of `GET /read_database`, read without the checker.
    pub(crate) fn read_database(&self) -> String {
        self.get("/read_database")
    }

    /// A body from the server, read without the checker.
    pub(crate) fn get(&self, path: &str) -> String {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("the server still runs");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the checker with the tests' limits (later arguments override them); its exit
/// status and stdout.
pub(crate) fn checker(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_inventory-check"))
        .args([
            "--no-progress",
            "--timeout",
            "2",
            "--settle",
            "4",
            "--deadline",
            "120",
            "--slow-ms",
            "3600000",
        ])
        .args(args)
        .output()
        .expect("the checker runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).expect("UTF-8"),
    )
}

pub(crate) fn statuses(report: &Value) -> BTreeMap<String, String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub(crate) fn why<'a>(report: &'a Value, check: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .and_then(|c| c["why"].as_str())
        .unwrap_or_default()
}

/// Asserts that `check`'s verdict says `symptom`.
pub(crate) fn assert_says(report: &Value, check: &str, symptom: &str) {
    let why = why(report, check);
    assert!(why.contains(symptom), "`{check}` says {why:?}");
}

/// Checks a server and asserts the exact pattern: every check passes except those
/// named. Returns the report.
pub(crate) fn expect(server: &Server, except: &[(&str, &str)]) -> Value {
    let (code, stdout) = checker(&[&server.url, "--json"]);
    let report: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    let mut want: BTreeMap<String, String> = checker::catalogue::CHECKS
        .iter()
        .map(|c| (c.key.to_string(), "pass".to_string()))
        .collect();
    for (check, status) in except {
        assert!(
            want.insert(check.to_string(), status.to_string()).is_some(),
            "{check}"
        );
    }
    let pretty = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(statuses(&report), want, "{pretty}");
    let required_failed = except.iter().any(|(c, _)| {
        checker::catalogue::CHECKS
            .iter()
            .any(|i| i.key == *c && i.required)
    });
    assert_eq!(code, i32::from(required_failed), "exit status; {pretty}");
    assert_eq!(report["ok"], !required_failed);
    report
}

/// Other people's records are untouched and none of the run's is left.
pub(crate) fn assert_clean(server: &Server, report: &Value) {
    let body = server.read_database();
    for seed in ["PES1UG21CS096", "PES1UG21CS105", "PES1UG21CS119"] {
        assert!(body.contains(seed), "{seed} was removed: {body}");
    }
    let prefix = report["srn_prefix"].as_str().unwrap();
    assert!(
        !body.contains("CHK-"),
        "records of the run are left: {body}"
    );
    assert_eq!(report["cleanup"]["left"], serde_json::json!([]), "{prefix}");
}
