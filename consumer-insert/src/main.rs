//! consumer-insert: serves the `insert_record` queue (see the crate's library).

use std::process::ExitCode;

// One thread: a consumer waits on the broker and the database, and a single scheduler
// thread wakes fewer threads per message than a work-stealing pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let outcome = inventory::worker::main(consumer_insert::InsertRecord).await;
    // One that cannot start (it logs why) exits with 2.
    ExitCode::from(if outcome.is_ok() { 0 } else { 2 })
}
