//! The report as text for a terminal: one table row per check, the verdict, and the
//! `curl` commands that reproduce each failure. Colour only when stdout is a terminal
//! (and `NO_COLOR` is unset), as `console` decides.

use crate::catalogue;
use crate::report::{Report, Status};
use console::Style;
use std::fmt::Write;

fn style(status: Status, colour: bool) -> Style {
    let s = Style::new().force_styling(colour);
    match status {
        Status::Pass => s.green(),
        Status::Fail => s.red().bold(),
        Status::Skipped => s.yellow(),
        Status::NotApplicable => s.dim(),
    }
}

/// Breaks `text` into lines of at most `width` characters, at spaces where it can
/// (a long JSON body has none).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    let chars: Vec<char> = text.chars().collect();
    let words = chars.split(|c| *c == ' ').flat_map(|w| {
        w.chunks(width.max(1))
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
    });
    for word in words {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
    }
    lines
}

/// Pads before styling, so colour codes do not upset the columns.
fn cell(text: &str, width: usize, style: &Style) -> String {
    style.apply_to(format!("{text:<width$}")).to_string()
}

/// The verdict line for one deployment.
pub fn verdict(report: &Report, colour: bool) -> String {
    let not_passed = report.required_not_passed();
    if not_passed.is_empty() {
        let s = style(Status::Pass, colour).bold();
        s.apply_to("PASS: every required check passed").to_string()
    } else {
        style(Status::Fail, colour)
            .apply_to(format!("FAIL: {}", report.failure_summary()))
            .to_string()
    }
}

pub fn render(report: &Report, colour: bool, width: usize) -> String {
    let mut out = String::new();
    let bold = Style::new().force_styling(colour).bold();
    let _ = writeln!(
        out,
        "{} {}  ({} s; records {}…)",
        bold.apply_to(&report.tool),
        bold.apply_to(&report.url),
        report.seconds,
        report.srn_prefix
    );
    for (action, shape) in report.accepted.by_key() {
        let shape = shape.as_deref().unwrap_or("none found");
        let _ = writeln!(out, "  {action:<7} {shape}");
    }
    out.push('\n');
    let why_width = width.saturating_sub(37).max(30);
    let _ = writeln!(
        out,
        "{}",
        bold.apply_to(format!("{:<16} {:<9} {:<8} why", "check", "kind", "result"))
    );
    for c in &report.checks {
        let kind = if c.required { "required" } else { "advice" };
        let lines = wrap(&c.why, why_width);
        let _ = writeln!(
            out,
            "{:<16} {:<9} {} {}",
            c.check,
            kind,
            cell(c.status.word(), 8, &style(c.status, colour)),
            lines[0]
        );
        for line in &lines[1..] {
            let _ = writeln!(out, "{:36}{line}", "");
        }
    }
    out.push('\n');
    let _ = writeln!(out, "{}", verdict(report, colour));
    let _ = writeln!(out, "cleanup: {}", report.cleanup.note);
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail && !c.curl.is_empty())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "\nTo reproduce:");
        for c in failed {
            let _ = writeln!(out, "  # {}", c.check);
            for curl in &c.curl {
                let _ = writeln!(out, "  {curl}");
            }
        }
    }
    out
}

/// `--urls`: one row per deployment, one column per check group.
pub fn summary(reports: &[Report], colour: bool) -> String {
    let groups = catalogue::groups();
    let url_width = reports
        .iter()
        .map(|r| r.url.len())
        .max()
        .unwrap_or(10)
        .max(10);
    let bold = Style::new().force_styling(colour).bold();
    let mut header = format!("{:<url_width$} {:<9}", "deployment", "required");
    for g in &groups {
        header.push_str(&format!(" {g:<10}"));
    }
    let mut out = format!("{}\n", bold.apply_to(header.trim_end()));
    for r in reports {
        let ok = if r.ok { Status::Pass } else { Status::Fail };
        let mut row = String::new();
        let _ = write!(
            row,
            "{:<url_width$} {}",
            r.url,
            cell(if r.ok { "PASS" } else { "FAIL" }, 9, &style(ok, colour))
        );
        for g in &groups {
            let checks: Vec<_> = r.checks.iter().filter(|c| c.group == *g).collect();
            let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
            let applicable = checks.len() - count(Status::NotApplicable);
            let (text, status) = if count(Status::Fail) > 0 {
                (format!("{} fail", count(Status::Fail)), Status::Fail)
            } else if count(Status::Skipped) > 0 {
                (
                    format!("{} skipped", count(Status::Skipped)),
                    Status::Skipped,
                )
            } else if applicable == 0 {
                ("n/a".to_string(), Status::NotApplicable)
            } else {
                (
                    format!("{}/{applicable} ok", count(Status::Pass)),
                    Status::Pass,
                )
            };
            let _ = write!(row, " {}", cell(&text, 10, &style(status, colour)));
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_only_overlong_words() {
        assert_eq!(wrap("aa bb cc dd", 5), vec!["aa bb", "cc dd"]);
        assert_eq!(wrap("abcdefghijkl x", 5), vec!["abcde", "fghij", "kl x"]);
    }
}
