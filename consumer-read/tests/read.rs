//! Reading, against the real database `make test` starts: each test in a database of
//! its own, the handler called directly as the run loop calls it.

use consumer_read::ReadDatabase;
use inventory::handler::{Handler, Message, Meta};
use mysql_async::prelude::*;
use protocol::message::ReadRequest as Read;
use protocol::{Reply, Srn, StudentRecord, TableVersion};
use test_support::fresh_database;

fn message(read: Read) -> Message<Read> {
    Message {
        input: read,
        meta: Meta::with_id("r1"),
    }
}

fn all(known_version: Option<TableVersion>) -> Read {
    Read::Records {
        after: None,
        limit: None,
        known_version,
    }
}

async fn insert_by_hand(url: &str, srns: &[&str]) {
    let mut conn = mysql_async::Conn::from_url(url).await.unwrap();
    for srn in srns {
        conn.exec_drop(
            "INSERT INTO students (srn, name, section) VALUES (?, 'N', 'S')",
            (srn,),
        )
        .await
        .unwrap();
    }
    conn.disconnect().await.unwrap();
}

fn version_of(reply: Reply) -> TableVersion {
    match reply {
        Reply::Records { version, .. } => version.expect("a full read names its version"),
        Reply::Unchanged { version } => version,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_read_is_unchanged_while_the_table_is_at_the_known_version() {
    let (url, database) = fresh_database().await;
    let read = ReadDatabase(database);
    let start = version_of(read.handle(&message(all(None))).await.unwrap());
    assert_eq!(
        read.handle(&message(all(Some(start.clone())))).await,
        Ok(Reply::Unchanged {
            version: start.clone()
        }),
        "no change: the records are not read again"
    );

    insert_by_hand(&url, &["B2", "A1", "C3"]).await;
    let reply = read
        .handle(&message(all(Some(start.clone()))))
        .await
        .unwrap();
    let Reply::Records {
        records,
        version: Some(now),
        ..
    } = reply
    else {
        panic!("{reply:?}")
    };
    let srns: Vec<&str> = records.iter().map(|r| r.srn.as_str()).collect();
    assert_eq!(srns, ["A1", "B2", "C3"], "ordered by SRN");
    assert!(
        now.is_newer_than(&start),
        "changes by hand move the version (triggers)"
    );

    // A page is answered `unchanged` too when the caller holds the current list (it cuts
    // the page from it); otherwise it is read, and names no version.
    let page = |known| Read::Records {
        after: Some(Srn::parse("A1").unwrap()),
        limit: Some(1),
        known_version: known,
    };
    assert_eq!(
        read.handle(&message(page(Some(now.clone())))).await,
        Ok(Reply::Unchanged { version: now })
    );
    assert_eq!(
        read.handle(&message(page(Some(start)))).await,
        Ok(Reply::Records {
            records: vec![StudentRecord::new("N", "B2", "S").unwrap()],
            next_after: Some(Srn::parse("B2").unwrap()),
            version: None,
        })
    );
}

#[tokio::test]
async fn one_record_is_read_by_its_srn() {
    let (url, database) = fresh_database().await;
    insert_by_hand(&url, &["A1"]).await;
    let read = ReadDatabase(database);
    let a1 = Srn::parse("a1").unwrap();
    let b2 = Srn::parse("B2").unwrap();
    assert_eq!(
        read.handle(&message(Read::Record { srn: a1 })).await,
        Ok(Reply::Record {
            record: StudentRecord::new("N", "A1", "S").unwrap()
        })
    );
    assert_eq!(
        read.handle(&message(Read::Record { srn: b2.clone() }))
            .await,
        Ok(Reply::NotFound { srn: b2 })
    );
}

#[tokio::test]
async fn a_row_written_by_hand_that_breaks_the_rules_is_refused_by_name() {
    let (url, database) = fresh_database().await;
    insert_by_hand(&url, &["BAD SRN"]).await;
    let reply = ReadDatabase(database).handle(&message(all(None))).await;
    let Err(inventory::handler::Failure::Permanent(why)) = reply else {
        panic!("{reply:?}")
    };
    assert!(why.contains("BAD SRN"), "{why}");
}
