//! The report as one self-contained HTML file: no script, no external style sheet, no
//! font or image to fetch, so it opens from a mail attachment or a grading folder.
//! Every check is a table row with its status, why, details and `curl` commands;
//! `data-check` and `data-status` attributes name them for tests and scripts.

use crate::catalogue;
use crate::report::{Report, Status};
use std::fmt::Write;

const STYLE: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.5rem;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.8rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.status{font-weight:600;white-space:nowrap}
.pass .status,.verdict.pass{color:#1a7f37}.fail .status,.verdict.fail{color:#cf222e}
.skipped .status{color:#9a6700}.not_applicable .status{color:#6e7781}
ul.details li.pass .status{color:#1a7f37}ul.details li.fail .status{color:#cf222e}
ul.details li.skipped .status{color:#9a6700}ul.details li.not_applicable .status{color:#6e7781}
.verdict{font-weight:700;font-size:1.1rem}
pre{margin:.2rem 0;white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:.3rem .4rem;border-radius:4px;font-size:12.5px}
details{margin-top:.3rem}summary{cursor:pointer;color:#0969da}
ul.details{margin:.3rem 0;padding-left:1.2rem}ul.details li{margin:.15rem 0}
.meta{color:#57606a}.kind{white-space:nowrap}
";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Skipped => "skipped",
        Status::NotApplicable => "not_applicable",
    }
}

fn curl_block(curl: &str) -> String {
    format!("<pre><code class=\"curl\">{}</code></pre>", escape(curl))
}

fn deployment(out: &mut String, r: &Report) {
    let verdict = if r.ok {
        "PASS: every required check passed.".to_string()
    } else {
        format!("FAIL: {}.", r.failure_summary())
    };
    let _ = write!(
        out,
        "<section class=\"deployment\" data-url=\"{url}\"><h2>{url}</h2>\
         <p class=\"verdict {cls}\">{verdict}</p>\
         <p class=\"meta\">Checked {started} in {secs} s by {tool}. Records of this run: SRNs {prefix}… \
         (cleanup: {cleanup}). Limits: {timeout} s per request, {deadline} s overall, \
         at most {most} requests at once.</p><ul class=\"meta\">",
        url = escape(&r.url),
        cls = if r.ok { "pass" } else { "fail" },
        verdict = escape(&verdict),
        started = escape(&r.started),
        secs = r.seconds,
        tool = escape(&r.tool),
        prefix = escape(&r.srn_prefix),
        cleanup = escape(&r.cleanup.note),
        timeout = r.limits.request_timeout_s,
        deadline = r.limits.deadline_s,
        most = r.limits.most_requests_at_once,
    );
    for (action, shape) in r.accepted.by_key() {
        let shape = shape.as_deref().unwrap_or("no working shape found");
        let _ = write!(out, "<li>{action}: <code>{}</code></li>", escape(shape));
    }
    out.push_str(
        "</ul><table class=\"checks\"><thead><tr><th>check</th><th>kind</th><th>result</th>\
         <th>what it observes, and why this result</th><th>reproduce</th></tr></thead><tbody>",
    );
    for c in &r.checks {
        let _ = write!(
            out,
            "<tr class=\"check {cls}\" data-check=\"{key}\" data-status=\"{cls}\"><td><b>{key}</b></td>\
             <td class=\"kind\">{kind}</td><td class=\"status\">{word}</td>\
             <td><div class=\"why\">{why}</div><div class=\"meta\">{meaning}</div>",
            cls = status_class(c.status),
            key = escape(c.check),
            kind = if c.required { "required" } else { "advice" },
            word = escape(c.status.word()),
            why = escape(&c.why),
            meaning = escape(c.meaning),
        );
        if !c.details.is_empty() {
            let _ = write!(
                out,
                "<details><summary>{} details</summary><ul class=\"details\">",
                c.details.len()
            );
            for d in &c.details {
                let _ = write!(
                    out,
                    "<li class=\"{}\"><span class=\"status\">{}</span> {}: {}",
                    status_class(d.status),
                    escape(d.status.word()),
                    escape(&d.label),
                    escape(&d.note)
                );
                if let Some(curl) = &d.curl {
                    out.push_str(&curl_block(curl));
                }
                out.push_str("</li>");
            }
            out.push_str("</ul></details>");
        }
        out.push_str("</td><td>");
        for curl in &c.curl {
            out.push_str(&curl_block(curl));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn summary(out: &mut String, reports: &[Report]) {
    let groups = catalogue::groups();
    out.push_str("<table id=\"summary\"><thead><tr><th>deployment</th><th>required</th>");
    for g in &groups {
        let _ = write!(out, "<th>{g}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for r in reports {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td class=\"status\">{}</td>",
            if r.ok { "pass" } else { "fail" },
            escape(&r.url),
            if r.ok { "PASS" } else { "FAIL" }
        );
        for g in &groups {
            let checks: Vec<_> = r.checks.iter().filter(|c| c.group == *g).collect();
            let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
            let passes = checks.iter().filter(|c| c.status == Status::Pass).count();
            let _ = write!(
                out,
                "<td>{passes}/{} pass{}</td>",
                checks.len(),
                if fails > 0 {
                    format!(", {fails} fail")
                } else {
                    String::new()
                }
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The whole file for one or more deployments.
pub fn render(reports: &[Report]) -> String {
    let mut out = String::from("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<title>inventory-check report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><h1>inventory-check report</h1>");
    if reports.len() > 1 {
        summary(&mut out, reports);
    }
    for r in reports {
        deployment(&mut out, r);
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
