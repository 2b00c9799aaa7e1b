//! The database: one bounded `mysql_async` pool per process, and what its errors mean
//! for a message (try again, check first, or give up). The statements themselves belong
//! to the consumers that run them.

use crate::handler::Failure;
use crate::secret::SecretUrl;
use crate::tls::ClientTls;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Transaction};
use protocol::StudentRecord;
use std::time::Duration;

/// MySQL error codes after which the same statement may succeed later: the server is
/// shutting down, overloaded, or a transaction lost a lock race (and was rolled back).
const TRANSIENT_SERVER_CODES: &[u16] = &[1040, 1053, 1205, 1213, 1317, 1927, 2006, 2013];

/// How long a pooled connection may stay idle before the pool closes it.
const IDLE_CONNECTION_TTL: Duration = Duration::from_secs(60);

/// Every connection of ours says that its transactions move the table version
/// themselves (`CALL students_changed()`), so the triggers that move it for changes
/// made by hand (migrations/0003) stand aside.
const SKIP_TRIGGERS: &str = "SET @records_version_bumped = 1";

/// A database URL that cannot be used (the reason never quotes the password).
#[derive(Debug, thiserror::Error)]
#[error("invalid database URL: {0}")]
pub struct BadUrl(String);

/// The database behind one bounded connection pool. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    max: usize,
    connect_timeout: Duration,
    /// For `Debug`, redacted: mysql_async's pool prints its password in clear.
    url: SecretUrl,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.url)
            .field("max", &self.max)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Builds the pool. Connects lazily, so this succeeds while the database is down.
    /// TLS only if the URL asks for it (`?require_ssl=true`), with the built-in roots.
    ///
    /// Fails only on an unparseable URL.
    pub fn new(url: &str, pool_max: usize, connect_timeout: Duration) -> Result<Database, BadUrl> {
        Database::with_tls(url, pool_max, connect_timeout, &ClientTls::default())
    }

    /// [`Database::new`] with these TLS settings (`Settings::tls`).
    pub fn with_tls(
        url: &str,
        pool_max: usize,
        connect_timeout: Duration,
        tls: &ClientTls,
    ) -> Result<Database, BadUrl> {
        let opts = Opts::from_url(url).map_err(|e| BadUrl(e.to_string()))?;
        let opts = tls.mysql_opts(opts);
        let max = pool_max.max(1);
        let constraints =
            PoolConstraints::new(0, max).expect("0 <= max, max >= 1: always valid constraints");
        // No `reset_connection` on return: our statements leave no session state but the
        // variable set up below (no temporary tables, no open transactions), and the
        // reset round trip costs about 40% of insert throughput. A non-zero idle TTL is
        // what makes the pool keep up to `max` idle connections: with the default (0) it
        // keeps only `min` (0 here), so every message would open a connection of its own.
        let pool_opts = PoolOpts::new()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(IDLE_CONNECTION_TTL)
            .with_reset_connection(false);
        let opts = OptsBuilder::from_opts(opts)
            .pool_opts(pool_opts)
            .setup(vec![SKIP_TRIGGERS]);
        Ok(Database {
            pool: Pool::new(opts),
            max,
            connect_timeout,
            url: SecretUrl::from(url),
        })
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> usize {
        self.max
    }

    /// A connection from the pool; `Transient` after the connect timeout.
    pub async fn conn(&self) -> Result<Conn, Failure> {
        match tokio::time::timeout(self.connect_timeout, self.pool.get_conn()).await {
            Ok(conn) => conn.map_err(failure),
            Err(_) => Err(Failure::Transient(format!(
                "no database connection within {} ms",
                self.connect_timeout.as_millis()
            ))),
        }
    }

    /// Whether the database answers.
    pub async fn answers(&self) -> bool {
        match self.conn().await {
            Ok(mut conn) => conn.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    /// Closes every pooled connection. Call once, at shutdown.
    pub async fn close(self) {
        if let Err(e) = self.pool.disconnect().await {
            log::warn!("closing the database pool: {e}");
        }
    }
}

/// What a database error means for the message: a refusal by the server is permanent
/// (the same statement will be refused again), unless it is one of the codes that pass;
/// anything else (connection refused or lost, timeouts) is transient.
pub fn failure(err: mysql_async::Error) -> Failure {
    match &err {
        mysql_async::Error::Server(server) if !TRANSIENT_SERVER_CODES.contains(&server.code) => {
            Failure::Permanent(format!("database refused the operation: {err}"))
        }
        _ => Failure::Transient(format!("database unavailable: {err}")),
    }
}

/// A record as a row stores it. Rows written by the system always validate; one written
/// by hand that does not is refused by name rather than passed on.
pub fn stored_record(srn: &str, name: &str, section: &str) -> Result<StudentRecord, Failure> {
    StudentRecord::new(name, srn, section)
        .map_err(|e| Failure::Permanent(format!("stored record {srn:?} is invalid: {e}")))
}

/// Commits. A server's refusal rolled the transaction back, so it means what it means
/// anywhere; any other error (the connection broke after COMMIT was sent) leaves the
/// outcome unknown, and the message must be verified before it is tried again.
pub async fn commit(tx: Transaction<'_>) -> Result<(), Failure> {
    tx.commit().await.map_err(|err| match err {
        mysql_async::Error::Server(_) => failure(err),
        other => Failure::unknown(format!("the commit's answer was lost: {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_refusals_are_permanent_unless_they_pass() {
        let server = |code| {
            mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: "x".into(),
                state: "HY000".into(),
            })
        };
        assert!(matches!(failure(server(1062)), Failure::Permanent(_)));
        assert!(matches!(failure(server(1213)), Failure::Transient(_)));
        let io = mysql_async::Error::Io(mysql_async::IoError::Io(std::io::Error::other("reset")));
        assert!(matches!(failure(io), Failure::Transient(_)));
    }

    #[test]
    fn a_bad_url_is_refused_at_once() {
        assert!(Database::new("postgres://x", 1, Duration::from_secs(1)).is_err());
        assert!(Database::new("mysql://u:p@127.0.0.1:1/db", 1, Duration::from_secs(1)).is_ok());
    }
}
