//! consumer-read: owns the `read_database` queue and reads all records.
//! All logic is in `inventory::consumer`; this binary only picks the operation.

#[tokio::main]
async fn main() {
    inventory::consumer::main(inventory::Operation::ReadDatabase).await;
}
