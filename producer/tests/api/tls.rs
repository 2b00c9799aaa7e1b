//! TLS on every hop, against the real RabbitMQ (TLS-only listener) and MariaDB
//! (`require_secure_transport`) of a stack started with `TLS=1`: `scripts/test` runs
//! these with `--ignored` on that stack (they need its certificates and ports).
//! The rules without a server (settings, handshakes, messages) are in
//! `inventory/tests/tls.rs`.

use crate::helpers::{spawn_app_with, split_credentials, unique_srn, ManagementApi, Options};
use inventory::tls::{ClientTls, HttpTls, TlsFailure};
use inventory::{broker, Settings};
use mysql_async::prelude::Queryable;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn var(name: &str) -> String {
    crate::helpers::init_logging();
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests run on the TLS stack (scripts/test starts it)")
    })
}

/// The stack's TLS settings, as the binaries read them (TLS_REQUIRED, TLS_CA_FILE, the
/// client certificate), with `overrides` on top.
fn stack_tls(overrides: &[(&str, &str)]) -> ClientTls {
    let lookup = |name: &str| match overrides.iter().find(|(k, _)| *k == name) {
        Some((_, v)) => Some(v.to_string()),
        None => std::env::var(name).ok(),
    };
    assert_eq!(
        lookup("TLS_REQUIRED").as_deref(),
        Some("1"),
        "not the TLS stack"
    );
    ClientTls::from_lookup(&lookup).expect("the stack's TLS settings")
}

