//! The workspace's command-line tools (bench, chaos, dead-letters, migrate) promise the
//! same things about their arguments: `--help` prints usage and exits 0; a wrong flag
//! prints usage and a bad value is named, both exiting 2 without a panic and before the
//! tool does anything. [`Cli`] runs a tool and checks those promises, so each tool's
//! test says only which arguments it tries.

use std::process::Command;

/// A command-line tool under test: its binary, the name its usage line shows, and the
/// environment every run gets.
pub struct Cli {
    binary: &'static str,
    name: &'static str,
    env: Vec<(&'static str, &'static str)>,
    env_remove: Vec<&'static str>,
}

/// What one run printed and how it ended.
pub struct Ran {
    /// The arguments and environment of the run, for failure messages.
    what: String,
    name: &'static str,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    /// `binary` (an `env!("CARGO_BIN_EXE_…")` path) whose usage line reads `Usage: name`.
    pub fn new(binary: &'static str, name: &'static str) -> Self {
        Cli {
            binary,
            name,
            env: Vec::new(),
            env_remove: Vec::new(),
        }
    }

    /// Sets `variable` on every run: typically a setting that makes the tool fail at
    /// once if it went past its arguments.
    pub fn env(mut self, variable: &'static str, value: &'static str) -> Self {
        self.env.push((variable, value));
        self
    }

    /// Removes `variable` from every run's environment (one the test's own environment
    /// may set).
    pub fn env_remove(mut self, variable: &'static str) -> Self {
        self.env_remove.push(variable);
        self
    }

    /// Runs the tool with `args`.
    pub fn run(&self, args: &[&str]) -> Ran {
        self.run_with(args, &[])
    }

    /// Runs the tool with `args` and, on top of the tool's environment, `env`.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let mut command = Command::new(self.binary);
        command.args(args);
        for variable in &self.env_remove {
            command.env_remove(variable);
        }
        for (variable, value) in self.env.iter().chain(env) {
            command.env(variable, value);
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.binary));
        Ran {
            what: format!("{} {args:?} {env:?}", self.name),
            name: self.name,
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Ran {
    /// Asserts a help page: exit 0, usage on stdout. Returns stdout.
    pub fn help(self) -> String {
        let (what, stdout) = (&self.what, &self.stdout);
        assert_eq!(self.code, Some(0), "{what}: {stdout}");
        assert!(
            stdout.contains(&format!("Usage: {}", self.name)),
            "{what}: {stdout}"
        );
        self.stdout
    }

    /// Asserts a refused command line: exit 2, usage on stderr, no panic.
    pub fn usage_error(self) {
        self.exited_2_without_a_panic();
        let (what, stderr) = (&self.what, &self.stderr);
        assert!(
            stderr.contains(&format!("Usage: {}", self.name)),
            "{what}: {stderr}"
        );
    }

    /// Asserts a refused value: exit 2, every one of `named` on stderr with a pointer to
    /// `--help`, no panic.
    pub fn bad_value(self, named: &[&str]) {
        self.exited_2_without_a_panic();
        let (what, stderr) = (&self.what, &self.stderr);
        for name in named.iter().chain(&["--help"]) {
            assert!(stderr.contains(name), "{what}: {name} not in {stderr}");
        }
    }

    fn exited_2_without_a_panic(&self) {
        let (what, stderr) = (&self.what, &self.stderr);
        assert_eq!(self.code, Some(2), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
}
