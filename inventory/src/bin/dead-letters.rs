//! dead-letters: list or replay the dead-letter queue.
//!
//!     dead-letters list [N]      show up to N (default 20), leaving them queued
//!     dead-letters replay [N]    send up to N (default all) back to their queues
//!
//! Connects with AMQP_URL (it needs read on dead_letters and write on the exchange:
//! use an operator account, e.g. the local stack's admin).

use clap::{Parser, Subcommand};
use inventory::{broker, dead_letters, Settings};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dead-letters",
    about = "List or replay the dead-letter queue.",
    after_help = "Connects with AMQP_URL: it needs read on dead_letters and write on the \
exchange, so use an operator account (scripts/dead-letters uses the local stack's admin)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show dead letters, leaving them queued.
    List {
        /// How many to show at most.
        #[arg(default_value_t = 20)]
        n: usize,
    },
    /// Send dead letters back to their queues.
    Replay {
        /// How many to send at most (default: all).
        n: Option<usize>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    // Parsed before anything connects: `--help` and a wrong argument print usage and
    // exit (0 and 2) without needing a broker.
    let cli = Cli::parse();
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
    let result = match cli.command {
        Command::List { n } => dead_letters::inspect(&channel, n)
            .await
            .map_err(|e| e.to_string()),
        Command::Replay { n } => dead_letters::replay(&channel, n.unwrap_or(usize::MAX))
            .await
            .map_err(|e| e.to_string()),
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
