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

use helpers::{assert_clean, assert_says, expect, why, Server};
use serde_json::Value;

#[test]
fn a_flask_style_deployment_without_a_flaw_passes_everything() {
    let (server, report) = passes_everything(
        "flask",
        "POST /insert_record (JSON body: Name, SRN, Section)",
    );
    assert_says(&report, "health", "carries the message back");
    // Bounded: never more requests in flight than the parallel check's 32.
    let stats: Value = serde_json::from_str(&server.get("/_test/stats")).unwrap();
    let most = stats["most_in_flight"].as_u64().unwrap();
    assert!((1..=32).contains(&most), "{stats}");
}

#[test]
fn an_express_style_deployment_is_judged_by_what_it_does_not_by_its_wording() {
    let (_, report) = passes_everything(
        "express",
        "POST /insert_record (JSON body: name, srn, section)",
    );
    assert_eq!(report["accepted"]["delete"], "GET /delete_record/<srn>");
    assert_says(&report, "delete-missing", "the body says so");
}

#[test]
fn a_deployment_refusing_the_checkers_srns_is_checked_with_the_sample_format() {
    let server = Server::start("flask", Some("strict-srn"));
    let report = expect(&server, &[]);
    assert_eq!(report["srn_format"], "sample");
    assert_says(&report, "insert", "sample format PES1UG99CSnnn");
    let body = server.read_database();
    assert!(
        !body.contains("PES1UG99CS"),
        "sample-format records left: {body}"
    );
}

#[test]
fn a_read_one_insert_behind_fails_read_your_write_only() {
    fails_and_skips(
        "one-behind",
        ("read-your-write", "read number 2 after the insert did"),
        &[],
    );
}

#[test]
fn a_consumer_dying_on_its_second_message_fails_once_and_skips_what_needs_it() {
    let (_, report) = fails_and_skips(
        "consumer-dies",
        ("read-your-write", "an acknowledged insert was not stored"),
        &[
            "read-all",
            "duplicate",
            "delete-exact",
            "bad-input",
            "parallel",
        ],
    );
    assert!(why(&report, "parallel").starts_with("insert stopped working in `read-your-write`"));
}

#[test]
fn a_process_dying_on_its_second_request_fails_once_and_skips_the_rest() {
    let skipped: Vec<&str> = checker::catalogue::CHECKS
        .iter()
        .map(|c| c.key)
        .filter(|key| !["health", "read", "latency"].contains(key))
        .collect();
    let (_, report) = fails_and_skips(
        "process-dies",
        ("read", "did not answer any request"),
        &skipped,
    );
    assert!(why(&report, "alive").starts_with("the service stopped answering during `read`"));
}

#[test]
fn a_read_limited_to_ten_rows_fails_read_all_and_skips_what_reads_judge() {
    fails_and_skips(
        "read-limit",
        ("read-all", "the read returned 10 records"),
        &["duplicate", "delete-exact", "parallel"],
    );
}

/// A deployment of `style` without a flaw passes every check, with `insert` the insert
/// shape discovery found, and leaves no record behind. Returns the server and the
/// report.
fn passes_everything(style: &str, insert: &str) -> (Server, Value) {
    let server = Server::start(style, None);
    let report = expect(&server, &[]);
    assert_eq!(report["accepted"]["insert"], insert);
    assert_clean(&server, &report);
    (server, report)
}

/// A deployment with one flaw fails exactly `check`, saying `symptom`, and skips exactly
/// `skipped` (what the failure makes meaningless). Returns the server and the report.
fn fails_and_skips(
    flaw: &str,
    (check, symptom): (&str, &str),
    skipped: &[&str],
) -> (Server, Value) {
    let server = Server::start("flask", Some(flaw));
    let mut except = vec![(check, "fail")];
    except.extend(skipped.iter().map(|s| (*s, "skipped")));
    let report = expect(&server, &except);
    assert_says(&report, check, symptom);
    (server, report)
}

/// A deployment with one flaw fails exactly `check`, saying `symptom`, skips nothing,
/// and leaves no record behind.
fn fails_only(flaw: &str, check: &str, symptom: &str) {
    let (server, report) = fails_and_skips(flaw, (check, symptom), &[]);
    assert_clean(&server, &report);
}

/// One test per flaw whose symptom fails one check and nothing else.
macro_rules! fails_only {
    ($($test:ident: $flaw:literal fails $check:literal saying $symptom:literal;)*) => {$(
        #[test]
        fn $test() {
            fails_only($flaw, $check, $symptom);
        }
    )*};
}

fails_only! {
    a_200_before_the_record_is_stored_fails_read_your_write_only:
        "early-ack" fails "read-your-write" saying "the next read did not show it";
    a_500_on_a_missing_argument_fails_bad_input_only:
        "missing-500" fails "bad-input" saying "insert without SRN: 500";
    a_shared_channel_breaking_under_parallel_clients_fails_parallel_only:
        "shared-channel" fails "parallel" saying "never showed in the reads";
    a_duplicate_srn_stored_twice_fails_duplicate_only:
        "duplicate" fails "duplicate" saying "held 2 records with that SRN";
    a_delete_matching_more_than_the_srn_fails_delete_exact_only:
        "delete-wrong" fails "delete-exact" saying "the delete matches more than the exact SRN";
    a_delete_that_says_nothing_about_a_missing_record_fails_delete_missing_only:
        "delete-silent" fails "delete-missing" saying "nothing says it was not found";
    a_hanging_health_check_fails_health_only:
        "health-hang" fails "health" saying "no answer within the time limit";
}
