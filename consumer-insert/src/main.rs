//! consumer-insert: owns the `insert_record` queue and inserts records.
//! All logic is in `inventory::consumer`; this binary only picks the operation.

#[tokio::main]
async fn main() {
    inventory::consumer::main(inventory::Operation::InsertRecord).await;
}
