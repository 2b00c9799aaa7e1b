//! What the integration tests share. Every test gets its own database (and, for tests
//! that use the broker, its own vhost) on the real MariaDB and RabbitMQ that `make test`
//! starts (`scripts/test` writes their admin URLs into the environment), so tests run in
//! parallel without seeing each other.

use inventory::db::Database;
use inventory::tls::ClientTls;
use mysql_async::prelude::*;
use std::time::Duration;

pub mod cli;
pub mod management;

pub use cli::Cli;
pub use management::ManagementApi;

/// A variable `scripts/stack infra` writes into the test stack's `stack.env`.
///
/// Panics with how to run the tests when it is not set.
pub fn stack_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with `make test`, which starts RabbitMQ and MariaDB"
        )
    })
}

/// A short random tag for names no other test uses.
pub fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// An SRN no other test uses.
pub fn unique_srn() -> String {
    format!(
        "T{}",
        &uuid::Uuid::new_v4().simple().to_string()[..14].to_uppercase()
    )
}

/// A new, empty database on the test server, with the schema migrated. Returns its URL
/// (the admin account's) and a pool on it.
pub async fn fresh_database() -> (String, Database) {
    fresh_database_with(&ClientTls::default()).await
}

/// [`fresh_database`] over these TLS settings (the TLS test stack's server takes no
/// other connection).
pub async fn fresh_database_with(tls: &ClientTls) -> (String, Database) {
    let name = format!("test_{}", tag());
    let admin = stack_var("TEST_MYSQL_ADMIN_URL");
    let opts = mysql_async::Opts::from_url(&admin).expect("a valid admin URL");
    let mut conn = mysql_async::Conn::new(tls.mysql_opts(opts))
        .await
        .expect("connect to MariaDB as admin");
    conn.query_drop(format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .await
    .expect("create a test database");
    conn.disconnect().await.expect("disconnect");
    let url = format!("{admin}/{name}");
    let database = Database::with_tls(&url, 4, Duration::from_secs(5), tls).expect("a valid URL");
    inventory::migrate::migrate(&database)
        .await
        .expect("migrate the test database");
    (url, database)
}

/// A new vhost on the test broker, on which the admin account may do anything. Returns
/// its name.
pub async fn fresh_vhost() -> String {
    let vhost = format!("test-{}", tag());
    let api = ManagementApi::of_test_stack();
    api.put(
        &format!("/vhosts/{vhost}"),
        &serde_json::json!({}),
        "create the vhost",
    )
    .await;
    let everything = serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"});
    api.put(
        &format!("/permissions/{vhost}/{}", api.user()),
        &everything,
        "grant permissions on the vhost",
    )
    .await;
    vhost
}

/// `http://user:pass@host/api` -> (`http://host/api`, user, pass): reqwest wants basic
/// auth given separately.
pub fn split_credentials(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (creds, host) = rest.split_once('@').expect("credentials in the URL");
    let (user, password) = creds.split_once(':').expect("user:password");
    (format!("{scheme}://{host}"), user.into(), password.into())
}

/// The SRNs in a database's table, read straight from it.
pub async fn srns_in(database_url: &str) -> Vec<String> {
    query(database_url, "SELECT srn FROM students ORDER BY srn").await
}

/// The table version's counter in a database, read straight from it.
pub async fn version_counter(database_url: &str) -> u64 {
    let counters: Vec<u64> = query(
        database_url,
        "SELECT counter FROM students_version WHERE id = 1",
    )
    .await;
    counters.into_iter().next().expect("the version row exists")
}

/// Runs `sql` over a connection of its own, as an operator would by hand (behind the
/// services' back).
pub async fn execute(database_url: &str, sql: &str) {
    // Whatever it returns (nothing, or a procedure's result sets) is dropped.
    let _: Vec<mysql_async::Row> = query(database_url, sql).await;
}

/// The rows `sql` selects, over a connection of its own (not the services' pools), as
/// an operator would read them by hand.
pub async fn query<T: FromRow + Send + 'static>(database_url: &str, sql: &str) -> Vec<T> {
    let mut conn = mysql_async::Conn::from_url(database_url)
        .await
        .expect("connect");
    let rows = conn
        .query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.disconnect().await.expect("disconnect");
    rows
}

/// Runs `binary` with `variable` set to `value` and checks that it stops at once with
/// status 2, naming the variable: what every binary does with an invalid setting.
pub fn assert_refuses_setting(binary: &str, variable: &str, value: &str) {
    let output = std::process::Command::new(binary)
        .env(variable, value)
        .output()
        .unwrap_or_else(|e| panic!("run {binary}: {e}"));
    assert_eq!(output.status.code(), Some(2), "{binary}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(variable), "{binary}: {stderr}");
}
