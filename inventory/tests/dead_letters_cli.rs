//! The dead-letters tool's command line: `--help` prints usage and exits 0; a wrong flag
//! prints usage and a bad count is named, both exiting 2 without a panic or connecting.

use std::process::{Command, Output};

fn dead_letters(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dead-letters"))
        .args(args)
        // Nothing listens here: had the tool tried to connect, it would fail with 1.
        .env("AMQP_URL", "amqp://127.0.0.1:9/%2f")
        .output()
        .expect("run dead-letters")
}

#[test]
fn help_prints_usage_and_exits_0() {
    for args in [&["--help"][..], &["list", "--help"], &["replay", "--help"]] {
        let out = dead_letters(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}");
        assert!(stdout.contains("Usage: dead-letters"), "{args:?}: {stdout}");
    }
}

#[test]
fn a_wrong_command_or_flag_prints_usage_and_exits_2_without_a_panic() {
    for args in [
        &["--no-such-flag"][..],
        &[],
        &["purge"],
        &["list", "5", "6"],
    ] {
        let out = dead_letters(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: dead-letters"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_bad_count_is_named_and_exits_2_without_a_panic() {
    for args in [&["list", "many"][..], &["replay", "-1"]] {
        let out = dead_letters(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
