//! consumer-delete: owns the `delete_record` queue and deletes records by SRN.
//! All logic is in `inventory::consumer`; this binary only picks the operation.

#[tokio::main]
async fn main() {
    inventory::consumer::main(inventory::Operation::DeleteRecord).await;
}
