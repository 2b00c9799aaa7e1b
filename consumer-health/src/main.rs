//! consumer-health: owns the `health_check` queue and acks health checks.
//! All logic is in `inventory::consumer`; this binary only picks the operation.

#[tokio::main]
async fn main() {
    inventory::consumer::main(inventory::Operation::HealthCheck).await;
}
