//! The checker judged against small deployments with one known defect each
//! (`tests/flawed/server.py`, written the way students write theirs): it must report
//! that defect's symptom as a failure, skip what the failure makes meaningless, and
//! fail nothing else. Each test asserts the whole pattern of statuses from `--json`.
//!
//! The servers listen on 127.0.0.1 only, on a port the system picks (they print it).
//! Latency is not judged here (`--slow-ms` is an hour): tests make no timed assertions.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(style: &str, flaw: Option<&str>) -> Server {
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
    fn read_database(&self) -> String {
        self.get("/read_database")
    }

    /// A body from the server, read without the checker.
    fn get(&self, path: &str) -> String {
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
fn checker(args: &[&str]) -> (i32, String) {
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

fn statuses(report: &Value) -> BTreeMap<String, String> {
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

fn why<'a>(report: &'a Value, check: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .and_then(|c| c["why"].as_str())
        .unwrap_or_default()
}

/// Checks a server and asserts the exact pattern: every check passes except those
/// named. Returns the report.
fn expect(server: &Server, except: &[(&str, &str)]) -> Value {
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
fn assert_clean(server: &Server, report: &Value) {
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

#[test]
fn a_flask_style_deployment_without_a_flaw_passes_everything() {
    let server = Server::start("flask", None);
    let report = expect(&server, &[]);
    assert_eq!(
        report["accepted"]["insert"],
        "POST /insert_record (JSON body: Name, SRN, Section)"
    );
    assert!(why(&report, "health").contains("carries the message back"));
    assert_clean(&server, &report);
    // Bounded: never more requests in flight than the parallel check's 32.
    let stats: Value = serde_json::from_str(&server.get("/_test/stats")).unwrap();
    let most = stats["most_in_flight"].as_u64().unwrap();
    assert!((1..=32).contains(&most), "{stats}");
}

#[test]
fn an_express_style_deployment_is_judged_by_what_it_does_not_by_its_wording() {
    let server = Server::start("express", None);
    let report = expect(&server, &[]);
    assert_eq!(
        report["accepted"]["insert"],
        "POST /insert_record (JSON body: name, srn, section)"
    );
    assert_eq!(report["accepted"]["delete"], "GET /delete_record/<srn>");
    assert!(why(&report, "delete-missing").contains("the body says so"));
    assert_clean(&server, &report);
}

#[test]
fn a_deployment_refusing_the_checkers_srns_is_checked_with_the_sample_format() {
    let server = Server::start("flask", Some("strict-srn"));
    let report = expect(&server, &[]);
    assert_eq!(report["srn_format"], "sample");
    assert!(
        why(&report, "insert").contains("sample format PES1UG99CSnnn"),
        "{}",
        why(&report, "insert")
    );
    let body = server.read_database();
    assert!(
        !body.contains("PES1UG99CS"),
        "sample-format records left: {body}"
    );
}

#[test]
fn a_200_before_the_record_is_stored_fails_read_your_write_only() {
    let server = Server::start("flask", Some("early-ack"));
    let report = expect(&server, &[("read-your-write", "fail")]);
    assert!(why(&report, "read-your-write").contains("the next read did not show it"));
    assert_clean(&server, &report);
}

#[test]
fn a_read_one_insert_behind_fails_read_your_write_only() {
    let server = Server::start("flask", Some("one-behind"));
    let report = expect(&server, &[("read-your-write", "fail")]);
    assert!(
        why(&report, "read-your-write").contains("read number 2 after the insert did"),
        "{}",
        why(&report, "read-your-write")
    );
}

#[test]
fn a_consumer_dying_on_its_second_message_fails_once_and_skips_what_needs_it() {
    let server = Server::start("flask", Some("consumer-dies"));
    let report = expect(
        &server,
        &[
            ("read-your-write", "fail"),
            ("read-all", "skipped"),
            ("duplicate", "skipped"),
            ("delete-exact", "skipped"),
            ("bad-input", "skipped"),
            ("parallel", "skipped"),
        ],
    );
    assert!(why(&report, "read-your-write").contains("an acknowledged insert was not stored"));
    assert!(why(&report, "parallel").starts_with("insert stopped working in `read-your-write`"));
}

#[test]
fn a_process_dying_on_its_second_request_fails_once_and_skips_the_rest() {
    let server = Server::start("flask", Some("process-dies"));
    let mut except: Vec<(&str, &str)> = checker::catalogue::CHECKS
        .iter()
        .filter(|c| !["health", "read", "latency"].contains(&c.key))
        .map(|c| (c.key, "skipped"))
        .collect();
    except.push(("read", "fail"));
    let report = expect(&server, &except);
    assert!(
        why(&report, "read").contains("did not answer any request"),
        "{}",
        why(&report, "read")
    );
    assert!(why(&report, "alive").starts_with("the service stopped answering during `read`"));
}

#[test]
fn a_500_on_a_missing_argument_fails_bad_input_only() {
    let server = Server::start("flask", Some("missing-500"));
    let report = expect(&server, &[("bad-input", "fail")]);
    assert!(
        why(&report, "bad-input").contains("insert without SRN: 500"),
        "{}",
        why(&report, "bad-input")
    );
    assert_clean(&server, &report);
}

#[test]
fn a_shared_channel_breaking_under_parallel_clients_fails_parallel_only() {
    let server = Server::start("flask", Some("shared-channel"));
    let report = expect(&server, &[("parallel", "fail")]);
    assert!(
        why(&report, "parallel").contains("never showed in the reads"),
        "{}",
        why(&report, "parallel")
    );
    assert_clean(&server, &report);
}

#[test]
fn a_duplicate_srn_stored_twice_fails_duplicate_only() {
    let server = Server::start("flask", Some("duplicate"));
    let report = expect(&server, &[("duplicate", "fail")]);
    assert!(why(&report, "duplicate").contains("held 2 records with that SRN"));
    assert_clean(&server, &report);
}

#[test]
fn a_delete_matching_more_than_the_srn_fails_delete_exact_only() {
    let server = Server::start("flask", Some("delete-wrong"));
    let report = expect(&server, &[("delete-exact", "fail")]);
    assert!(why(&report, "delete-exact").contains("the delete matches more than the exact SRN"));
    assert_clean(&server, &report);
}

#[test]
fn a_delete_that_says_nothing_about_a_missing_record_fails_delete_missing_only() {
    let server = Server::start("flask", Some("delete-silent"));
    let report = expect(&server, &[("delete-missing", "fail")]);
    assert!(why(&report, "delete-missing").contains("nothing says it was not found"));
    assert_clean(&server, &report);
}

#[test]
fn a_read_limited_to_ten_rows_fails_read_all_and_skips_what_reads_judge() {
    let server = Server::start("flask", Some("read-limit"));
    let report = expect(
        &server,
        &[
            ("read-all", "fail"),
            ("duplicate", "skipped"),
            ("delete-exact", "skipped"),
            ("parallel", "skipped"),
        ],
    );
    assert!(
        why(&report, "read-all").contains("the read returned 10 records"),
        "{}",
        why(&report, "read-all")
    );
}

#[test]
fn a_hanging_health_check_fails_health_only() {
    let server = Server::start("flask", Some("health-hang"));
    let report = expect(&server, &[("health", "fail")]);
    assert!(why(&report, "health").contains("no answer within the time limit"));
    assert_clean(&server, &report);
}

#[test]
fn the_overall_time_limit_fails_the_check_it_cut_skips_the_rest_and_still_cleans_up() {
    // Early acks make insert discovery wait 1.5 s for its record: past a 1 s deadline.
    let server = Server::start("flask", Some("early-ack"));
    let (code, stdout) = checker(&[&server.url, "--json", "--deadline", "1"]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let mut want: BTreeMap<String, String> = checker::catalogue::CHECKS
        .iter()
        .map(|c| (c.key.to_string(), "skipped".to_string()))
        .collect();
    for (check, status) in [
        ("health", "pass"),
        ("read", "pass"),
        ("insert", "fail"),
        ("latency", "pass"),
    ] {
        want.insert(check.into(), status.into());
    }
    assert_eq!(statuses(&report), want, "{report:#}");
    assert!(why(&report, "insert").contains("overall time limit (--deadline 1 s)"));
    assert!(why(&report, "delete")
        .starts_with("the overall time limit (--deadline 1 s) ran out during `insert`"));
    assert_eq!(code, 1);
    assert_clean(&server, &report);
}

#[test]
fn ctrl_c_stops_the_checks_and_still_cleans_up() {
    // Early acks keep insert discovery waiting 1.5 s for its record: interrupt it there.
    let server = Server::start("flask", Some("early-ack"));
    let child = Command::new(env!("CARGO_BIN_EXE_inventory-check"))
        .args([&server.url, "--json", "--no-progress", "--settle", "4"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).expect("a report after Ctrl-C");
    assert_eq!(why(&report, "insert"), "interrupted (Ctrl-C)", "{report:#}");
    assert!(why(&report, "delete").starts_with("the run was interrupted during `insert`"));
    assert_eq!(output.status.code(), Some(1));
    assert_clean(&server, &report);
}

#[test]
fn urls_checks_many_deployments_and_prints_one_summary() {
    let (good, bad) = (
        Server::start("flask", None),
        Server::start("flask", Some("missing-500")),
    );
    let dir = std::env::temp_dir().join(format!("inventory-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("urls.txt");
    std::fs::write(
        &list,
        format!("# two deployments\n{}\n{}  # Bo\n", good.url, bad.url),
    )
    .unwrap();
    let html = dir.join("class.html");
    let (code, stdout) = checker(&[
        "--urls",
        list.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stdout}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("http://"))
        .collect();
    assert!(
        rows[0].starts_with(&format!("{} PASS", good.url)),
        "{stdout}"
    );
    assert!(
        rows[1].starts_with(&format!("{} FAIL", bad.url)),
        "{stdout}"
    );
    assert!(rows[1].contains("1 fail"), "{stdout}");
    assert!(
        stdout.contains("curl -sS -i --max-time 2 -X POST"),
        "failures come with curl: {stdout}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"summary\""));
    assert!(page.contains("data-check=\"bad-input\" data-status=\"fail\""));
    let (code, stdout) = checker(&["--urls", list.to_str().unwrap(), "--json"]);
    let reports: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(code, 1);
    assert_eq!(reports.as_array().unwrap().len(), 2);
    assert_eq!(reports[0]["ok"], true);
    assert_eq!(reports[1]["ok"], false);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreachable_deployment_fails_health_and_skips_everything_else() {
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, stdout) = checker(&[&format!("http://127.0.0.1:{port}"), "--json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let s = statuses(&report);
    assert_eq!(s["health"], "fail");
    assert_eq!(s["latency"], "not_applicable");
    assert!(
        s.iter()
            .filter(|(k, _)| !["health", "latency"].contains(&k.as_str()))
            .all(|(_, v)| v == "skipped"),
        "{s:?}"
    );
    assert_eq!(code, 1);
    // The table: colour only when asked for or on a terminal (never in a pipe).
    let table = |force: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_inventory-check"))
            .args([&format!("http://127.0.0.1:{port}"), "--timeout", "2"])
            .env("CLICOLOR_FORCE", force)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = table("0");
    assert!(
        plain.contains("FAIL: required check failed: health") && !plain.contains('\x1b'),
        "{plain}"
    );
    assert!(
        table("1").contains("\x1b[31m"),
        "red on a (forced) terminal"
    );
}
