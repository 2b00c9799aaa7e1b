//! `inventory-check`: checks a deployment of the student-records assignment from
//! outside, over HTTP, and reports per check pass, fail, skipped or not applicable,
//! why, and the `curl` commands that reproduce it.
//!
//! - [`catalogue`]: the checks, which are required, what each needs;
//! - [`variants`]: the requests to try, generated from the producer's shape table;
//! - [`http`], [`listing`], [`srn`], [`latency`]: sending, reading answers, the run's
//!   own SRNs, latency percentiles;
//! - [`ctx`], [`checks`], [`runner`], [`cleanup`]: running the checks on one deployment;
//! - [`report`], [`render`]: the result and its renderings.

pub mod catalogue;
pub mod checks;
pub mod cleanup;
pub mod cli;
pub mod ctx;
pub mod http;
pub mod latency;
pub mod listing;
pub mod render;
pub mod report;
pub mod runner;
pub mod srn;
pub mod variants;

use cli::Args;
use futures_util::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use report::Report;
use std::time::Duration;

/// Runs what the command line asks. `Ok(true)` when every required check passed on
/// every deployment (and, with `--strict`, no check failed); `Err` for a usage problem (a bad URL, an unreadable file).
pub async fn run(args: Args) -> Result<bool, String> {
    let urls = match (&args.url, &args.urls) {
        (Some(url), _) => vec![url.clone()],
        (None, Some(file)) => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            cli::read_urls(&text)
        }
        (None, None) => return Err("give a URL or --urls FILE".into()),
    };
    if urls.is_empty() {
        return Err("the --urls file holds no URL".into());
    }
    let urls = urls
        .iter()
        .map(|u| cli::validate_url(u))
        .collect::<Result<Vec<_>, _>>()?;
    let bar = progress_bar(&args, urls.len());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
        }
    });
    let opts = args.options();
    let reports: Vec<Report> = stream::iter(urls.iter())
        .map(|url| runner::check(url, opts.clone(), &bar, stop_rx.clone()))
        .buffered(usize::from(args.jobs))
        .collect()
        .await;
    bar.finish_and_clear();
    write_outputs(&args, &reports)?;
    let advice_failed = |r: &Report| r.count(report::Status::Fail) > 0;
    Ok(reports
        .iter()
        .all(|r| r.ok && !(args.strict && advice_failed(r))))
}

fn progress_bar(args: &Args, deployments: usize) -> ProgressBar {
    if args.no_progress {
        return ProgressBar::hidden();
    }
    let len = (deployments * catalogue::CHECKS.len()) as u64;
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} checks  {wide_msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn write_outputs(args: &Args, reports: &[Report]) -> Result<(), String> {
    if let Some(path) = &args.html {
        std::fs::write(path, render::html::render(reports))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if args.json {
        let json = if args.urls.is_some() {
            serde_json::to_string_pretty(reports)
        } else {
            serde_json::to_string_pretty(&reports[0])
        };
        println!("{}", json.map_err(|e| e.to_string())?);
        return Ok(());
    }
    let colour = console::colors_enabled();
    let width = console::Term::stdout()
        .size_checked()
        .map_or(110, |(_, w)| usize::from(w));
    if reports.len() == 1 {
        print!("{}", render::terminal::render(&reports[0], colour, width));
    } else {
        print!("{}", render::terminal::summary(reports, colour));
        for r in reports.iter().filter(|r| !r.ok) {
            println!();
            print!("{}", render::terminal::render(r, colour, width));
        }
    }
    if let Some(path) = &args.html {
        println!("HTML report: {}", path.display());
    }
    Ok(())
}
