//! Deleting, against the real database `make test` starts: each test in a database of
//! its own, the handler called directly as the run loop calls it.

use consumer_delete::DeleteRecord;
use inventory::handler::{Handler, Message, Meta};
use protocol::message::DeleteRequest;
use protocol::{Reply, Srn, StudentRecord};
use test_support::{execute as sql, fresh_database, srns_in, unique_srn, version_counter};

fn message(srn: &Srn) -> Message<DeleteRequest> {
    Message {
        input: DeleteRequest { srn: srn.clone() },
        meta: Meta::with_id("d1"),
    }
}

#[tokio::test]
async fn a_delete_answers_the_record_once_then_not_found_and_moves_the_version_once() {
    let (url, database) = fresh_database().await;
    let record = StudentRecord::new("Ann", &unique_srn(), "A").unwrap();
    let keep = StudentRecord::new("Bo", &unique_srn(), "B").unwrap();
    for r in [&record, &keep] {
        sql(
            &url,
            &format!(
                "INSERT INTO students (srn, name, section) VALUES ('{}', '{}', '{}')",
                r.srn, r.name, r.section
            ),
        )
        .await;
    }
    let delete = DeleteRecord(database);
    let before = version_counter(&url).await;

    assert_eq!(
        delete.handle(&message(&record.srn)).await,
        Ok(Reply::Deleted {
            record: record.clone()
        })
    );
    assert_eq!(
        delete.handle(&message(&record.srn)).await,
        Ok(Reply::NotFound {
            srn: record.srn.clone()
        })
    );

    assert_eq!(
        srns_in(&url).await,
        [keep.srn.to_string()],
        "exactly the named record"
    );
    assert_eq!(
        version_counter(&url).await,
        before + 1,
        "a delete of nothing changes nothing"
    );
}

/// After a commit whose answer was lost: the record gone means the delete went through
/// (answer as deleted, not "not found"); still there means it did not (try again).
#[tokio::test]
async fn a_lost_commit_is_verified_before_the_delete_is_tried_again() {
    let (url, database) = fresh_database().await;
    let record = StudentRecord::new("Ann", &unique_srn(), "A").unwrap();
    let delete = DeleteRecord(database);
    let deleted = Reply::Deleted {
        record: record.clone(),
    };
    sql(
        &url,
        &format!(
            "INSERT INTO students (srn, name, section) VALUES ('{}', 'Ann', 'A')",
            record.srn
        ),
    )
    .await;

    let still_there = delete.verify(&message(&record.srn), Some(&deleted)).await;
    assert_eq!(
        still_there,
        Ok(None),
        "not committed: the delete is tried again"
    );

    sql(
        &url,
        &format!("DELETE FROM students WHERE srn = '{}'", record.srn),
    )
    .await;
    let gone = delete.verify(&message(&record.srn), Some(&deleted)).await;
    assert_eq!(gone, Ok(Some(deleted)));
}
