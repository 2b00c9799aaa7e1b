//! The one typed settings struct, read from environment variables with defaults that
//! work against the local stack (`make run`). `.env.example` lists every variable.

use crate::secret::{Secret, SecretUrl};
use crate::tls::{ClientTls, HttpTls};
use crate::topology::QueueType;
use std::env;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// A setting that is present but cannot be parsed. Start-up fails on it rather than
/// silently running with a default the operator did not choose.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct SettingsError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `AMQP_URL`: the broker, `amqp://` or `amqps://`, vhost last (`%2f` is `/`).
    /// Several, comma-separated, for a cluster: connections go to the first that
    /// answers, and fail over to the others.
    pub amqp_url: SecretUrl,
    /// `DATABASE_URL`: `mysql://user:password@host:port/database`.
    pub database_url: SecretUrl,
    /// `MIGRATION_DATABASE_URL`: an account that may create the table. Unset, the
    /// migration runs as `DATABASE_URL`, which then needs CREATE.
    pub migration_database_url: Option<SecretUrl>,
    /// `QUEUE_TYPE`: `classic` (one node) or `quorum` (a cluster).
    pub queue_type: QueueType,
    /// `HTTP_ADDRESS` / `HTTP_PORT`: where the producer listens (port 0: any free port).
    pub http_address: IpAddr,
    pub http_port: u16,
    /// `REPLY_TIMEOUT_MS`: how long the producer waits for a consumer's reply before 504.
    pub reply_timeout: Duration,
    /// `PUBLISH_TIMEOUT_MS`: how long the producer waits for the broker's confirm before 503.
    pub publish_timeout: Duration,
    /// `PREFETCH`: unacknowledged deliveries a consumer holds at once.
    pub prefetch: u16,
    /// `DB_POOL_MAX`: connections per process. Five processes share one server's
    /// `max_connections`, so this stays small.
    pub db_pool_max: usize,
    /// `DB_CONNECT_TIMEOUT_MS`: longest wait for a pooled connection before the attempt
    /// counts as a database outage.
    pub db_connect_timeout: Duration,
    /// `MAX_BODY_BYTES`: largest request body the producer reads; larger gets 413.
    pub max_body_bytes: u64,
    /// `MAX_IN_FLIGHT`: requests the producer has waiting on the broker at once; past it
    /// new requests get 503 at once, so a dead consumer cannot grow the producer's memory.
    pub max_in_flight: usize,
    /// `API_TOKEN`: when set (non-empty), every route that changes data requires
    /// `Authorization: Bearer <token>`.
    pub api_token: Option<Secret>,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight work may take to finish on SIGTERM.
    pub shutdown_grace: Duration,
    /// `READ_SNAPSHOT_MAX_BYTES`: the largest full list the producer keeps to serve
    /// again while the table is unchanged (0: keep none).
    pub read_snapshot_max_bytes: usize,
    /// `HTTP_HEADER_TIMEOUT_MS`: how long a client connection has to deliver a complete
    /// request header, counted from its start and, when kept alive, from the end of the
    /// previous response (so it is also the idle keep-alive time); then it is closed.
    pub http_header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT_MS`: how long a request body may take to arrive once its
    /// header has; then the answer is 408 and the connection is closed.
    pub http_body_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: client connections open at once; one accepted past it
    /// is closed at once. Unset: sized from the open-file limit at start (the
    /// producer's `connections` module), leaving a reserve for everything else.
    pub http_max_connections: Option<usize>,
    /// TLS on the broker and database connections: `TLS_REQUIRED`, `TLS_CA_FILE`,
    /// `AMQP_TLS_CLIENT_CERT_FILE` / `AMQP_TLS_CLIENT_KEY_FILE` (see [`crate::tls`]).
    pub tls: ClientTls,
    /// `HTTP_TLS_CERT_FILE` / `HTTP_TLS_KEY_FILE`: the producer serves HTTPS with them.
    pub http_tls: Option<HttpTls>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // No credentials by default: set them in AMQP_URL / DATABASE_URL (the local
            // stack and docker-compose do). RabbitMQ would fall back to guest/guest,
            // which the local stack deletes.
            amqp_url: "amqp://127.0.0.1:5672/%2f".into(),
            database_url: "mysql://127.0.0.1:3306/inventory".into(),
            migration_database_url: None,
            queue_type: QueueType::Classic,
            http_address: IpAddr::from([127, 0, 0, 1]),
            http_port: 8000,
            reply_timeout: Duration::from_millis(5_000),
            publish_timeout: Duration::from_millis(5_000),
            prefetch: 200,
            db_pool_max: 4,
            db_connect_timeout: Duration::from_millis(2_000),
            max_body_bytes: 64 * 1024,
            max_in_flight: 10_000,
            api_token: None,
            shutdown_grace: Duration::from_secs(10),
            read_snapshot_max_bytes: 8 * 1024 * 1024,
            http_header_timeout: Duration::from_secs(10),
            http_body_timeout: Duration::from_secs(10),
            http_max_connections: None,
            tls: ClientTls::default(),
            http_tls: None,
        }
    }
}

impl Settings {
    /// Reads every variable, falling back to [`Settings::default`] for unset ones. An
    /// unset `X` is read from the file `X_FILE` names ([`crate::file_variables`]).
    ///
    /// Fails on the first variable that is set but unparseable.
    pub fn from_env() -> Result<Settings, SettingsError> {
        crate::file_variables::with_files(
            |name| env::var(name).ok(),
            |path| std::fs::read_to_string(path),
            |lookup| Settings::from_lookup(lookup),
        )
    }

    /// Like [`Settings::from_env`], with the variables taken from `lookup` (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let d = Settings::default();
        let ms = |name: &'static str, default: Duration| {
            parsed::<u64>(&lookup, name).map(|v| v.map_or(default, Duration::from_millis))
        };
        let settings = Settings {
            amqp_url: lookup("AMQP_URL").map_or(d.amqp_url, SecretUrl::from),
            database_url: lookup("DATABASE_URL").map_or(d.database_url, SecretUrl::from),
            migration_database_url: lookup("MIGRATION_DATABASE_URL")
                .filter(|u| !u.trim().is_empty())
                .map(SecretUrl::from),
            queue_type: parsed(&lookup, "QUEUE_TYPE")?.unwrap_or(d.queue_type),
            http_address: parsed(&lookup, "HTTP_ADDRESS")?.unwrap_or(d.http_address),
            http_port: parsed(&lookup, "HTTP_PORT")?.unwrap_or(d.http_port),
            reply_timeout: ms("REPLY_TIMEOUT_MS", d.reply_timeout)?,
            publish_timeout: ms("PUBLISH_TIMEOUT_MS", d.publish_timeout)?,
            prefetch: positive(&lookup, "PREFETCH")?.unwrap_or(d.prefetch),
            db_pool_max: positive(&lookup, "DB_POOL_MAX")?.unwrap_or(d.db_pool_max),
            db_connect_timeout: ms("DB_CONNECT_TIMEOUT_MS", d.db_connect_timeout)?,
            max_body_bytes: positive(&lookup, "MAX_BODY_BYTES")?.unwrap_or(d.max_body_bytes),
            max_in_flight: positive(&lookup, "MAX_IN_FLIGHT")?.unwrap_or(d.max_in_flight),
            api_token: lookup("API_TOKEN")
                .filter(|t| !t.trim().is_empty())
                .map(Secret::from),
            shutdown_grace: parsed::<u64>(&lookup, "SHUTDOWN_GRACE_SECS")?
                .map_or(d.shutdown_grace, Duration::from_secs),
            read_snapshot_max_bytes: parsed(&lookup, "READ_SNAPSHOT_MAX_BYTES")?
                .unwrap_or(d.read_snapshot_max_bytes),
            http_header_timeout: positive::<u64>(&lookup, "HTTP_HEADER_TIMEOUT_MS")?
                .map_or(d.http_header_timeout, Duration::from_millis),
            http_body_timeout: positive::<u64>(&lookup, "HTTP_BODY_TIMEOUT_MS")?
                .map_or(d.http_body_timeout, Duration::from_millis),
            http_max_connections: match lookup("HTTP_MAX_CONNECTIONS") {
                Some(v) if v.trim().is_empty() => None,
                _ => positive(&lookup, "HTTP_MAX_CONNECTIONS")?,
            },
            tls: ClientTls::from_lookup(&lookup)?,
            http_tls: HttpTls::from_lookup(&lookup)?,
        };
        let mut databases = vec![("DATABASE_URL", &settings.database_url)];
        if let Some(url) = &settings.migration_database_url {
            databases.push(("MIGRATION_DATABASE_URL", url));
        }
        settings.tls.check_urls(&settings.amqp_url, &databases)?;
        Ok(settings)
    }

    /// The broker URL(s) with any password replaced, for log lines.
    pub fn amqp_url_redacted(&self) -> String {
        self.amqp_url.redacted()
    }

    /// The database URL with any password replaced, for log lines.
    pub fn database_url_redacted(&self) -> String {
        self.database_url.redacted()
    }
}

fn parsed<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, SettingsError>
where
    T::Err: std::fmt::Display,
{
    match lookup(name) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|e: T::Err| SettingsError {
                name,
                value,
                reason: e.to_string(),
            }),
    }
}

fn positive<T: FromStr + PartialEq + Default>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, SettingsError>
where
    T::Err: std::fmt::Display,
{
    match parsed::<T>(lookup, name)? {
        Some(v) if v == T::default() => Err(SettingsError {
            name,
            value: "0".into(),
            reason: "must be at least 1".into(),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::redact;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_locally() {
        let s = from(&[]).unwrap();
        assert_eq!(s.http_port, 8000);
        assert!(s.amqp_url.starts_with("amqp://"));
    }

    #[test]
    fn variables_override_defaults() {
        let s = from(&[
            ("HTTP_PORT", "9000"),
            ("REPLY_TIMEOUT_MS", "250"),
            ("PREFETCH", "50"),
            ("READ_SNAPSHOT_MAX_BYTES", "0"),
        ])
        .unwrap();
        assert_eq!(s.http_port, 9000);
        assert_eq!(s.reply_timeout, Duration::from_millis(250));
        assert_eq!(s.prefetch, 50);
        assert_eq!(s.read_snapshot_max_bytes, 0);
        assert_eq!(from(&[]).unwrap().read_snapshot_max_bytes, 8 << 20);
    }

    #[test]
    fn invalid_values_are_errors_naming_the_variable() {
        let err = from(&[("HTTP_PORT", "eighty")]).unwrap_err();
        assert_eq!(err.name, "HTTP_PORT");
        let err = from(&[("DB_POOL_MAX", "0")]).unwrap_err();
        assert_eq!(err.name, "DB_POOL_MAX");
        let err = from(&[("QUEUE_TYPE", "stream")]).unwrap_err();
        assert_eq!(err.name, "QUEUE_TYPE");
        assert_eq!(
            from(&[("QUEUE_TYPE", "Quorum")]).unwrap().queue_type,
            QueueType::Quorum
        );
    }

    #[test]
    fn client_connection_limits_have_defaults_and_can_be_set() {
        let d = from(&[]).unwrap();
        assert_eq!(d.http_header_timeout, Duration::from_secs(10));
        assert_eq!(d.http_body_timeout, Duration::from_secs(10));
        assert_eq!(d.http_max_connections, None);
        assert_eq!(
            from(&[("HTTP_MAX_CONNECTIONS", " ")])
                .unwrap()
                .http_max_connections,
            None
        );
        let s = from(&[
            ("HTTP_HEADER_TIMEOUT_MS", "1500"),
            ("HTTP_BODY_TIMEOUT_MS", "2500"),
            ("HTTP_MAX_CONNECTIONS", "300"),
        ])
        .unwrap();
        assert_eq!(s.http_header_timeout, Duration::from_millis(1500));
        assert_eq!(s.http_body_timeout, Duration::from_millis(2500));
        assert_eq!(s.http_max_connections, Some(300));
    }

    #[test]
    fn invalid_client_connection_limits_name_the_variable() {
        for (name, value) in [
            ("HTTP_HEADER_TIMEOUT_MS", "0"),
            ("HTTP_HEADER_TIMEOUT_MS", "10s"),
            ("HTTP_BODY_TIMEOUT_MS", "0"),
            ("HTTP_BODY_TIMEOUT_MS", "-5"),
            ("HTTP_MAX_CONNECTIONS", "0"),
            ("HTTP_MAX_CONNECTIONS", "many"),
        ] {
            let err = from(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name, "{value}");
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("amqp://user:secret@host:5672/%2f"),
            "amqp://user:***@host:5672/%2f"
        );
        assert_eq!(redact("amqp://host/%2f"), "amqp://host/%2f");
        let s = from(&[("AMQP_URL", "amqp://a:x@h1/%2f, amqp://a:y@h2/%2f")]).unwrap();
        assert_eq!(
            s.amqp_url_redacted(),
            "amqp://a:***@h1/%2f,amqp://a:***@h2/%2f"
        );
    }
}
