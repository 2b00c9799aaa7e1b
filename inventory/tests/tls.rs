//! The TLS settings and the `amqps://` handshake, without a broker: a rustls server on
//! a loopback port with the certificates in `tests/fixtures/tls` (`generate.sh`).
//! The same promises against the real RabbitMQ and MariaDB are in the producer's
//! integration tests (`producer/tests/api/tls.rs`, run on the TLS stack).

use inventory::secret::SecretUrl;
use inventory::tls::{ClientTls, HttpTls, TlsFailure};
use inventory::Settings;
use lapin::uri::AMQPUri;
use lapin::ConnectionProperties;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, inventory::settings::SettingsError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

fn client(pairs: &[(&str, &str)]) -> ClientTls {
    settings(pairs).expect("valid TLS settings").tls
}

#[test]
fn plaintext_stays_the_default() {
    let s = settings(&[]).unwrap();
    assert!(!s.tls.required());
    assert!(s.http_tls.is_none());
    let opts = mysql_async::Opts::from_url("mysql://u:p@127.0.0.1:3306/db").unwrap();
    assert!(s.tls.mysql_opts(opts).ssl_opts().is_none());
}

#[test]
fn a_missing_or_malformed_file_names_its_variable() {
    let err = settings(&[("TLS_CA_FILE", "/nonexistent/ca.pem")]).unwrap_err();
    assert_eq!(err.name, "TLS_CA_FILE");
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    // A key is not a certificate.
    let err = settings(&[("TLS_CA_FILE", &fixture("server.key"))]).unwrap_err();
    assert_eq!(err.name, "TLS_CA_FILE");
    assert!(err.reason.contains("no PEM certificate"), "{err}");
    let err = settings(&[
        ("HTTP_TLS_CERT_FILE", &fixture("server.pem")),
        ("HTTP_TLS_KEY_FILE", &fixture("ca.pem")),
    ])
    .unwrap_err();
    assert_eq!(err.name, "HTTP_TLS_KEY_FILE");
}

#[test]
fn a_certificate_without_its_key_is_refused() {
    let err = settings(&[("AMQP_TLS_CLIENT_CERT_FILE", &fixture("client.pem"))]).unwrap_err();
    assert_eq!(err.name, "AMQP_TLS_CLIENT_KEY_FILE");
    let err = settings(&[("HTTP_TLS_KEY_FILE", &fixture("server.key"))]).unwrap_err();
    assert_eq!(err.name, "HTTP_TLS_CERT_FILE");
    // A client key that is not the certificate's.
    let err = settings(&[
        ("AMQP_TLS_CLIENT_CERT_FILE", &fixture("client.pem")),
        ("AMQP_TLS_CLIENT_KEY_FILE", &fixture("server.key")),
    ])
    .unwrap_err();
    assert_eq!(err.name, "AMQP_TLS_CLIENT_KEY_FILE");
    let https = settings(&[
        ("HTTP_TLS_CERT_FILE", &fixture("server.pem")),
        ("HTTP_TLS_KEY_FILE", &fixture("server.key")),
    ])
    .unwrap();
    assert_eq!(
        https.http_tls,
        Some(HttpTls {
            cert_file: fixture("server.pem").into(),
            key_file: fixture("server.key").into(),
        })
    );
}

