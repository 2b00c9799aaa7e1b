//! MySQL access: one bounded `mysql_async` pool per process, the `students` table's
//! migration, and the four database operations. Parameters are always bound.

use crate::record::{Srn, StudentRecord};
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, TxOpts};
use std::time::Duration;

/// MySQL error codes after which the same statement may succeed later: the server is
/// shutting down, overloaded, or a transaction lost a lock race.
const TRANSIENT_SERVER_CODES: &[u16] = &[1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013];
const DUPLICATE_KEY: u16 = 1062;

/// How a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or is overloaded; retrying later can succeed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused the statement; retrying the same message will not help.
    #[error("database refused the operation: {0}")]
    Refused(String),
    /// `DATABASE_URL` is not a valid MySQL URL.
    #[error("invalid DATABASE_URL: {0}")]
    BadUrl(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<mysql_async::Error> for StoreError {
    fn from(err: mysql_async::Error) -> Self {
        match &err {
            mysql_async::Error::Server(server)
                if !TRANSIENT_SERVER_CODES.contains(&server.code) =>
            {
                StoreError::Refused(err.to_string())
            }
            mysql_async::Error::Url(_) => StoreError::BadUrl(err.to_string()),
            _ => StoreError::Unavailable(err.to_string()),
        }
    }
}

/// What an insert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The row is stored (now, or by an earlier delivery of the same request).
    Inserted(StudentRecord),
    /// Another request had stored this SRN; the stored row is returned untouched.
    AlreadyExists(StudentRecord),
}

/// The `students` table behind one bounded connection pool.
#[derive(Clone, Debug)]
pub struct RecordStore {
    pool: Pool,
    connect_timeout: Duration,
}

