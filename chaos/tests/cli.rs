//! The chaos tool's command line: `--help` prints usage and exits 0; a wrong flag prints
//! usage and a bad value (flag or environment) is named, both exiting 2 without a panic
//! and before any stack is started.

use test_support::Cli;

fn chaos() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_chaos"), "chaos")
        .env_remove("CHAOS_CLIENTS")
        // A folder that does not exist: had the tool started a stack, it would fail there.
        .env("STACK_DIR", "/nonexistent/chaos-cli-test")
}

#[test]
fn help_prints_usage_and_exits_0() {
    let stdout = chaos().run(&["--help"]).help();
    assert!(stdout.contains("--cluster"), "{stdout}");
    assert!(stdout.contains("CHAOS_CLIENTS"), "{stdout}");
}

#[test]
fn a_wrong_flag_prints_usage_and_exits_2_without_a_panic() {
    chaos().run(&["--no-such-flag"]).usage_error();
}

#[test]
fn a_bad_value_from_a_flag_or_the_environment_is_named_and_exits_2() {
    let named = ["'many'", "--clients"];
    chaos().run(&["--clients", "many"]).bad_value(&named);
    chaos()
        .run_with(&[], &[("CHAOS_CLIENTS", "many")])
        .bad_value(&named);
}
