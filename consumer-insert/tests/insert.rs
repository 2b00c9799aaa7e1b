//! Inserting, against the real database `make test` starts: each test in a database of
//! its own, the handler called directly as the run loop calls it.

use consumer_insert::InsertRecord;
use inventory::db::Database;
use inventory::handler::{Handler, Message, Meta};
use protocol::message::InsertRequest;
use protocol::{Name, Reply, StudentRecord};
use std::time::Duration;
use test_support::{fresh_database, srns_in, unique_srn, version_counter};

fn message(record: &StudentRecord, fingerprint: Option<&str>) -> Message<InsertRequest> {
    let mut meta = Meta::with_id(fingerprint.unwrap_or("no-fingerprint"));
    meta.fingerprint = fingerprint.map(str::to_owned);
    Message {
        input: InsertRequest {
            record: record.clone(),
        },
        meta,
    }
}

#[tokio::test]
async fn a_repeated_request_is_recognised_by_its_fingerprint() {
    let (url, database) = fresh_database().await;
    let insert = InsertRecord(database);
    let record = StudentRecord::new("Ann", &unique_srn(), "A").unwrap();
    let inserted = Ok(Reply::Inserted {
        record: record.clone(),
    });
    let taken = Ok(Reply::AlreadyExists {
        record: record.clone(),
    });

    assert_eq!(
        insert.handle(&message(&record, Some("request-1"))).await,
        inserted
    );
    assert_eq!(
        insert.handle(&message(&record, Some("request-1"))).await,
        inserted,
        "a redelivery, or a retry with the same idempotency key"
    );
    assert_eq!(
        insert.handle(&message(&record, Some("request-2"))).await,
        taken
    );
    assert_eq!(
        insert.handle(&message(&record, None)).await,
        taken,
        "nothing proves it ours"
    );
    let other_data = StudentRecord {
        name: Name::parse("Someone else").unwrap(),
        ..record.clone()
    };
    assert_eq!(
        insert
            .handle(&message(&other_data, Some("request-1")))
            .await,
        taken,
        "a key reused for other data does not overwrite"
    );
    assert_eq!(srns_in(&url).await, [record.srn.to_string()]);
}

#[tokio::test]
async fn the_longest_idempotency_key_is_kept_whole() {
    let (_, database) = fresh_database().await;
    let insert = InsertRecord(database);
    let record = StudentRecord::new("Ann", &unique_srn(), "A").unwrap();
    let key = "k".repeat(255); // the longest the producer lets through
    let inserted = Ok(Reply::Inserted {
        record: record.clone(),
    });
    assert_eq!(insert.handle(&message(&record, Some(&key))).await, inserted);
    assert_eq!(insert.handle(&message(&record, Some(&key))).await, inserted);
}

#[tokio::test]
async fn a_batch_decides_each_row_like_a_single_insert_and_moves_the_version_once() {
    let (url, database) = fresh_database().await;
    let insert = InsertRecord(database);
    let taken = StudentRecord::new("Taken", &unique_srn(), "A").unwrap();
    insert
        .handle(&message(&taken, Some("earlier")))
        .await
        .unwrap();
    let fresh = StudentRecord::new("Fresh", &unique_srn(), "B").unwrap();
    let twin = StudentRecord {
        name: Name::parse("Twin").unwrap(),
        ..fresh.clone()
    };
    let before = version_counter(&url).await;

    let replies = insert
        .handle_batch(&[
            message(&fresh, Some("r1")),
            message(&twin, Some("r2")),  // the same SRN later in the batch
            message(&taken, Some("r3")), // stored before the batch
            message(&taken, Some("earlier")), // a redelivery of the earlier insert
        ])
        .await
        .unwrap();

    assert_eq!(
        replies,
        vec![
            Reply::Inserted {
                record: fresh.clone()
            },
            Reply::AlreadyExists {
                record: fresh.clone()
            },
            Reply::AlreadyExists {
                record: taken.clone()
            },
            Reply::Inserted {
                record: taken.clone()
            },
        ]
    );
    let mut expected = vec![fresh.srn.to_string(), taken.srn.to_string()];
    expected.sort();
    assert_eq!(srns_in(&url).await, expected);
    assert_eq!(
        version_counter(&url).await,
        before + 1,
        "one batch, one step"
    );

    insert
        .handle_batch(&[message(&fresh, Some("r1"))])
        .await
        .unwrap();
    assert_eq!(
        version_counter(&url).await,
        before + 1,
        "a batch that stores nothing changes nothing"
    );
}

/// On the accounts `scripts/stack` provisions: the insert account holds INSERT, SELECT
/// and EXECUTE only, and that is enough for a batch.
#[tokio::test]
async fn the_insert_account_can_commit_batches() {
    let var = |name| test_support::stack_var(name);
    let migrator =
        Database::new(&var("MIGRATION_DATABASE_URL"), 1, Duration::from_secs(5)).unwrap();
    inventory::migrate::migrate(&migrator).await.unwrap();
    migrator.close().await;
    let database = Database::new(
        &var("DATABASE_URL_CONSUMER_INSERT"),
        1,
        Duration::from_secs(5),
    )
    .unwrap();
    let record = StudentRecord::new("Batch", &unique_srn(), "B").unwrap();

    let replies = InsertRecord(database)
        .handle_batch(&[message(&record, Some("b1")), message(&record, Some("b2"))])
        .await
        .expect("a batch needs only INSERT, SELECT and EXECUTE");

    assert_eq!(
        replies,
        vec![
            Reply::Inserted {
                record: record.clone()
            },
            Reply::AlreadyExists { record }
        ]
    );
}
