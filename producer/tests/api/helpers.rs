//! `spawn_app()`: a private vhost and database, the four consumers and the producer,
//! all in this process and on the production code path.

use inventory::db::Database;
use inventory::shutdown::Shutdown;
use inventory::tls::{ClientTls, HttpTls};
use inventory::worker;
use inventory::Settings;
use protocol::Operation;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

pub(crate) struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub settings: Settings,
    pub shutdown: Shutdown,
    pub vhost: String,
}

pub(crate) use test_support::{split_credentials, stack_var, unique_srn, ManagementApi};

/// A connection of the test's own to the broker at `url`, and a channel on it; with
/// `confirms`, the channel has publisher confirms on (a publish resolves when the broker
/// has taken the message).
pub(crate) async fn broker_channel(
    url: &str,
    confirms: bool,
) -> (lapin::Connection, lapin::Channel) {
    let conn = inventory::broker::connect(url, "test").await.unwrap();
    let channel = conn.create_channel().await.unwrap();
    if confirms {
        channel
            .confirm_select(lapin::options::ConfirmSelectOptions::default())
            .await
            .unwrap();
    }
    (conn, channel)
}

/// Options for [`spawn_app_with`].
pub(crate) struct Options {
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
    /// Changes any other setting before the app starts.
    pub settings: fn(&mut Settings),
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
            settings: |_| {},
            tls: ClientTls::default(),
            http_tls: None,
        }
    }
}