impl RecordStore {
    /// Builds the pool. Connects lazily, so this succeeds while the database is down.
    ///
    /// Fails only on an unparseable URL.
    pub fn new(
        url: &str,
        pool_max: usize,
        connect_timeout: Duration,
    ) -> Result<RecordStore, StoreError> {
        let opts = Opts::from_url(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
        let constraints = PoolConstraints::new(0, pool_max.max(1))
            .expect("0 <= max, max >= 1: always valid constraints");
        // No `reset_connection` on return: these operations leave no session state
        // (no variables, temporary tables or open transactions), and the reset round trip
        // costs about 40% of insert throughput.
        let pool_opts = PoolOpts::new()
            .with_constraints(constraints)
            .with_reset_connection(false);
        let opts = OptsBuilder::from_opts(opts).pool_opts(pool_opts);
        Ok(RecordStore {
            pool: Pool::new(opts),
            connect_timeout,
        })
    }

    /// A connection from the pool, or `Unavailable` after the connect timeout.
    async fn conn(&self) -> Result<Conn, StoreError> {
        match tokio::time::timeout(self.connect_timeout, self.pool.get_conn()).await {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no database connection within {} ms",
                self.connect_timeout.as_millis()
            ))),
        }
    }

    /// Creates the `students` table if it does not exist. Idempotent.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.query_drop(
            r"CREATE TABLE IF NOT EXISTS students (
                srn VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
                name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                section VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                request_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
                created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        )
        .await?;
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.conn().await?.ping().await?;
        Ok(())
    }

    /// Inserts a record, committed (autocommit) when this returns `Ok`.
    ///
    /// `request_id` makes redelivery harmless: if the SRN is already stored by the same
    /// request (a delivery whose ack was lost), the outcome is `Inserted`, not a conflict.
    pub async fn insert(
        &self,
        record: &StudentRecord,
        request_id: Option<&str>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.conn().await?;
        let inserted = conn
            .exec_drop(
                "INSERT INTO students (srn, name, section, request_id) VALUES (?, ?, ?, ?)",
                (
                    record.srn.as_str(),
                    record.name.as_str(),
                    record.section.as_str(),
                    request_id,
                ),
            )
            .await;
        match inserted {
            Ok(()) => Ok(InsertOutcome::Inserted(record.clone())),
            Err(mysql_async::Error::Server(e)) if e.code == DUPLICATE_KEY => {
                let existing: Option<(String, String, String, Option<String>)> = conn
                    .exec_first(
                        "SELECT srn, name, section, request_id FROM students WHERE srn = ?",
                        (record.srn.as_str(),),
                    )
                    .await?;
                match existing {
                    Some((srn, name, section, stored_id)) => {
                        let stored = row_to_record(srn, name, section)?;
                        if same_request(stored_id.as_deref(), request_id) {
                            Ok(InsertOutcome::Inserted(stored))
                        } else {
                            Ok(InsertOutcome::AlreadyExists(stored))
                        }
                    }
                    // Deleted between our INSERT and SELECT: let the caller retry.
                    None => Err(StoreError::Unavailable(
                        "record changed concurrently; retrying".into(),
                    )),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Inserts many records in one transaction and returns each one's outcome, in order.
    ///
    /// Each record is paired with its request id. A record whose SRN is already stored
    /// (before this batch, or earlier in it) is `AlreadyExists` unless the stored row has
    /// the same request id (a redelivery), exactly as [`RecordStore::insert`] decides.
    /// All or nothing: on error nothing of the batch is stored.
    pub async fn insert_batch(
        &self,
        batch: &[(StudentRecord, Option<String>)],
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        // IGNORE skips taken SRNs with only the INSERT privilege (ON DUPLICATE KEY UPDATE
        // would need UPDATE, which the insert account does not hold). IGNORE also turns
        // other errors into warnings; validated records cannot cause those, and each
        // stored row is compared with what was sent below.
        let rows = vec!["(?, ?, ?, ?)"; batch.len()].join(", ");
        let insert =
            format!("INSERT IGNORE INTO students (srn, name, section, request_id) VALUES {rows}");
        let params: Vec<mysql_async::Value> = batch
            .iter()
            .flat_map(|(r, id)| {
                [
                    r.srn.as_str().into(),
                    r.name.as_str().into(),
                    r.section.as_str().into(),
                    id.as_deref().into(),
                ]
            })
            .collect();
        tx.exec_drop(insert, params).await?;
        let marks = vec!["?"; batch.len()].join(", ");
        let select =
            format!("SELECT srn, name, section, request_id FROM students WHERE srn IN ({marks})");
        let srns: Vec<mysql_async::Value> =
            batch.iter().map(|(r, _)| r.srn.as_str().into()).collect();
        let stored: Vec<(String, String, String, Option<String>)> = tx.exec(select, srns).await?;
        tx.commit().await?;
        let stored: std::collections::HashMap<String, (String, String, String, Option<String>)> =
            stored.into_iter().map(|row| (row.0.clone(), row)).collect();
        batch
            .iter()
            .map(|(record, id)| match stored.get(record.srn.as_str()) {
                Some((srn, name, section, stored_id)) => {
                    let row = row_to_record(srn.clone(), name.clone(), section.clone())?;
                    if !same_request(stored_id.as_deref(), id.as_deref()) {
                        Ok(InsertOutcome::AlreadyExists(row))
                    } else if row == *record {
                        Ok(InsertOutcome::Inserted(row))
                    } else {
                        Err(StoreError::Refused(format!(
                            "SRN {srn} was stored differently from what was sent"
                        )))
                    }
                }
                // Deleted by another consumer between our INSERT and SELECT: retry.
                None => Err(StoreError::Unavailable(
                    "record changed concurrently; retrying".into(),
                )),
            })
            .collect()
    }

    /// Deletes the record with this SRN and returns it, or `None` if there was none.
    pub async fn delete(&self, srn: &Srn) -> Result<Option<StudentRecord>, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.start_transaction(TxOpts::default()).await?;
        let row: Option<(String, String, String)> = tx
            .exec_first(
                "SELECT srn, name, section FROM students WHERE srn = ? FOR UPDATE",
                (srn.as_str(),),
            )
            .await?;
        let Some((srn, name, section)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        tx.exec_drop("DELETE FROM students WHERE srn = ?", (srn.as_str(),))
            .await?;
        tx.commit().await?;
        Ok(Some(row_to_record(srn, name, section)?))
    }

    /// The record with this SRN, if any.
    pub async fn get(&self, srn: &Srn) -> Result<Option<StudentRecord>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<(String, String, String)> = conn
            .exec_first(
                "SELECT srn, name, section FROM students WHERE srn = ?",
                (srn.as_str(),),
            )
            .await?;
        row.map(|(srn, name, section)| row_to_record(srn, name, section))
            .transpose()
    }

    /// All records ordered by SRN, or with `limit` one page starting after `after`.
    /// Returns the page and, when more records follow, where the next page starts.
    pub async fn read(
        &self,
        after: Option<&Srn>,
        limit: Option<u32>,
    ) -> Result<(Vec<StudentRecord>, Option<Srn>), StoreError> {
        let mut conn = self.conn().await?;
        let after = after.map_or("", Srn::as_str);
        let rows: Vec<(String, String, String)> = match limit {
            None => {
                conn.exec(
                    "SELECT srn, name, section FROM students WHERE srn > ? ORDER BY srn",
                    (after,),
                )
                .await?
            }
            Some(limit) => {
                // One row more than asked tells whether another page follows.
                conn.exec(
                    "SELECT srn, name, section FROM students WHERE srn > ? ORDER BY srn LIMIT ?",
                    (after, u64::from(limit) + 1),
                )
                .await?
            }
        };
        let mut records = rows
            .into_iter()
            .map(|(srn, name, section)| row_to_record(srn, name, section))
            .collect::<Result<Vec<_>, _>>()?;
        let next = match limit {
            Some(limit) if records.len() > limit as usize => {
                records.truncate(limit as usize);
                records.last().map(|r| r.srn.clone())
            }
            _ => None,
        };
        Ok((records, next))
    }

    /// Closes every pooled connection. Call once, at shutdown.
    pub async fn close(self) {
        if let Err(e) = self.pool.disconnect().await {
            log::warn!("closing the database pool: {e}");
        }
    }
}

/// Whether a stored row was written by this request. Without an id nothing proves it.
fn same_request(stored: Option<&str>, this: Option<&str>) -> bool {
    this.is_some() && stored == this
}

fn row_to_record(srn: String, name: String, section: String) -> Result<StudentRecord, StoreError> {
    // Rows written by this code always validate; anything else was written by hand.
    Ok(StudentRecord {
        srn: Srn::parse(&srn)
            .map_err(|e| StoreError::Refused(format!("stored SRN {srn:?} is invalid: {e}")))?,
        name,
        section,
    })
}