#[test]
fn tls_required_refuses_a_plaintext_broker_url_without_showing_its_password() {
    let err = settings(&[
        ("TLS_REQUIRED", "1"),
        (
            "AMQP_URL",
            "amqps://p:pw1@h1:5671/%2f,amqp://p:pw2@h2:5672/%2f",
        ),
    ])
    .unwrap_err();
    assert_eq!(err.name, "AMQP_URL");
    let shown = err.to_string();
    assert!(shown.contains("amqp://p:***@h2:5672/%2f"), "{shown}");
    assert!(shown.contains("amqps://"), "{shown}");
    assert!(!shown.contains("pw1") && !shown.contains("pw2"), "{shown}");

    let err = settings(&[
        ("TLS_REQUIRED", "yes"),
        ("AMQP_URL", "amqps://p:pw@h:5671/%2f"),
        (
            "DATABASE_URL",
            "mysql://u:dbpw@db/x?require_ssl=true&verify_ca=false",
        ),
    ])
    .unwrap_err();
    assert_eq!(err.name, "DATABASE_URL");
    assert!(!err.to_string().contains("dbpw"), "{err}");

    let err = settings(&[("TLS_REQUIRED", "maybe")]).unwrap_err();
    assert_eq!(err.name, "TLS_REQUIRED");
    assert!(settings(&[("TLS_REQUIRED", "1"), ("AMQP_URL", "amqps://h/%2f")]).is_ok());
}

#[test]
fn database_tls_uses_only_the_configured_ca() {
    let url = "mysql://u:p@127.0.0.1:3306/db";
    let tls = client(&[
        ("TLS_REQUIRED", "1"),
        ("AMQP_URL", "amqps://h/%2f"),
        ("TLS_CA_FILE", &fixture("ca.pem")),
    ]);
    let opts = tls.mysql_opts(mysql_async::Opts::from_url(url).unwrap());
    let ssl = opts.ssl_opts().expect("TLS_REQUIRED turns TLS on");
    assert!(ssl.disable_built_in_roots());
    assert_eq!(ssl.root_certs().len(), 1);
    assert!(!ssl.accept_invalid_certs() && !ssl.skip_domain_validation());

    // Not required: TLS where the URL asks for it, with the CA when one is configured.
    let tls = client(&[("TLS_CA_FILE", &fixture("ca.pem"))]);
    let plain = tls.mysql_opts(mysql_async::Opts::from_url(url).unwrap());
    assert!(plain.ssl_opts().is_none());
    let asked = format!("{url}?require_ssl=true");
    let opts = tls.mysql_opts(mysql_async::Opts::from_url(&asked).unwrap());
    assert!(opts.ssl_opts().unwrap().disable_built_in_roots());
}

#[test]
fn settings_never_print_passwords_or_the_token() {
    let s = settings(&[
        ("AMQP_URL", "amqp://producer:amqp-pw-1@h:5672/%2f"),
        ("DATABASE_URL", "mysql://records_read:db-pw-2@h:3306/x"),
        (
            "MIGRATION_DATABASE_URL",
            "mysql://records_migrate:db-pw-3@h/x",
        ),
        ("API_TOKEN", "token-4"),
        ("TLS_CA_FILE", &fixture("ca.pem")),
    ])
    .unwrap();
    let shown = format!("{s:?}");
    for secret in ["amqp-pw-1", "db-pw-2", "db-pw-3", "token-4"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("producer:***@h:5672"), "{shown}");
    assert!(shown.contains("ca.pem"), "{shown}");
    assert_eq!(s.api_token.as_ref().unwrap().expose(), "token-4");
    assert_eq!(
        s.database_url.expose(),
        "mysql://records_read:db-pw-2@h:3306/x"
    );
}

#[test]
fn env_example_lists_the_tls_settings_with_their_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../.env.example");
    let text = std::fs::read_to_string(path).unwrap();
    let listed: HashMap<&str, &str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    for name in [
        "TLS_REQUIRED",
        "TLS_CA_FILE",
        "AMQP_TLS_CLIENT_CERT_FILE",
        "AMQP_TLS_CLIENT_KEY_FILE",
        "HTTP_TLS_CERT_FILE",
        "HTTP_TLS_KEY_FILE",
    ] {
        assert!(listed.contains_key(name), "{name} is not in .env.example");
    }
    // As listed, they mean plaintext: the default.
    let s = Settings::from_lookup(|k| listed.get(k).map(|v| v.to_string())).unwrap();
    assert!(!s.tls.required() && s.http_tls.is_none());
    assert!(s.tls.trust().contains("built-in public roots"));
}

