//! The command line, and the `--help` that states what the checker does to a
//! deployment: which records it touches, its limits, and which checks are required.

use crate::catalogue;
use crate::ctx::{Options, PARALLEL};
use clap::{CommandFactory, FromArgMatches, Parser};
use std::path::PathBuf;
use std::time::Duration;

/// Checks a deployment of the student-records assignment (this project's, or one in
/// Flask or Express) from outside, over HTTP, and reports what works.
#[derive(Debug, Parser)]
#[command(name = "inventory-check", version, args_override_self = true)]
pub struct Args {
    /// The deployment's base URL, e.g. http://127.0.0.1:8000
    #[arg(required_unless_present = "urls", conflicts_with = "urls")]
    pub url: Option<String>,

    /// A file of base URLs, one per line (# starts a comment): checks them all,
    /// --jobs at a time, and prints one summary table.
    #[arg(long, value_name = "FILE")]
    pub urls: Option<PathBuf>,

    /// Prints the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Also writes a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Time limit for each request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,

    /// Time limit for the checks of one deployment, in seconds (cleanup gets 60 more).
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub deadline: f64,

    /// How long a check waits for an acknowledged write to show in reads, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub settle: f64,

    /// The latency advice fails when a route's p99 is over this, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub slow_ms: u64,

    /// How many deployments --urls checks at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: u16,

    /// Advice checks that fail set the exit status too.
    #[arg(long)]
    pub strict: bool,

    /// No progress bar (it is drawn only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
}

fn safety() -> String {
    format!(
        "Safe by default:\n  \
         - it touches only records it made up: SRNs CHK-<run>-<nnn> (<run> is random per run), or,\n    \
           when a deployment refuses those, the assignment's format PES1UG99CSnnn, skipping any\n    \
           that already exist; it deletes every one of them at the end and reports any left;\n  \
         - one request at a time, except the parallel check ({PARALLEL} inserts at once): at most\n    \
           {PARALLEL} requests in flight per deployment, and --jobs deployments at once;\n  \
         - every request has a time limit (--timeout), the checks of a deployment one more\n    \
           (--deadline), cleanup 60 s; Ctrl-C stops the checks and still cleans up.\n\n\
         Exit status: 0 when every REQUIRED check passed (on every deployment), 1 when one\n\
         failed or could not run (with --strict, also when an advice check failed), 2 for a\n\
         usage error.\n\n\
         Examples:\n  \
         inventory-check http://127.0.0.1:8000\n  \
         inventory-check http://127.0.0.1:8000 --json > report.json\n  \
         inventory-check http://127.0.0.1:8000 --html report.html\n  \
         inventory-check --urls class.txt --html class.html"
    )
}

impl Args {
    /// Parses the command line; exits with usage (2) or help (0) as clap does.
    pub fn parse_with_help() -> Args {
        let command =
            Args::command().after_help(format!("{}\n{}", catalogue::help_text(), safety()));
        let matches = command.get_matches();
        Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    pub fn options(&self) -> Options {
        let secs = |s: f64| Duration::from_secs_f64(s.clamp(0.1, 86_400.0));
        Options {
            timeout: secs(self.timeout),
            deadline: secs(self.deadline),
            settle: secs(self.settle),
            slow: Duration::from_millis(self.slow_ms),
        }
    }
}

/// The URLs of a `--urls` file: one per line, blank lines and `#` comments ignored.
pub fn read_urls(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The base URL as it will be used (`http://host:80/` is `http://host`), or why it is
/// refused: only `http://` URLs with a host.
pub fn validate_url(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: not a URL ({e})"))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url}: no host"));
    }
    match parsed.scheme() {
        "http" => Ok(parsed.as_str().trim_end_matches('/').to_string()),
        "https" => Err(format!(
            "{url}: https is not supported by this build (no TLS); use the deployment's http address"
        )),
        other => Err(format!("{url}: scheme {other} is not http")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_states_required_checks_limits_and_concurrency() {
        let help = Args::command()
            .after_help(format!("{}\n{}", catalogue::help_text(), safety()))
            .render_long_help()
            .to_string();
        assert!(help.contains("read-your-write  REQUIRED"), "{help}");
        assert!(help.contains("latency          advice"), "{help}");
        assert!(
            help.contains("at most\n    32 requests in flight"),
            "{help}"
        );
        assert!(help.contains("--timeout") && help.contains("--deadline"));
    }

    #[test]
    fn urls_files_skip_comments_and_blanks() {
        let urls = read_urls("# class A\nhttp://a:1\n\n  http://b:2  # Bo\n");
        assert_eq!(urls, vec!["http://a:1", "http://b:2"]);
        assert_eq!(validate_url("http://a:1/").unwrap(), "http://a:1");
        assert_eq!(validate_url("http://a:/x/").unwrap(), "http://a/x");
        assert!(validate_url("https://a").unwrap_err().contains("https"));
        assert!(validate_url("a:1").is_err());
    }
}
