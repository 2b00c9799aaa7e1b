//! MySQL access: one bounded `mysql_async` pool per process, the schema's migration,
//! and the four database operations. Parameters are always bound.
//!
//! Besides `students`, the schema keeps its version: `students_version` holds one row
//! whose counter moves on with every committed change, in the same transaction as the
//! change. Our writes bump it once per transaction (`CALL students_changed()`); triggers
//! bump it for writes made any other way (by hand, by another program), so a full read
//! can tell cheaply whether the table is still as it was.

use crate::message::TableVersion;
use crate::record::{Srn, StudentRecord};
use crate::secret::SecretUrl;
use crate::tls::ClientTls;
use mysql_async::prelude::*;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, TxOpts};
use std::time::Duration;

/// MySQL error codes after which the same statement may succeed later: the server is
/// shutting down, overloaded, or a transaction lost a lock race.
const TRANSIENT_SERVER_CODES: &[u16] = &[1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013];

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

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A read whose table is still at the version the caller named.
    Unchanged(TableVersion),
    Records {
        records: Vec<StudentRecord>,
        /// For a page: where the next one starts, when more records follow.
        next_after: Option<Srn>,
        /// For a full read: a table version the records are at least as new as.
        version: Option<TableVersion>,
    },
}

/// How long a pooled connection may stay idle before the pool closes it.
const IDLE_CONNECTION_TTL: Duration = Duration::from_secs(60);

/// Every connection of ours says that its transactions bump the table version
/// themselves, so the triggers (which bump it once per row) stand aside.
const SKIP_TRIGGERS: &str = "SET @records_version_bumped = 1";

/// Most rows one batch statement carries. A batch goes as statements of power-of-two
/// sizes up to this (100 rows: 64 + 32 + 4), so a connection prepares at most eight
/// statement texts per kind and keeps them all in its statement cache (32 by default),
/// where one text per batch size would keep preparing new ones, each holding the
/// metadata of every parameter on both sides.
const CHUNK_ROWS_MAX: usize = 64;

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

/// The triggers that move the version for writes made outside the system: one per
/// kind of change, each skipped by connections that bump it themselves.
const TRIGGERS: [(&str, &str); 3] = [
    ("students_inserted", "INSERT"),
    ("students_updated", "UPDATE"),
    ("students_deleted", "DELETE"),
];

const MIGRATION: &[&str] = &[
    r"CREATE TABLE IF NOT EXISTS students (
        srn VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        section VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        request_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    r"CREATE TABLE IF NOT EXISTS students_version (
        id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
        epoch CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        counter BIGINT UNSIGNED NOT NULL
    ) ENGINE=InnoDB",
    // A new epoch each time the table is created: versions never repeat.
    r"INSERT IGNORE INTO students_version (id, epoch, counter)
        VALUES (1, REPLACE(UUID(), '-', ''), 0)",
    // Runs with the migration account's rights, so the consumers' accounts need only
    // EXECUTE on the schema, not UPDATE.
    r"CREATE PROCEDURE IF NOT EXISTS students_changed() SQL SECURITY DEFINER MODIFIES SQL DATA
        UPDATE students_version SET counter = counter + 1 WHERE id = 1",
];

/// The `students` table behind one bounded connection pool.
#[derive(Clone)]
pub struct RecordStore {
    pool: Pool,
    connect_timeout: Duration,
    /// For `Debug` (redacted): mysql_async's pool prints its password in clear.
    url: SecretUrl,
}

