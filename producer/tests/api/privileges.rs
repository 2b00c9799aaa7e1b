//! Least privilege, checked on the accounts `scripts/stack` provisions: each consumer's
//! database account and each service's broker user can do their own job and no other.

use crate::helpers::{broker_channel, ManagementApi};
use inventory::db::Database;
use inventory::topology;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions};
use lapin::types::FieldTable;
use lapin::BasicProperties;
use mysql_async::prelude::*;
use protocol::Operation;
use std::time::Duration;

fn var(name: &str) -> String {
    crate::helpers::init_logging();
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests with `make test`"))
}

/// Runs `sql` as the account behind `url_var`; returns the MySQL error code, if any.
async fn error_code_of(url_var: &str, sql: &str) -> Option<u16> {
    let mut conn = mysql_async::Conn::from_url(var(url_var))
        .await
        .expect("connect");
    let result = conn.query_drop(sql).await;
    let _ = conn.disconnect().await;
    match result {
        Ok(()) => None,
        Err(mysql_async::Error::Server(e)) => Some(e.code),
        Err(e) => panic!("{url_var}: {sql}: {e}"),
    }
}

const DENIED: Option<u16> = Some(1142);

/// Whether the user of `conn` may consume from `op`'s queue (on a channel of its own:
/// a refusal closes the channel).
async fn may_consume(conn: &lapin::Connection, op: Operation) -> bool {
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_consume(
            op.queue().into(),
            "t".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .is_ok()
}

#[tokio::test]
async fn each_consumer_account_holds_only_what_its_operation_needs() {
    // The migration account owns the schema.
    let migrator =
        Database::new(&var("MIGRATION_DATABASE_URL"), 1, Duration::from_secs(5)).unwrap();
    inventory::migrate::migrate(&migrator)
        .await
        .expect("the migration account creates the table");
    migrator.close().await;

    let srn = format!("PRIV{}", &uuid::Uuid::new_v4().simple().to_string()[..8]).to_uppercase();
    let insert = format!("INSERT INTO students (srn, name, section) VALUES ('{srn}', 'x', 'y')");
    let delete = format!("DELETE FROM students WHERE srn = '{srn}'");
    let select = "SELECT COUNT(*) FROM students";
    let drop = "DROP TABLE students";

    let read = "DATABASE_URL_CONSUMER_READ";
    assert_eq!(error_code_of(read, select).await, None);
    assert_eq!(
        error_code_of(read, &delete).await,
        DENIED,
        "the read account must not delete"
    );
    assert_eq!(error_code_of(read, &insert).await, DENIED);

    let ins = "DATABASE_URL_CONSUMER_INSERT";
    assert_eq!(error_code_of(ins, &insert).await, None);
    assert_eq!(error_code_of(ins, select).await, None);
    assert_eq!(error_code_of(ins, &delete).await, DENIED);

    let del = "DATABASE_URL_CONSUMER_DELETE";
    assert_eq!(error_code_of(del, &delete).await, None);
    assert_eq!(error_code_of(del, &insert).await, DENIED);

    for account in [read, ins, del] {
        assert_eq!(
            error_code_of(account, drop).await,
            DENIED,
            "{account} must not drop"
        );
        // The table version moves only through students_changed() and the triggers.
        assert_eq!(
            error_code_of(account, "UPDATE students_version SET counter = 0").await,
            DENIED,
            "{account} must not set the table version"
        );
    }
    let bump = "CALL students_changed()";
    assert_eq!(error_code_of(ins, bump).await, None);
    assert_eq!(error_code_of(del, bump).await, None);
    assert_eq!(
        error_code_of(read, bump).await,
        Some(1370),
        "the read account changes nothing, not even the version"
    );
}

#[tokio::test]
async fn each_broker_user_reads_only_its_own_queue() {
    for (user_var, own, foreign) in [
        (
            "AMQP_URL_CONSUMER_READ",
            Operation::ReadDatabase,
            Operation::DeleteRecord,
        ),
        (
            "AMQP_URL_CONSUMER_INSERT",
            Operation::InsertRecord,
            Operation::ReadDatabase,
        ),
        (
            "AMQP_URL_PRODUCER",
            Operation::HealthCheck,
            Operation::InsertRecord,
        ),
    ] {
        let (conn, channel) = broker_channel(&var(user_var), false).await;
        topology::declare_topology(&channel, Default::default())
            .await
            .expect("every service may declare the topology");
        assert!(
            !may_consume(&conn, foreign).await,
            "{user_var} consumed from {}",
            foreign.queue()
        );
        if user_var != "AMQP_URL_PRODUCER" {
            assert!(
                may_consume(&conn, own).await,
                "{user_var} cannot consume its own queue"
            );
        }
        let _ = conn.close(200, "done".into()).await;
    }
}

#[tokio::test]
async fn consumers_cannot_publish_requests_and_guest_is_gone() {
    let (conn, channel) = broker_channel(&var("AMQP_URL_CONSUMER_HEALTH"), true).await;
    let published = async {
        channel
            .basic_publish(
                topology::EXCHANGE.into(),
                "insert_record".into(),
                BasicPublishOptions::default(),
                b"{}",
                BasicProperties::default(),
            )
            .await?
            .await
    };
    let result = tokio::time::timeout(Duration::from_secs(5), published)
        .await
        .expect("an answer");
    assert!(
        result.is_err(),
        "consumer-health published to {}",
        topology::EXCHANGE
    );
    let _ = conn.close(200, "done".into()).await;

    let admin = var("TEST_AMQP_ADMIN_URL");
    let host = admin.split('@').nth(1).unwrap();
    let guest =
        inventory::broker::connect(&format!("amqp://guest:guest@{host}/%2f"), "guest").await;
    assert!(guest.is_err(), "guest/guest must not log in");
}

#[tokio::test]
async fn broker_side_dead_lettering_is_a_policy_on_the_write_queues() {
    let policy = ManagementApi::at(&var("TEST_RABBITMQ_API"))
        .get("/policies/%2F/dead-letter", "the dead-letter policy exists")
        .await;
    assert_eq!(policy["pattern"], topology::DEAD_LETTER_POLICY_PATTERN);
    assert_eq!(
        policy["definition"]["dead-letter-exchange"],
        topology::DEAD_LETTER_EXCHANGE
    );
}