#[tokio::test]
async fn the_database_pool_never_prints_its_password() {
    // mysql_async's pool derives Debug down to the password; ours must not show it
    // (a panic message on a Result holding a store would).
    let url = "mysql://records_read:pool-pw-5@127.0.0.1:1/x?require_ssl=true";
    let store = inventory::db::Database::new(url, 1, std::time::Duration::from_secs(1)).unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("pool-pw-5"), "{shown}");
    assert!(shown.contains("records_read"), "{shown}");
}

#[tokio::test]
async fn a_bad_broker_url_is_reported_without_its_password() {
    let err = inventory::broker::connect("amqp://user:pw-in-url@[::1/%2f", "test")
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("pw-in-url"), "{err}");
    assert!(err.contains("user:***@"), "{err}");
    let shown = format!("{:?}", SecretUrl::from("amqp://user:pw-in-url@[::1/%2f"));
    assert!(!shown.contains("pw-in-url"), "{shown}");
}

// ---- handshakes against a loopback rustls server ----------------------------------

enum Server {
    /// Serves TLS with the fixture's server certificate; with `client_ca`, asks for a
    /// client certificate signed by it (and accepts a client without one).
    Tls { client_ca: bool },
    /// Answers like a plaintext AMQP port: its protocol header, then closes.
    Plaintext,
}

/// One connection's worth of server on a loopback port. The thread returns whether a
/// TLS handshake completed and whether the client presented a certificate.
fn serve_once(server: Server) -> (u16, JoinHandle<(bool, bool)>) {
    serve(server, 1)
}

/// [`serve_once`] for `connections` connections in turn; returns the last one's result.
fn serve(server: Server, connections: usize) -> (u16, JoinHandle<(bool, bool)>) {
    serve_at("127.0.0.1", server, connections)
}

fn serve_at(ip: &str, server: Server, connections: usize) -> (u16, JoinHandle<(bool, bool)>) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut last = (false, false);
        for _ in 0..connections {
            last = answer(&listener, &server);
        }
        last
    });
    (port, handle)
}

