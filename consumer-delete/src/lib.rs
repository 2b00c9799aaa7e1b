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
use protocol::{Operation, Reply, Request, Srn};

/// Deletes student records by SRN.
#[derive(Debug, Clone)]
pub struct DeleteRecord {
    database: Database,
}

impl DeleteRecord {
    pub fn new(database: Database) -> DeleteRecord {
        DeleteRecord { database }
    }
}

impl Handler for DeleteRecord {
    const OPERATION: Operation = Operation::DeleteRecord;
    type Input = Srn;

    fn accept(request: Request) -> Result<Srn, Request> {
        match request {
            Request::DeleteRecord { srn } => Ok(srn),
            other => Err(other),
        }
    }

    async fn handle(&self, message: &Message<Srn>) -> Result<Reply, Failure> {
        let srn = message.input.as_str();
        let mut conn = self.database.conn().await?;
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
                srn: message.input.clone(),
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

    fn concurrency(&self) -> usize {
        self.database.max_connections()
    }

    /// The record is gone: the lost commit went through (or someone else deleted it
    /// since, which leaves the client where it wanted to be). Still there: try again.
    async fn verify(
        &self,
        message: &Message<Srn>,
        if_committed: Option<&Reply>,
    ) -> Result<Option<Reply>, Failure> {
        let mut conn = self.database.conn().await?;
        let present: Option<String> = conn
            .exec_first(
                "SELECT srn FROM students WHERE srn = ?",
                (message.input.as_str(),),
            )
            .await
            .map_err(db::failure)?;
        Ok(match present {
            Some(_) => None,
            None => if_committed.cloned(),
        })
    }

    async fn dependencies_answer(&self) -> bool {
        self.database.answers().await
    }
}
