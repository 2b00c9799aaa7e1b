//! The chaos tool's command line: `--help` prints usage and exits 0; a wrong flag prints
//! usage and a bad value (flag or environment) is named, both exiting 2 without a panic
//! and before any stack is started.

use std::process::{Command, Output};

fn chaos(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    command.args(args).env_remove("CHAOS_CLIENTS");
    for (name, value) in env {
        command.env(name, value);
    }
    // A folder that does not exist: had the tool started a stack, it would fail there.
    command.env("STACK_DIR", "/nonexistent/chaos-cli-test");
    command.output().expect("run chaos")
}

#[test]
fn help_prints_usage_and_exits_0() {
    let out = chaos(&["--help"], &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Usage: chaos"), "{stdout}");
    assert!(stdout.contains("--cluster"), "{stdout}");
    assert!(stdout.contains("CHAOS_CLIENTS"), "{stdout}");
}

#[test]
fn a_wrong_flag_prints_usage_and_exits_2_without_a_panic() {
    let out = chaos(&["--no-such-flag"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Usage: chaos"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_bad_value_from_a_flag_or_the_environment_is_named_and_exits_2() {
    let from_flag = chaos(&["--clients", "many"], &[]);
    let from_env = chaos(&[], &[("CHAOS_CLIENTS", "many")]);
    for out in [from_flag, from_env] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("'many'"), "{stderr}");
        assert!(stderr.contains("--clients"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
