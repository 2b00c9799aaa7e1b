//! Whole runs: cut short by the deadline or Ctrl-C, several deployments with `--urls`,
//! and an address nobody listens on.

use super::helpers::{assert_clean, checker, statuses, why, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

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
