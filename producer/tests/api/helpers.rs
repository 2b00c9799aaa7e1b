//! `spawn_app()`: a private vhost and database, the four consumers and the producer,
//! all in this process and on the production code path.

use inventory::consumer;
use inventory::shutdown::Shutdown;
use inventory::tls::{ClientTls, HttpTls};
use inventory::{Operation, RecordStore, Settings};
use mysql_async::prelude::*;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub shutdown: Shutdown,
    pub vhost: String,
}

/// Reads a variable written by `scripts/stack infra` into `.local/stack.env`.
fn stack_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with `make test`, which starts RabbitMQ and MariaDB"
        )
    })
}

pub fn rabbitmq_api() -> String {
    stack_var("TEST_RABBITMQ_API")
}

/// Options for [`spawn_app_with`].
pub struct Options {
    /// Operations whose consumer runs (all by default).
    pub consumers: Vec<Operation>,
    pub reply_timeout: Duration,
    /// Overrides the broker URL (for example a port nobody listens on).
    pub amqp_url: Option<String>,
    /// Wait until the producer is connected to the broker.
    pub wait_ready: bool,
    pub api_token: Option<String>,
    pub max_in_flight: usize,
    pub read_snapshot_max_bytes: usize,
    /// TLS to the broker and the database (the test's own connections use it too).
    pub tls: ClientTls,
    /// HTTPS on the producer.
    pub http_tls: Option<HttpTls>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            consumers: Operation::ALL.to_vec(),
            reply_timeout: Duration::from_secs(10),
            amqp_url: None,
            wait_ready: true,
            api_token: None,
            max_in_flight: Settings::default().max_in_flight,
            read_snapshot_max_bytes: Settings::default().read_snapshot_max_bytes,
            tls: ClientTls::default(),
            http_tls: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// With `TEST_LOG_FILE` set, the whole test process logs there at `RUST_LOG` (default
/// `trace`): `scripts/test` searches that file for the stack's passwords. Unset, as
/// before, nothing is logged.
pub fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Some(path) = std::env::var_os("TEST_LOG_FILE") else {
            return;
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("TEST_LOG_FILE={path:?}: {e}"));
        let mut builder =
            env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("trace"));
        builder.target(env_logger::Target::Pipe(Box::new(file)));
        // The producer's own logger (Rocket's request dumps, headers and all, left out).
        producer::auth::install_logger(builder).expect("the first logger of the process");
    });
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    init_logging();
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let vhost = format!("test-{tag}");
    let database = format!("test_{tag}");
    create_vhost(&vhost).await;
    create_database(&database, &options.tls).await;

    let settings = Settings {
        amqp_url: options
            .amqp_url
            .unwrap_or_else(|| format!("{}/{vhost}", stack_var("TEST_AMQP_ADMIN_URL")))
            .into(),
        database_url: format!("{}/{database}", stack_var("TEST_MYSQL_ADMIN_URL")).into(),
        http_port: 0,
        reply_timeout: options.reply_timeout,
        db_pool_max: 4,
        api_token: options.api_token.map(Into::into),
        max_in_flight: options.max_in_flight,
        read_snapshot_max_bytes: options.read_snapshot_max_bytes,
        tls: options.tls,
        http_tls: options.http_tls,
        ..Settings::default()
    };
    let shutdown = Shutdown::new();
    for op in options.consumers {
        let store = if op == Operation::HealthCheck {
            None
        } else {
            consumer::prepare_store(&settings, &shutdown).await
        };
        tokio::spawn(consumer::run(op, settings.clone(), store, shutdown.clone()));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(producer::serve(
        settings.clone(),
        shutdown.clone(),
        Some(tx),
    ));
    let addr = rx.await.expect("producer started");
    let app = TestApp {
        addr,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        settings,
        shutdown,
        vhost,
    };
    if options.wait_ready {
        app.wait_ready().await;
    }
    app
}

async fn create_vhost(vhost: &str) {
    let client = reqwest::Client::new();
    let api = rabbitmq_api();
    let (base, user, password) = split_credentials(&api);
    client
        .put(format!("{base}/vhosts/{vhost}"))
        .basic_auth(&user, Some(&password))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("create vhost through the management API");
    client
        .put(format!("{base}/permissions/{vhost}/{user}"))
        .basic_auth(&user, Some(&password))
        .json(&serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("grant permissions on the vhost");
}

/// `http://user:pass@host/api` -> (`http://host/api`, user, pass): reqwest wants
/// basic auth given separately.
pub fn split_credentials(url: &str) -> (String, String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (creds, host) = rest.split_once('@').unwrap();
    let (user, password) = creds.split_once(':').unwrap();
    (format!("{scheme}://{host}"), user.into(), password.into())
}

async fn create_database(name: &str, tls: &ClientTls) {
    let opts = mysql_async::Opts::from_url(&stack_var("TEST_MYSQL_ADMIN_URL")).unwrap();
    let mut conn = mysql_async::Conn::new(tls.mysql_opts(opts))
        .await
        .expect("connect to MariaDB as admin");
    conn.query_drop(format!(
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    ))
    .await
    .unwrap();
    conn.disconnect().await.unwrap();
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn wait_ready(&self) {
        // Connected to the broker and answering: a health check that is not a 503.
        for _ in 0..200 {
            if let Ok(r) = self.client.get(self.url("/health_check")).send().await {
                if r.status() != 503 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("producer never connected to the broker");
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        to_json(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        to_json(
            self.client
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn insert(&self, name: &str, srn: &str, section: &str) -> (u16, Value) {
        self.post_json(
            "/insert_record",
            &serde_json::json!({"Name": name, "SRN": srn, "Section": section}),
        )
        .await
    }

    /// The producer's `/metrics` page.
    pub async fn metrics_text(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// The SRNs in the table, read straight from the database.
    pub async fn srns_in_database(&self) -> Vec<String> {
        let mut conn = mysql_async::Conn::from_url(&self.settings.database_url)
            .await
            .unwrap();
        let srns: Vec<String> = conn
            .query("SELECT srn FROM students ORDER BY srn")
            .await
            .unwrap();
        conn.disconnect().await.unwrap();
        srns
    }

    pub async fn store(&self) -> RecordStore {
        RecordStore::new(&self.settings.database_url, 2, Duration::from_secs(2)).unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// A response's status and JSON body; fails the test if the body is not JSON.
pub async fn to_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
    assert_eq!(
        ct.as_deref(),
        Some("application/json"),
        "status {status}: {text}"
    );
    (status, body)
}

/// An SRN no other test uses.
pub fn unique_srn() -> String {
    format!(
        "T{}",
        &uuid::Uuid::new_v4().simple().to_string()[..14].to_uppercase()
    )
}

/// Asserts the uniform error shape and returns the `error` code.
pub fn error_code(body: &Value) -> &str {
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
}
