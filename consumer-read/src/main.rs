//! consumer-read: serves the `read_database` queue (see the crate's library).

use std::process::ExitCode;

// One thread: a consumer waits on the broker and the database, and a single scheduler
// thread wakes fewer threads per message than a work-stealing pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Err(e) = inventory::worker::main(consumer_read::ReadDatabase::new).await else {
        return ExitCode::SUCCESS;
    };
    log::error!("consumer-read: {e}");
    ExitCode::from(2)
}
