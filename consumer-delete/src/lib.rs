//! consumer-delete owns the `delete_record` queue: it deletes the record with an SRN and
//! answers with the record deleted, or says there was none.
//!
//! A delete is not naturally repeatable (a second attempt finds nothing and would say
//! "not found" about a record it deleted), so when the commit's answer is lost it is
//! verified before anything is tried again: gone means deleted.

use inventory::db::{self, Database};
use inventory::handler::{Failure, Handler, Message};
use mysql_async::prelude::*;
use mysql_async::TxOpts;
use protocol::message::DeleteRequest;
use protocol::Reply;

/// Deletes student records by SRN from this database.
#[derive(Debug, Clone)]
pub struct DeleteRecord(pub Database);

impl Handler for DeleteRecord {
    type Input = DeleteRequest;

    async fn handle(&self, message: &Message<DeleteRequest>) -> Result<Reply, Failure> {
        let srn = message.input.srn.as_str();
        let mut conn = self.0.conn().await?;
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(db::failure)?;
        let row: Option<(String, String, String)> = tx
            .exec_first(
                "SELECT srn, name, section FROM students WHERE srn = ? FOR UPDATE",
                (srn,),
            )
            .await
            .map_err(db::failure)?;
        let Some((srn, name, section)) = row else {
            tx.rollback().await.map_err(db::failure)?;
            return Ok(Reply::NotFound {
                srn: message.input.srn.clone(),
            });
        };
        let record = db::stored_record(&srn, &name, &section)?;
        tx.exec_drop("DELETE FROM students WHERE srn = ?", (&srn,))
            .await
            .map_err(db::failure)?;
        tx.exec_drop("CALL students_changed()", ())
            .await
            .map_err(db::failure)?;
        let deleted = Reply::Deleted { record };
        db::commit(tx)
            .await
            .map_err(|f| f.if_committed(deleted.clone()))?;
        Ok(deleted)
    }

    fn database(&self) -> Option<&Database> {
        Some(&self.0)
    }

    /// The record is gone: the lost commit went through (or someone else deleted it
    /// since, which leaves the client where it wanted to be). Still there: try again.
    async fn verify(
        &self,
        message: &Message<DeleteRequest>,
        if_committed: Option<&Reply>,
    ) -> Result<Option<Reply>, Failure> {
        let mut conn = self.0.conn().await?;
        let present: Option<String> = conn
            .exec_first(
                "SELECT srn FROM students WHERE srn = ?",
                (message.input.srn.as_str(),),
            )
            .await
            .map_err(db::failure)?;
        Ok(match present {
            Some(_) => None,
            None => if_committed.cloned(),
        })
    }
}
