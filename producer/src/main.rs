//! producer: the HTTP front. Reads settings, sets up logging, serves until SIGTERM.

use inventory::shutdown::Shutdown;
use inventory::Settings;
use std::process::ExitCode;

#[rocket::main]
async fn main() -> ExitCode {
    // Rocket narrates every request at info and every forwarded guard at warn; our own
    // lines (one per failed request, gateway events) are enough.
    let env = env_logger::Env::default().default_filter_or(
        "info,rocket=error,_=error,producer::page::_=error,producer::probes::_=error",
    );
    producer::auth::install_logger(env_logger::Builder::from_env(env))
        .expect("the first logger of the process");
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            log::error!("producer: {e}");
            return ExitCode::from(2);
        }
    };
    // A broker that fails TLS verification stops the process here.
    if let Err(e) = inventory::tls::check_peers(&settings, "producer", false).await {
        log::error!("producer: {e}; not starting");
        return ExitCode::from(2);
    }
    match producer::serve(settings, Shutdown::new(), None).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("producer: {e}");
            ExitCode::FAILURE
        }
    }
}
