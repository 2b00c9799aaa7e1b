//! The checker judged against small deployments with one known defect each
//! (`tests/flawed/server.py`, written the way students write theirs): it must report
//! that defect's symptom as a failure, skip what the failure makes meaningless, and
//! fail nothing else. Each test asserts the whole pattern of statuses from `--json`.
//!
//! The servers listen on 127.0.0.1 only, on a port the system picks (they print it).
//! Latency is not judged here (`--slow-ms` is an hour): tests make no timed assertions.
//!
//! `runs.rs` covers whole runs: the deadline, Ctrl-C, `--urls`, an address nobody
//! listens on.

mod helpers;
mod runs;

use helpers::{assert_clean, expect, why, Server};
use serde_json::Value;

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
