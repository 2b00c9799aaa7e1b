//! The migrate tool's command line: it takes no arguments (its settings come from the
//! environment), so `--help` prints usage and exits 0, and anything else prints usage
//! and exits 2, without a panic or connecting.

use test_support::Cli;

fn migrate() -> Cli {
    // Nothing listens here: had the tool tried to connect, it would fail with 1.
    Cli::new(env!("CARGO_BIN_EXE_migrate"), "migrate")
        .env(
            "DATABASE_URL",
            "mysql://nobody:nothing@127.0.0.1:9/inventory",
        )
        .env_remove("MIGRATION_DATABASE_URL")
}

#[test]
fn help_prints_usage_and_exits_0() {
    migrate().run(&["--help"]).help();
}

#[test]
fn a_flag_or_an_argument_prints_usage_and_exits_2_without_a_panic() {
    for args in [&["--no-such-flag"][..], &["up"]] {
        migrate().run(args).usage_error();
    }
}