impl Options {
    /// Only `consumers` run, and the producer waits `reply_timeout` for a reply: for
    /// tests of what happens to requests nobody (or not everybody) serves.
    pub(crate) fn only(consumers: &[Operation], reply_timeout: Duration) -> Self {
        Options {
            consumers: consumers.to_vec(),
            reply_timeout,
            ..Options::default()
        }
    }
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// With `TEST_LOG_FILE` set, the whole test process logs there at `RUST_LOG` (default
/// `trace`): `scripts/test` searches that file for the stack's passwords. Unset, as
/// before, nothing is logged.
pub(crate) fn init_logging() {
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

pub(crate) async fn spawn_app_with(options: Options) -> TestApp {
    init_logging();
    let vhost = test_support::fresh_vhost().await;
    let (database_url, _) = test_support::fresh_database_with(&options.tls).await;

    let mut settings = Settings {
        amqp_url: options
            .amqp_url
            .unwrap_or_else(|| format!("{}/{vhost}", stack_var("TEST_AMQP_ADMIN_URL")))
            .into(),
        database_url: database_url.into(),
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
    (options.settings)(&mut settings);
    let shutdown = Shutdown::new();
    for op in options.consumers {
        spawn_consumer(op, &settings, &shutdown);
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

/// Runs `op`'s consumer in this process, on the production code path, with a pool of
/// its own as in production.
fn spawn_consumer(op: Operation, settings: &Settings, shutdown: &Shutdown) {
    let (settings, shutdown) = (settings.clone(), shutdown.clone());
    let database = Database::with_tls(
        &settings.database_url,
        settings.db_pool_max,
        Duration::from_secs(2),
        &settings.tls,
    )
    .expect("a valid database URL");
    match op {
        Operation::HealthCheck => tokio::spawn(async move {
            worker::run(consumer_health::HealthCheck, &settings, shutdown).await
        }),
        Operation::InsertRecord => tokio::spawn(async move {
            worker::run(consumer_insert::InsertRecord(database), &settings, shutdown).await
        }),
        Operation::DeleteRecord => tokio::spawn(async move {
            worker::run(consumer_delete::DeleteRecord(database), &settings, shutdown).await
        }),
        Operation::ReadDatabase => tokio::spawn(async move {
            worker::run(consumer_read::ReadDatabase(database), &settings, shutdown).await
        }),
    };
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
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

    /// `GET path`: the status and the JSON body.
    pub(crate) async fn get(&self, path: &str) -> (u16, Value) {
        to_json(self.get_response(path).await).await
    }

    /// `GET path`, which must answer 200: the JSON body.
    pub(crate) async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// `GET path`: the whole response, for its headers.
    pub(crate) async fn get_response(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `POST path` with a JSON body: the status and the JSON body.
    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        to_json(self.post_json_response(path, body).await).await
    }

    /// `POST path` with a JSON body: the whole response, for its headers.
    pub(crate) async fn post_json_response(&self, path: &str, body: &Value) -> reqwest::Response {
        let request = self.client.post(self.url(path)).json(body);
        request.send().await.unwrap()
    }

    pub(crate) async fn insert(&self, name: &str, srn: &str, section: &str) -> (u16, Value) {
        self.post_json(
            "/insert_record",
            &serde_json::json!({"Name": name, "SRN": srn, "Section": section}),
        )
        .await
    }

    /// Inserts `{prefix}0` to `{prefix}{count - 1}` (SRNs that sort in that order for
    /// a count up to 10), each answered 201.
    pub(crate) async fn insert_numbered(&self, prefix: &str, count: usize) {
        for i in 0..count {
            let srn = format!("{prefix}{i}");
            assert_eq!(self.insert("N", &srn, "A").await.0, 201, "{srn}");
        }
    }

    /// Checks that a full read answers 200 with exactly `records`.
    pub(crate) async fn assert_records(&self, records: Value) {
        let (status, body) = self.get("/read_database").await;
        assert_eq!((status, body), (200, records));
    }

    /// Inserts a record under a new SRN and checks that a full read then returns exactly
    /// it, character for character.
    pub(crate) async fn assert_stored_exactly(&self, name: &str, section: &str) {
        let srn = unique_srn();
        let (status, body) = self.insert(name, &srn, section).await;
        assert_eq!(status, 201, "{name:?}: {body}");
        let record = serde_json::json!({"Name": name, "SRN": srn, "Section": section});
        self.assert_records(Value::Array(vec![record])).await;
    }

    /// A connection of the test's own to the app's vhost, and a channel on it (see
    /// [`broker_channel`]).
    pub(crate) async fn broker_channel(
        &self,
        confirms: bool,
    ) -> (lapin::Connection, lapin::Channel) {
        broker_channel(&self.settings.amqp_url, confirms).await
    }

    /// A TCP connection of its own to the producer, on which `bytes` were sent: for
    /// requests no HTTP client would send, or sends slowly.
    pub(crate) async fn send_raw(&self, bytes: &[u8]) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        stream.write_all(bytes).await.expect("send");
        stream
    }

    /// Checks that `GET path` answers 422 `invalid_field` for each of `paths`.
    pub(crate) async fn assert_invalid_fields(&self, paths: &[&str]) {
        for path in paths {
            let (status, body) = self.get(path).await;
            assert_eq!(status, 422, "{path}: {body}");
            assert_eq!(error_code(&body), "invalid_field", "{path}: {body}");
        }
    }

    /// The producer's `/metrics` page.
    pub(crate) async fn metrics_text(&self) -> String {
        let response = self.get_response("/metrics").await;
        response.text().await.unwrap()
    }

    /// The SRNs in the table, read straight from the database.
    pub(crate) async fn srns_in_database(&self) -> Vec<String> {
        test_support::srns_in(&self.settings.database_url).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

/// Reads until the peer closes (EOF or reset); what arrived before. Fails the test if
/// the connection is still open after `limit`.
pub(crate) async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    limit: Duration,
) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return received,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "connection still open after {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

/// A response's status and JSON body; fails the test if the body is not JSON.
pub(crate) async fn to_json(response: reqwest::Response) -> (u16, Value) {
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

/// Asserts the uniform error shape and returns the `error` code.
pub(crate) fn error_code(body: &Value) -> &str {
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {body}"))
}