fn answer(listener: &TcpListener, server: &Server) -> (bool, bool) {
    let (mut tcp, _) = listener.accept().unwrap();
    let client_ca = match server {
        Server::Plaintext => {
            let mut hello = [0u8; 5];
            let _ = tcp.read(&mut hello);
            let _ = tcp.write_all(b"AMQP\x00\x00\x09\x01");
            return (false, false);
        }
        Server::Tls { client_ca } => *client_ca,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_ca {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(fixture("ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
            .allow_unauthenticated()
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = builder.with_single_cert(certs, key).unwrap();
    let mut stream = StreamOwned::new(ServerConnection::new(Arc::new(config)).unwrap(), tcp);
    // The handshake, then the client's AMQP protocol header; then close.
    let mut header = [0u8; 8];
    let completed = stream.read_exact(&mut header).is_ok();
    (completed, stream.conn.peer_certificates().is_some())
}

async fn connect(tls: &ClientTls, port: u16) -> lapin::Error {
    connect_to(tls, "127.0.0.1", port).await
}

async fn connect_to(tls: &ClientTls, ip: &str, port: u16) -> lapin::Error {
    let uri: AMQPUri = format!("amqps://u:p@{ip}:{port}/%2f").parse().unwrap();
    let result = tls.connect_amqp(uri, ConnectionProperties::default()).await;
    result.expect_err("the server closes after the TLS handshake")
}

/// The TLS failure `err` is, which must say `problem`.
fn tls_failure<'e>(err: &'e lapin::Error, problem: &str) -> &'e TlsFailure {
    let failure = TlsFailure::in_amqp(err).unwrap_or_else(|| panic!("not a TLS failure: {err}"));
    assert!(failure.problem.contains(problem), "{failure}");
    failure
}

#[tokio::test]
async fn a_server_signed_by_the_configured_ca_is_accepted() {
    let (port, server) = serve_once(Server::Tls { client_ca: false });
    let err = connect(&client(&[("TLS_CA_FILE", &fixture("ca.pem"))]), port).await;
    assert!(TlsFailure::in_amqp(&err).is_none(), "{err}");
    assert_eq!(server.join().unwrap(), (true, false));
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_refused_naming_it() {
    let (port, server) = serve_once(Server::Tls { client_ca: false });
    let err = connect(&client(&[("TLS_CA_FILE", &fixture("other-ca.pem"))]), port).await;
    let failure = tls_failure(&err, "not signed by a CA we trust");
    assert_eq!(failure.peer, format!("amqps://127.0.0.1:{port}"));
    assert!(failure.problem.contains("other-ca.pem"), "{failure}");
    assert!(
        !server.join().unwrap().0,
        "the server saw a completed handshake"
    );
}

#[tokio::test]
async fn a_certificate_for_another_address_is_refused() {
    // The test certificate names 127.0.0.1 and localhost, not 127.0.0.2 (also loopback).
    let (port, server) = serve_at("127.0.0.2", Server::Tls { client_ca: false }, 1);
    let tls = client(&[("TLS_CA_FILE", &fixture("ca.pem"))]);
    let err = connect_to(&tls, "127.0.0.2", port).await;
    let failure = tls_failure(&err, "not issued for this host");
    assert_eq!(failure.peer, format!("amqps://127.0.0.2:{port}"));
    server.join().unwrap();
}

#[tokio::test]
async fn the_public_roots_do_not_trust_a_private_ca() {
    // No TLS_CA_FILE: the built-in roots, which do not hold the test CA.
    let (port, server) = serve_once(Server::Tls { client_ca: false });
    let err = connect(&ClientTls::default(), port).await;
    tls_failure(&err, "built-in public roots");
    server.join().unwrap();
}

#[tokio::test]
async fn a_plaintext_server_on_an_amqps_url_is_named_as_such() {
    let (port, server) = serve_once(Server::Plaintext);
    let err = connect(&client(&[("TLS_CA_FILE", &fixture("ca.pem"))]), port).await;
    tls_failure(&err, "does not speak TLS");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    server.join().unwrap();
}

#[tokio::test]
async fn a_plaintext_url_to_a_tls_port_is_named_as_such() {
    // The plaintext attempt, then the handshake that tells it is a TLS port.
    let (port, server) = serve(Server::Tls { client_ca: false }, 2);
    let uri: AMQPUri = format!("amqp://u:p@127.0.0.1:{port}/%2f").parse().unwrap();
    let tls = client(&[("TLS_CA_FILE", &fixture("ca.pem"))]);
    let err = tls
        .connect_amqp(uri, ConnectionProperties::default())
        .await
        .expect_err("a TLS port does not answer plaintext AMQP");
    let failure = tls_failure(&err, "TLS-only port");
    assert_eq!(failure.peer, format!("amqp://127.0.0.1:{port}"));
    server.join().unwrap();
}

#[tokio::test]
async fn the_client_certificate_is_presented() {
    let tls = client(&[
        ("TLS_CA_FILE", &fixture("ca.pem")),
        ("AMQP_TLS_CLIENT_CERT_FILE", &fixture("client.pem")),
        ("AMQP_TLS_CLIENT_KEY_FILE", &fixture("client.key")),
    ]);
    let (port, server) = serve_once(Server::Tls { client_ca: true });
    connect(&tls, port).await;
    assert_eq!(server.join().unwrap(), (true, true));
    // Without one configured, none is sent.
    let (port, server) = serve_once(Server::Tls { client_ca: true });
    connect(&client(&[("TLS_CA_FILE", &fixture("ca.pem"))]), port).await;
    assert_eq!(server.join().unwrap(), (true, false));
}