/// `amqps://admin:…@127.0.0.1:port` as the stack wrote it, and its port.
fn admin_amqp() -> (String, u16) {
    let url = var("TEST_AMQP_ADMIN_URL");
    let port = url.rsplit(':').next().unwrap().parse().unwrap();
    (url, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
async fn every_route_works_over_amqps_and_database_tls() {
    let app = spawn_app_with(Options {
        tls: stack_tls(&[]),
        ..Options::default()
    })
    .await;
    assert!(app.settings.amqp_url.starts_with("amqps://"));
    let srn = unique_srn();

    assert_eq!(app.get("/health_check?message=tls").await.0, 200);
    let (status, body) = app.insert("Über TLS", &srn, "A").await;
    assert_eq!(status, 201, "{body}");
    let body = app.get_ok("/read_database").await;
    assert!(body.to_string().contains(&srn), "{body}");
    let (status, body) = app.get(&format!("/v1/records/{srn}")).await;
    assert_eq!((status, body["Name"].as_str()), (200, Some("Über TLS")));
    assert_eq!(app.get("/read_database?limit=1").await.0, 200);
    assert_eq!(app.get(&format!("/delete_record?SRN={srn}")).await.0, 200);
    assert_eq!(app.get(&format!("/v1/records/{srn}")).await.0, 404);
    assert_eq!(app.get("/readyz").await.0, 200);

    // Every connection of this test's vhost is TLS, as the broker sees it (the
    // management API lists a connection once its statistics arrive, within seconds).
    let api = ManagementApi::of_test_stack();
    let mut connections = Vec::new();
    for _ in 0..60 {
        connections = api.connections(&app.vhost).await;
        if connections.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(connections.len() >= 5, "{connections:?}");
    for c in &connections {
        assert_eq!(c["ssl"], true, "{c}");
        assert_eq!(c["peer_cert_subject"], "CN=student-records services", "{c}");
    }
    // And the database sees TLS on the consumers' connections.
    let opts = mysql_async::Opts::from_url(&app.settings.database_url).unwrap();
    let mut conn = mysql_async::Conn::new(app.settings.tls.mysql_opts(opts))
        .await
        .unwrap();
    let cipher: Option<(String, String)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Ssl_version'")
        .await
        .unwrap();
    assert!(cipher.unwrap().1.starts_with("TLS"));
    conn.disconnect().await.unwrap();
}

/// One HTTP/1.1 request over TLS, trusting only `ca_file`: the status and body.
fn https_get(addr: SocketAddr, ca_file: &str, path: &str) -> Result<(u16, String), String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::from(addr.ip());
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // Rocket closes without close_notify; what arrived before is the whole answer.
    if let Err(e) = tls.read_to_end(&mut response) {
        if response.is_empty() {
            return Err(e.to_string());
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {text:?}"))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
async fn the_producer_serves_https_and_nothing_else_on_its_port() {
    let http_tls = HttpTls::from_lookup(&|k| std::env::var(k).ok())
        .unwrap()
        .expect("HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE in the stack's settings");
    let app = spawn_app_with(Options {
        tls: stack_tls(&[]),
        http_tls: Some(http_tls),
        wait_ready: false,
        ..Options::default()
    })
    .await;
    let (addr, ca) = (app.addr, var("TLS_CA_FILE"));
    let mut answer = Err(String::new());
    for _ in 0..100 {
        let ca = ca.clone();
        answer =
            tokio::task::spawn_blocking(move || https_get(addr, &ca, "/health_check?message=s"))
                .await
                .unwrap();
        if matches!(answer, Ok((200, _))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = answer.expect("an HTTPS answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"message\":\"s\""), "{body}");

    // A client trusting another CA refuses the producer's certificate.
    let other = var("TEST_TLS_OTHER_CA_FILE");
    let refused = tokio::task::spawn_blocking(move || https_get(addr, &other, "/healthz"))
        .await
        .unwrap();
    let err = refused.expect_err("the producer's certificate is not from the other CA");
    assert!(err.contains("UnknownIssuer"), "{err}");

    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP answered: {plain:?}");
}

/// Runs a binary with the stack's environment plus `env`, until it exits (at most 60 s).
fn run_binary(path: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(path);
    command
        .env("HTTP_PORT", "0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start the binary");
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return (status.code(), stderr);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("{path} did not stop within 60 s");
}

#[test]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
fn a_broker_signed_by_another_ca_stops_the_producer_at_start_naming_it() {
    let (url, port) = admin_amqp();
    let other = var("TEST_TLS_OTHER_CA_FILE");
    let (code, stderr) = run_binary(
        env!("CARGO_BIN_EXE_producer"),
        &[("AMQP_URL", &format!("{url}/%2f")), ("TLS_CA_FILE", &other)],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("amqps://127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("not signed by a CA we trust"), "{stderr}");
    assert!(stderr.contains(&other), "{stderr}");
    assert!(
        !stderr.contains(&split_credentials(&url).2),
        "password in {stderr}"
    );
}

#[test]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
fn plaintext_urls_stop_the_producer_at_start() {
    let (url, port) = admin_amqp();
    let plain = url.replacen("amqps://", "amqp://", 1) + "/%2f";
    // TLS_REQUIRED (the stack's setting) refuses the URL before connecting.
    let (code, stderr) = run_binary(env!("CARGO_BIN_EXE_producer"), &[("AMQP_URL", &plain)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("AMQP_URL") && stderr.contains("amqps://"),
        "{stderr}"
    );
    // Not required: the broker's TLS-only port is recognised as such.
    let (code, stderr) = run_binary(
        env!("CARGO_BIN_EXE_producer"),
        &[("AMQP_URL", &plain), ("TLS_REQUIRED", "0")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("amqp://127.0.0.1:{port}: a TLS-only port")),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&split_credentials(&url).2),
        "password in {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
async fn a_database_signed_by_another_ca_is_refused_naming_it() {
    let admin = var("TEST_MYSQL_ADMIN_URL");
    let port = admin.rsplit(':').next().unwrap().to_owned();
    let settings = Settings {
        amqp_url: "amqp://127.0.0.1:1/%2f".into(), // nobody there: not checked
        database_url: format!("{admin}/inventory").into(),
        tls: stack_tls(&[("TLS_CA_FILE", &var("TEST_TLS_OTHER_CA_FILE"))]),
        ..Settings::default()
    };
    let failure = inventory::tls::check_peers(&settings, "test", true)
        .await
        .expect_err("refused");
    assert_eq!(failure.peer, format!("mysql://127.0.0.1:{port}"));
    assert!(
        failure.problem.contains("not signed by a CA we trust"),
        "{failure}"
    );
    // The pool refuses it too, on every connection.
    let database = inventory::db::Database::with_tls(
        &settings.database_url,
        1,
        Duration::from_secs(5),
        &settings.tls,
    )
    .unwrap();
    let err = database.conn().await.unwrap_err().to_string();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
async fn plaintext_to_the_tls_only_servers_fails() {
    // The broker: no plaintext listener; said so, naming the port.
    let (url, port) = admin_amqp();
    let plain = url.replacen("amqps://", "amqp://", 1) + "/%2f";
    let err = broker::connect(&plain, "test").await.unwrap_err();
    let failure = TlsFailure::in_amqp(&err).unwrap_or_else(|| panic!("not explained: {err}"));
    assert_eq!(failure.peer, format!("amqp://127.0.0.1:{port}"));
    // The database: a plaintext login is refused even with the right password
    // (MariaDB says "access denied"; the start-up check adds the likely cause).
    let plain_db = mysql_async::Opts::from_url(&var("TEST_MYSQL_ADMIN_URL")).unwrap();
    let refused = mysql_async::Conn::new(plain_db).await;
    assert!(
        refused.is_err(),
        "a plaintext database connection was accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the TLS stack (scripts/test runs it)"]
async fn the_broker_verifies_the_client_certificate() {
    let url = format!("{}/%2f", admin_amqp().0);
    let ours = broker::connect_with(&url, "test", &stack_tls(&[])).await;
    ours.expect("our client certificate is accepted")
        .close(200, "done".into())
        .await
        .unwrap();
    let theirs = stack_tls(&[
        (
            "AMQP_TLS_CLIENT_CERT_FILE",
            &var("TEST_TLS_OTHER_CLIENT_CERT_FILE"),
        ),
        (
            "AMQP_TLS_CLIENT_KEY_FILE",
            &var("TEST_TLS_OTHER_CLIENT_KEY_FILE"),
        ),
    ]);
    let refused = broker::connect_with(&url, "test", &theirs)
        .await
        .expect_err("a client certificate from another CA was accepted");
    // With TLS 1.3 the client ends its side of the handshake before the server has
    // checked the client's certificate: the server's alert (UnknownCA) usually arrives
    // first, but the reset that follows it can overtake it.
    match (TlsFailure::in_amqp(&refused), refused.kind()) {
        (Some(failure), _) => assert!(failure.problem.contains("UnknownCA"), "{failure}"),
        (None, lapin::ErrorKind::IOError(io)) => assert!(
            matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
            ),
            "{refused}"
        ),
        (None, _) => panic!("refused for another reason: {refused}"),
    }
}
