//! migrate: applies the schema's migrations (`migrations/*.sql`) that the database has
//! not had yet, then exits. `scripts/stack` runs it before starting the services; every
//! consumer also applies them at start-up, so running it is never required.

use clap::Parser;
use inventory::db::Database;
use inventory::Settings;
use std::process::ExitCode;

/// Applies the pending migrations to MIGRATION_DATABASE_URL (or, unset, DATABASE_URL).
#[derive(Parser)]
#[command(version)]
struct Args {}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    Args::parse();
    let env = env_logger::Env::default().default_filter_or("info");
    env_logger::Builder::from_env(env).init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            log::error!("migrate: {e}");
            return ExitCode::from(2);
        }
    };
    let url = settings
        .migration_database_url
        .as_deref()
        .unwrap_or(&settings.database_url);
    let database = match Database::with_tls(url, 1, settings.db_connect_timeout, &settings.tls) {
        Ok(database) => database,
        Err(e) => {
            log::error!("migrate: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = inventory::migrate::migrate(&database).await;
    database.close().await;
    match outcome {
        Ok(applied) if applied.is_empty() => log::info!("migrate: the schema is up to date"),
        Ok(applied) => log::info!("migrate: applied {applied:?}"),
        Err(e) => {
            log::error!("migrate: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
