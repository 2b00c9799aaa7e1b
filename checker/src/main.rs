//! `inventory-check URL`: see `inventory-check --help`, and the README's section for
//! teachers and students.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = checker::cli::Args::parse_with_help();
    match checker::run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("inventory-check: {e}");
            ExitCode::from(2)
        }
    }
}
