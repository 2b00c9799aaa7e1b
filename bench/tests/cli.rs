//! The bench's command line: `--help` prints usage and exits 0; a wrong flag, a bad value
//! or an unknown scenario prints usage and exits 2, without a panic and before anything
//! is measured.

use test_support::Cli;

fn bench() -> Cli {
    // Had the bench gone past its arguments, it would fail on this folder.
    Cli::new(env!("CARGO_BIN_EXE_bench"), "bench").env("STACK_DIR", "/nonexistent/bench-cli-test")
}

#[test]
fn help_prints_usage_and_exits_0() {
    let stdout = bench().run(&["--help"]).help();
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
    bench().run(&["--no-such-flag"]).usage_error();
    bench().run(&["extra"]).usage_error();
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
        bench().run(args).bad_value(&[named]);
    }
}
