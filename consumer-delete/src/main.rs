//! consumer-delete: serves the `delete_record` queue (see the crate's library).

use std::process::ExitCode;

// One thread: a consumer waits on the broker and the database, and a single scheduler
// thread wakes fewer threads per message than a work-stealing pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Err(e) = inventory::worker::main(consumer_delete::DeleteRecord::new).await else {
        return ExitCode::SUCCESS;
    };
    log::error!("consumer-delete: {e}");
    ExitCode::from(2)
}
