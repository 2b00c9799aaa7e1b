//! consumer-insert owns the `insert_record` queue: it stores a student record, once.
//!
//! Inserts go in batches: every delivery that arrived while the previous batch was
//! committing, in one transaction of multi-row `INSERT IGNORE` statements, with one
//! reply per message and one `multiple` ack for the batch (the run loop settles it).
//! Each row records the fingerprint of the request that stored it (the client's
//! idempotency key, or the message id), so that a request seen again — a redelivery
//! whose ack was lost, or a client's retry with the same key — is answered `inserted`,
//! not taken for a conflict with itself.

use inventory::db::{self, Database};
use inventory::handler::{Failure, Handler, Message};
use mysql_async::prelude::*;
use mysql_async::TxOpts;
use protocol::message::InsertRequest;
use protocol::Reply;
use std::collections::HashMap;

/// Most inserts committed in one transaction.
pub const BATCH_MAX: usize = 500;

/// Most rows one statement carries. A batch goes as statements of power-of-two sizes up
/// to this (100 rows: 64 + 32 + 4), so a connection prepares at most eight statement
/// texts per kind and keeps them all in its statement cache (32 by default), where one
/// text per batch size would keep preparing new ones.
const CHUNK_ROWS_MAX: usize = 64;

/// Inserts student records into this database.
#[derive(Debug, Clone)]
pub struct InsertRecord(pub Database);

impl Handler for InsertRecord {
    type Input = InsertRequest;

    async fn handle(&self, message: &Message<InsertRequest>) -> Result<Reply, Failure> {
        let mut replies = self.insert(std::slice::from_ref(message)).await?;
        Ok(replies.remove(0))
    }

    /// One batch at a time, so that one `multiple` ack settles each batch in turn.
    fn concurrency(&self) -> usize {
        1
    }

    fn batch_max(&self) -> usize {
        BATCH_MAX
    }

    async fn handle_batch(&self, batch: &[Message<InsertRequest>]) -> Result<Vec<Reply>, Failure> {
        self.insert(batch).await
    }

    fn database(&self) -> Option<&Database> {
        Some(&self.0)
    }

    // `verify` keeps its default: after a lost commit answer, trying again finds the row
    // with this request's fingerprint and answers `inserted`.
}

/// A row as stored: SRN, name, section and the fingerprint of the request that stored it.
type StoredRow = (String, String, String, Option<String>);

impl InsertRecord {
    /// Inserts every record in one transaction and decides each one's reply: `Inserted`
    /// when this request stored it (now, or an earlier delivery of it), `AlreadyExists`
    /// with the stored record when another request had (before this batch, or earlier
    /// in it). All or nothing: on error nothing of the batch is stored.
    async fn insert(&self, batch: &[Message<InsertRequest>]) -> Result<Vec<Reply>, Failure> {
        let mut conn = self.0.conn().await?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(db::failure)?;
        // IGNORE skips taken SRNs with only the INSERT privilege (ON DUPLICATE KEY UPDATE
        // would need UPDATE, which the insert account does not hold). IGNORE also turns
        // other errors into warnings; records are valid by construction, and any row
        // not inserted is compared with what was sent below.
        let mut inserted = 0;
        for chunk in chunks(batch.len()) {
            let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
            let params: Vec<mysql_async::Value> = batch[chunk]
                .iter()
                .flat_map(|m| {
                    let r = &m.input.record;
                    [
                        r.srn.as_str().into(),
                        r.name.as_str().into(),
                        r.section.as_str().into(),
                        m.meta.fingerprint.as_deref().into(),
                    ]
                })
                .collect();
            tx.exec_drop(
                format!(
                    "INSERT IGNORE INTO students (srn, name, section, request_id) VALUES {rows}"
                ),
                params,
            )
            .await
            .map_err(db::failure)?;
            inserted += tx.affected_rows();
        }
        // Rows that did not all go in as sent are looked up: taken SRNs, redeliveries.
        let mut stored: Vec<StoredRow> = Vec::new();
        if inserted < batch.len() as u64 {
            for chunk in chunks(batch.len()) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let srns: Vec<mysql_async::Value> = batch[chunk]
                    .iter()
                    .map(|m| m.input.record.srn.as_str().into())
                    .collect();
                let rows: Vec<StoredRow> = tx
                    .exec(
                        format!("SELECT srn, name, section, request_id FROM students WHERE srn IN ({marks})"),
                        srns,
                    )
                    .await
                    .map_err(db::failure)?;
                stored.extend(rows);
            }
        }
        if inserted > 0 {
            tx.exec_drop("CALL students_changed()", ())
                .await
                .map_err(db::failure)?;
        }
        db::commit(tx).await?;
        if inserted == batch.len() as u64 {
            return Ok(batch
                .iter()
                .map(|m| Reply::Inserted {
                    record: m.input.record.clone(),
                })
                .collect());
        }
        let stored: HashMap<String, StoredRow> =
            stored.into_iter().map(|row| (row.0.clone(), row)).collect();
        batch
            .iter()
            .map(|m| decide(m, stored.get(m.input.record.srn.as_str())))
            .collect()
    }
}

/// The reply to one insert of a batch whose rows did not all go in, from the row now
/// stored under its SRN.
fn decide(message: &Message<InsertRequest>, stored: Option<&StoredRow>) -> Result<Reply, Failure> {
    let Some((srn, name, section, stored_by)) = stored else {
        // Deleted by another consumer between our INSERT and SELECT: try again.
        return Err(Failure::Transient(
            "record changed concurrently; retrying".into(),
        ));
    };
    let row = db::stored_record(srn, name, section)?;
    // Without a fingerprint nothing proves the row is ours.
    let ours = message.meta.fingerprint.is_some()
        && stored_by.as_deref() == message.meta.fingerprint.as_deref();
    if ours && row == message.input.record {
        Ok(Reply::Inserted { record: row })
    } else {
        // Another request's row — or this key reused for other data: the SRN is taken.
        Ok(Reply::AlreadyExists { record: row })
    }
}

/// Splits `0..n` into consecutive ranges of power-of-two lengths, largest first.
fn chunks(n: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let mut start = 0;
    std::iter::from_fn(move || {
        let left = n - start;
        if left == 0 {
            return None;
        }
        let len = CHUNK_ROWS_MAX.min(1 << left.ilog2());
        start += len;
        Some(start - len..start)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_few_power_of_two_statements() {
        let lens = |n| chunks(n).map(|c| c.len()).collect::<Vec<_>>();
        assert_eq!(lens(0), Vec::<usize>::new());
        assert_eq!(lens(1), [1]);
        assert_eq!(lens(100), [64, 32, 4]);
        assert_eq!(lens(127), [64, 32, 16, 8, 4, 2, 1]);
        assert_eq!(lens(200), [64, 64, 64, 8]);
        for n in 0..600 {
            let all: Vec<usize> = chunks(n).flatten().collect();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "{n}");
        }
    }
}
