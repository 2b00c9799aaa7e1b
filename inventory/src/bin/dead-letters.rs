//! dead-letters: list or replay the dead-letter queue.
//!
//!     dead-letters list [N]      show up to N (default 20), leaving them queued
//!     dead-letters replay [N]    send up to N (default all) back to their queues
//!
//! Connects with AMQP_URL (it needs read on dead_letters and write on the exchange:
//! use an operator account, e.g. the local stack's admin).

use inventory::{broker, dead_letters, Settings};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let limit = |default: usize| args.get(1).and_then(|n| n.parse().ok()).unwrap_or(default);
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let conn = match broker::connect_with(&settings.amqp_url, "dead-letters", &settings.tls).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cannot reach the broker at {}: {e}",
                settings.amqp_url_redacted()
            );
            return ExitCode::FAILURE;
        }
    };
    let channel = match conn.create_channel().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("list") => dead_letters::inspect(&channel, limit(20))
            .await
            .map_err(|e| e.to_string()),
        Some("replay") => dead_letters::replay(&channel, limit(usize::MAX))
            .await
            .map_err(|e| e.to_string()),
        _ => {
            eprintln!("usage: dead-letters list [N] | replay [N]");
            return ExitCode::from(2);
        }
    };
    let _ = conn.close(200, "done".into()).await;
    match result {
        Ok(letters) => {
            for l in &letters {
                println!(
                    "{}\t{}\t{}\t{}",
                    l.origin.as_deref().unwrap_or("?"),
                    l.message_id.as_deref().unwrap_or("-"),
                    l.reason.as_deref().unwrap_or("-"),
                    l.body.chars().take(200).collect::<String>()
                );
            }
            eprintln!("{} message(s)", letters.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
