//! consumer-read owns the `read_database` queue: all records ordered by SRN, one page of
//! them, or one record by SRN.
//!
//! A full read names the table version it is at least as new as (`students_version`,
//! moved by every committed change). When the asker names the version of the list it
//! already holds and the table is still there, the answer is `unchanged` after one
//! primary-key lookup, instead of every row read, encoded and carried back again.

use inventory::db::{self, Database};
use inventory::handler::{Failure, Handler, Message};
use mysql_async::prelude::*;
use mysql_async::Conn;
use protocol::message::ReadRequest;
use protocol::{Reply, Srn, StudentRecord, TableVersion};

/// Reads student records from this database.
#[derive(Debug, Clone)]
pub struct ReadDatabase(pub Database);

impl Handler for ReadDatabase {
    type Input = ReadRequest;

    async fn handle(&self, message: &Message<ReadRequest>) -> Result<Reply, Failure> {
        let mut conn = self.0.conn().await?;
        match &message.input {
            ReadRequest::Record { srn } => {
                let row: Option<Row> = conn
                    .exec_first(
                        "SELECT srn, name, section FROM students WHERE srn = ?",
                        (srn.as_str(),),
                    )
                    .await
                    .map_err(db::failure)?;
                Ok(match row {
                    Some(row) => Reply::Record {
                        record: record(row)?,
                    },
                    None => Reply::NotFound { srn: srn.clone() },
                })
            }
            ReadRequest::Records {
                after,
                limit,
                known_version,
            } => read(&mut conn, after.as_ref(), *limit, known_version.as_ref()).await,
        }
    }

    fn database(&self) -> Option<&Database> {
        Some(&self.0)
    }
}

type Row = (String, String, String);

/// All records ordered by SRN, or with `limit` one page starting after `after`.
///
/// The version is read first, so the records are at least as new as it says: a change
/// committed in between makes the next read fetch again, never serve something older.
/// Only a full read (neither `after` nor `limit`) names its version: only a whole list is
/// worth keeping under one.
async fn read(
    conn: &mut Conn,
    after: Option<&Srn>,
    limit: Option<u32>,
    known: Option<&TableVersion>,
) -> Result<Reply, Failure> {
    let full = after.is_none() && limit.is_none();
    let version = if full || known.is_some() {
        version_of(conn).await?
    } else {
        None
    };
    if let (Some(version), Some(known)) = (&version, known) {
        if version == known {
            return Ok(Reply::Unchanged {
                version: version.clone(),
            });
        }
    }
    let after = after.map_or("", Srn::as_str);
    let rows: Vec<Row> = match limit {
        None => {
            conn.exec(
                "SELECT srn, name, section FROM students WHERE srn > ? ORDER BY srn",
                (after,),
            )
            .await
        }
        // One row more than asked tells whether another page follows.
        Some(limit) => {
            conn.exec(
                "SELECT srn, name, section FROM students WHERE srn > ? ORDER BY srn LIMIT ?",
                (after, u64::from(limit) + 1),
            )
            .await
        }
    }
    .map_err(db::failure)?;
    let mut records = rows
        .into_iter()
        .map(record)
        .collect::<Result<Vec<_>, _>>()?;
    let next_after = match limit {
        Some(limit) if records.len() > limit as usize => {
            records.truncate(limit as usize);
            records.last().map(|r| r.srn.clone())
        }
        _ => None,
    };
    Ok(Reply::Records {
        records,
        next_after,
        version: version.filter(|_| full),
    })
}

/// The table's current version; `None` if the version row is missing (then full reads
/// are never answered `unchanged`).
async fn version_of(conn: &mut Conn) -> Result<Option<TableVersion>, Failure> {
    let row: Option<(String, u64)> = conn
        .exec_first(
            "SELECT epoch, counter FROM students_version WHERE id = 1",
            (),
        )
        .await
        .map_err(db::failure)?;
    Ok(row.map(|(epoch, counter)| TableVersion { epoch, counter }))
}

fn record((srn, name, section): Row) -> Result<StudentRecord, Failure> {
    db::stored_record(&srn, &name, &section)
}