impl std::fmt::Debug for RecordStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStore")
            .field("url", &self.url)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl RecordStore {
    /// Builds the pool. Connects lazily, so this succeeds while the database is down.
    /// TLS only if the URL asks for it (`?require_ssl=true`), with the built-in roots.
    ///
    /// Fails only on an unparseable URL.
    pub fn new(
        url: &str,
        pool_max: usize,
        connect_timeout: Duration,
    ) -> Result<RecordStore, StoreError> {
        RecordStore::with_tls(url, pool_max, connect_timeout, &ClientTls::default())
    }

    /// [`RecordStore::new`] with these TLS settings (`Settings::tls`).
    pub fn with_tls(
        url: &str,
        pool_max: usize,
        connect_timeout: Duration,
        tls: &ClientTls,
    ) -> Result<RecordStore, StoreError> {
        let opts = Opts::from_url(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
        let opts = tls.mysql_opts(opts);
        let constraints = PoolConstraints::new(0, pool_max.max(1))
            .expect("0 <= max, max >= 1: always valid constraints");
        // No `reset_connection` on return: these operations leave no session state
        // but the one variable set up below (no temporary tables, no open transactions),
        // and the reset round trip costs about 40% of insert throughput.
        // A non-zero idle TTL is what makes the pool keep up to `pool_max` idle
        // connections: with the default (0) it keeps only `min` (0 here), so every
        // operation would open, authenticate and close a connection of its own.
        let pool_opts = PoolOpts::new()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(IDLE_CONNECTION_TTL)
            .with_reset_connection(false);
        let opts = OptsBuilder::from_opts(opts)
            .pool_opts(pool_opts)
            .setup(vec![SKIP_TRIGGERS]);
        Ok(RecordStore {
            pool: Pool::new(opts),
            connect_timeout,
            url: SecretUrl::from(url),
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

    /// Creates the tables, the version procedure and the triggers that do not exist yet.
    /// Idempotent, and safe to run from several processes at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        for statement in MIGRATION {
            conn.query_drop(*statement).await?;
        }
        for (name, event) in TRIGGERS {
            conn.query_drop(format!(
                "CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON students FOR EACH ROW
                    BEGIN IF @records_version_bumped IS NULL THEN
                        UPDATE students_version SET counter = counter + 1 WHERE id = 1;
                    END IF; END"
            ))
            .await?;
        }
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.conn().await?.ping().await?;
        Ok(())
    }

    /// Inserts a record, committed when this returns `Ok`.
    ///
    /// `request_id` makes redelivery harmless: if the SRN is already stored by the same
    /// request (a delivery whose ack was lost), the outcome is `Inserted`, not a conflict.
    pub async fn insert(
        &self,
        record: &StudentRecord,
        request_id: Option<&str>,
    ) -> Result<InsertOutcome, StoreError> {
        let batch = [(record.clone(), request_id.map(str::to_owned))];
        let mut outcomes = self.insert_batch(&batch).await?;
        Ok(outcomes.remove(0))
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
        // other errors into warnings; validated records cannot cause those, and any row
        // not inserted is compared with what was sent below.
        let mut inserted = 0;
        for chunk in chunks(batch.len()) {
            let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
            let insert = format!(
                "INSERT IGNORE INTO students (srn, name, section, request_id) VALUES {rows}"
            );
            let params: Vec<mysql_async::Value> = batch[chunk]
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
            inserted += tx.affected_rows();
        }
        // Rows that did not all go in as sent are looked up: taken SRNs, redeliveries.
        let mut stored: Vec<(String, String, String, Option<String>)> = Vec::new();
        if inserted < batch.len() as u64 {
            for chunk in chunks(batch.len()) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let select = format!(
                    "SELECT srn, name, section, request_id FROM students WHERE srn IN ({marks})"
                );
                let srns: Vec<mysql_async::Value> = batch[chunk]
                    .iter()
                    .map(|(r, _)| r.srn.as_str().into())
                    .collect();
                stored.extend(
                    tx.exec::<(String, String, String, Option<String>), _, _>(select, srns)
                        .await?,
                );
            }
        }
        if inserted > 0 {
            tx.exec_drop("CALL students_changed()", ()).await?;
        }
        tx.commit().await?;
        if inserted == batch.len() as u64 {
            return Ok(batch
                .iter()
                .map(|(record, _)| InsertOutcome::Inserted(record.clone()))
                .collect());
        }
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
        tx.exec_drop("CALL students_changed()", ()).await?;
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
    ///
    /// When the caller names a `known` version and the table is still at it, the
    /// answer is `Unchanged` and no record is read: the caller holds the whole table at
    /// that version and can answer any read from it. A full read (neither `after` nor
    /// `limit`) names the version it saw. The version is read first, so the records
    /// are at least as new as it says: a change committed in between makes the next
    /// read fetch again, never serve something older.
    pub async fn read(
        &self,
        after: Option<&Srn>,
        limit: Option<u32>,
        known: Option<&TableVersion>,
    ) -> Result<ReadOutcome, StoreError> {
        let mut conn = self.conn().await?;
        let full = after.is_none() && limit.is_none();
        let version = if full || known.is_some() {
            version_of(&mut conn).await?
        } else {
            None
        };
        if let (Some(version), Some(known)) = (&version, known) {
            if version == known {
                return Ok(ReadOutcome::Unchanged(version.clone()));
            }
        }
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
        let next_after = match limit {
            Some(limit) if records.len() > limit as usize => {
                records.truncate(limit as usize);
                records.last().map(|r| r.srn.clone())
            }
            _ => None,
        };
        Ok(ReadOutcome::Records {
            records,
            next_after,
            // Only a full list is worth keeping under its version.
            version: version.filter(|_| full),
        })
    }

    /// Closes every pooled connection. Call once, at shutdown.
    pub async fn close(self) {
        if let Err(e) = self.pool.disconnect().await {
            log::warn!("closing the database pool: {e}");
        }
    }
}

async fn version_of(conn: &mut Conn) -> Result<Option<TableVersion>, mysql_async::Error> {
    let row: Option<(String, u64)> = conn
        .exec_first(
            "SELECT epoch, counter FROM students_version WHERE id = 1",
            (),
        )
        .await?;
    Ok(row.map(|(epoch, counter)| TableVersion { epoch, counter }))
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
