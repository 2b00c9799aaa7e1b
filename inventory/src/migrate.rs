//! The schema: the versioned `.sql` files in `migrations/`, applied in order, each once.
//!
//! Every consumer that uses the database applies them at start-up, and `scripts/stack`
//! applies them before starting anything (the `migrate` binary). Applied versions are
//! recorded in `schema_migrations`; a lock serialises processes that start together;
//! and every file is idempotent as well (`IF NOT EXISTS`, `INSERT IGNORE`), so a schema
//! made before the bookkeeping existed is taken over without error. Files use the
//! `mysql` client's `DELIMITER` convention for statements with `;` inside (triggers),
//! so they can also be fed to the client by hand.

use crate::db::{self, Database};
use crate::handler::Failure;
use mysql_async::prelude::*;

/// The migrations, in order: (version, file name, contents). A new one is a new file
/// and a new line here (a test checks that the folder and this list agree).
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "0001_students.sql",
        include_str!("../../migrations/0001_students.sql"),
    ),
    (
        2,
        "0002_students_version.sql",
        include_str!("../../migrations/0002_students_version.sql"),
    ),
    (
        3,
        "0003_version_triggers.sql",
        include_str!("../../migrations/0003_version_triggers.sql"),
    ),
    (
        4,
        "0004_longer_fingerprints.sql",
        include_str!("../../migrations/0004_longer_fingerprints.sql"),
    ),
];

/// Held while migrating, so that consumers starting together apply each file once.
const LOCK: &str = "student_records.migrate";
const LOCK_WAIT_SECS: u32 = 60;

/// Applies the migrations not applied yet. Returns the versions it applied.
///
/// Fails `Transient` while the database is unreachable (callers retry), `Permanent`
/// when a statement is refused (for example the account may not create tables).
pub async fn migrate(database: &Database) -> Result<Vec<u32>, Failure> {
    let mut conn = database.conn().await?;
    let locked: Option<i64> = conn
        .exec_first("SELECT GET_LOCK(?, ?)", (LOCK, LOCK_WAIT_SECS))
        .await
        .map_err(db::failure)?;
    if locked != Some(1) {
        return Err(Failure::Transient(format!(
            "another process held the migration lock for {LOCK_WAIT_SECS} s"
        )));
    }
    let applied = apply_pending(&mut conn).await;
    // The lock is also released when the connection closes, should this fail.
    let _ = conn.exec_drop("SELECT RELEASE_LOCK(?)", (LOCK,)).await;
    applied
}

async fn apply_pending(conn: &mut mysql_async::Conn) -> Result<Vec<u32>, Failure> {
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INT UNSIGNED NOT NULL PRIMARY KEY,
            name VARCHAR(255) NOT NULL,
            applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
        ) ENGINE=InnoDB",
    )
    .await
    .map_err(db::failure)?;
    let done: Vec<u32> = conn
        .query("SELECT version FROM schema_migrations")
        .await
        .map_err(db::failure)?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        for statement in statements(sql) {
            conn.query_drop(statement)
                .await
                .map_err(|e| match db::failure(e) {
                    Failure::Permanent(why) => {
                        Failure::Permanent(format!("migration {name}: {why}"))
                    }
                    other => other,
                })?;
        }
        conn.exec_drop(
            "INSERT IGNORE INTO schema_migrations (version, name) VALUES (?, ?)",
            (version, name),
        )
        .await
        .map_err(db::failure)?;
        log::info!("migration {name} applied");
        applied.push(*version);
    }
    Ok(applied)
}

/// Splits a file into statements as the `mysql` client does: at the delimiter (`;` until
/// a `DELIMITER x` line changes it), skipping comment lines and empty statements.
pub fn statements(sql: &str) -> Vec<String> {
    let mut delimiter = ";".to_owned();
    let mut current = String::new();
    let mut out = Vec::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if let Some(new) = trimmed.strip_prefix("DELIMITER ") {
            delimiter = new.trim().to_owned();
            continue;
        }
        if trimmed.starts_with("--") && current.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(delimiter.as_str()) {
            let statement = current.trim_end().trim_end_matches(delimiter.as_str());
            if !statement.trim().is_empty() {
                out.push(statement.trim().to_owned());
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_names_every_file_in_the_folder_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let listed: Vec<&str> = MIGRATIONS.iter().map(|(_, name, _)| *name).collect();
        assert_eq!(files, listed);
        for (i, (version, name, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version as usize, i + 1);
            assert!(name.starts_with(&format!("{version:04}_")), "{name}");
        }
    }

    #[test]
    fn statements_split_at_the_delimiter_in_force() {
        let sql = "-- a comment\nCREATE TABLE a (x INT);\n\nINSERT INTO a VALUES (1);\n\
                   DELIMITER $$\nCREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW\nBEGIN\n  SET @x = 1;\nEND$$\nDELIMITER ;\nSELECT 1;\n";
        let parts = statements(sql);
        assert_eq!(parts.len(), 4, "{parts:#?}");
        assert_eq!(parts[0], "CREATE TABLE a (x INT)");
        assert!(parts[2].starts_with("CREATE TRIGGER") && parts[2].ends_with("END"));
        assert!(parts[2].contains("SET @x = 1;"));
        assert_eq!(parts[3], "SELECT 1");
    }

    #[test]
    fn every_migration_splits_into_statements() {
        let counts: Vec<usize> = MIGRATIONS
            .iter()
            .map(|(_, _, sql)| statements(sql).len())
            .collect();
        assert_eq!(counts, [1, 3, 3, 1]);
    }
}
