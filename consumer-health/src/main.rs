//! consumer-health: owns the `health_check` queue and acks health checks.
//! All logic is in `inventory::consumer`; this binary only picks the operation.

// One thread: a consumer waits on the broker and the database, and a single
// scheduler thread wakes fewer threads per message than a work-stealing pool.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    inventory::consumer::main(inventory::Operation::HealthCheck).await;
}
