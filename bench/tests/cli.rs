//! The bench's command line: `--help` prints usage and exits 0; a wrong flag, a bad value
//! or an unknown scenario prints usage and exits 2, without a panic and before anything
//! is measured.

use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(args)
        // Had the bench gone past its arguments, it would fail on this folder.
        .env("STACK_DIR", "/nonexistent/bench-cli-test")
        .output()
        .expect("run bench")
}

#[test]
fn help_prints_usage_and_exits_0() {
    let out = bench(&["--help"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Usage: bench"), "{stdout}");
    for flag in [
        "--duration",
        "--warmup",
        "--concurrency",
        "--drain-messages",
        "--scenarios",
        "--output",
        "--cluster",
    ] {
        assert!(
            stdout.contains(flag),
            "{flag} missing from --help: {stdout}"
        );
    }
}

#[test]
fn a_wrong_flag_prints_usage_and_exits_2_without_a_panic() {
    for args in [&["--no-such-flag"][..], &["extra"]] {
        let out = bench(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: bench"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_bad_value_is_named_and_exits_2_without_a_panic() {
    for (args, named) in [
        (&["--duration"][..], "--duration"),
        (&["--duration", "ten"], "--duration"),
        (&["--warmup", "-1"], "-1"),
        (&["--concurrency", "0"], "--concurrency"),
        (&["--scenarios", "health_check,no_such"], "no_such"),
    ] {
        let out = bench(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(stderr.contains("--help"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
