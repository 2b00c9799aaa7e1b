//! The dead-letters tool's command line: `--help` prints usage and exits 0; a wrong flag
//! prints usage and a bad count is named, both exiting 2 without a panic or connecting.

use test_support::Cli;

fn dead_letters() -> Cli {
    // Nothing listens here: had the tool tried to connect, it would fail with 1.
    Cli::new(env!("CARGO_BIN_EXE_dead-letters"), "dead-letters")
        .env("AMQP_URL", "amqp://127.0.0.1:9/%2f")
}

#[test]
fn help_prints_usage_and_exits_0() {
    for args in [&["--help"][..], &["list", "--help"], &["replay", "--help"]] {
        dead_letters().run(args).help();
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
        dead_letters().run(args).usage_error();
    }
}

#[test]
fn a_bad_count_is_named_and_exits_2_without_a_panic() {
    for args in [&["list", "many"][..], &["replay", "-1"]] {
        dead_letters().run(args).bad_value(&[args[1]]);
    }
}
