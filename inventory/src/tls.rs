//! TLS on every hop: the settings (`TLS_REQUIRED`, `TLS_CA_FILE`, the broker's client
//! certificate, the producer's HTTPS certificate), the rustls configuration for
//! `amqps://`, the TLS options of the MySQL pool, and errors that name the peer and
//! what is wrong with it.
//!
//! One trust rule for both hops: when `TLS_CA_FILE` is set, a server is trusted only if
//! its certificate chains to a CA in that file (the built-in roots are off); unset, the
//! Mozilla roots bundled in `webpki-roots` are used (hosted brokers and databases).
//! Verification is never switched off: with `TLS_REQUIRED`, a plaintext URL or an
//! unverifiable server is an error at start-up, not a silent downgrade.

use crate::secret::SecretUrl;
use crate::settings::SettingsError;
use lapin::tcp::{AsyncTcpStream, RustlsConnector};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The TLS side of every connection a process opens (broker and database).
#[derive(Clone)]
pub struct ClientTls {
    /// `TLS_REQUIRED`: every broker URL must be `amqps://` and every database connection
    /// uses TLS, verified.
    required: bool,
    /// `TLS_CA_FILE`, and its certificates (PEM) for mysql_async.
    ca: Option<(PathBuf, Arc<Vec<u8>>)>,
    /// `AMQP_TLS_CLIENT_CERT_FILE`, shown in `Debug`; the key is only inside `amqp`.
    client_certificate: Option<PathBuf>,
    /// The rustls configuration of `amqps://` connections.
    amqp: Arc<ClientConfig>,
}

impl Default for ClientTls {
    /// Not required; `amqps://` and `?require_ssl=true` verified against the built-in roots.
    fn default() -> Self {
        static DEFAULT: OnceLock<ClientTls> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                ClientTls {
                    required: false,
                    ca: None,
                    client_certificate: None,
                    amqp: Arc::new(
                        client_config(roots, None).expect("the ring provider supports TLS 1.2+"),
                    ),
                }
            })
            .clone()
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("required", &self.required)
            .field("trust", &self.trust())
            .field("client_certificate", &self.client_certificate)
            .finish()
    }
}

/// `HTTP_TLS_CERT_FILE` and `HTTP_TLS_KEY_FILE`: the producer serves HTTPS with them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl ClientTls {
    /// Reads `TLS_REQUIRED`, `TLS_CA_FILE` and `AMQP_TLS_CLIENT_CERT_FILE`/`_KEY_FILE`,
    /// loading the files now so that a missing or malformed one stops the process at
    /// start with the variable's name.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<ClientTls, SettingsError> {
        let required = flag(lookup, "TLS_REQUIRED")?;
        let ca_file = path(lookup, "TLS_CA_FILE");
        let identity = pair(
            lookup,
            "AMQP_TLS_CLIENT_CERT_FILE",
            "AMQP_TLS_CLIENT_KEY_FILE",
        )?;
        let (roots, ca) = match ca_file {
            None => {
                let default = ClientTls::default();
                return match identity {
                    None => Ok(ClientTls {
                        required,
                        ..default
                    }),
                    Some(identity) => {
                        let mut roots = RootCertStore::empty();
                        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                        ClientTls::build(required, roots, None, Some(identity))
                    }
                };
            }
            Some(file) => {
                let pem = std::fs::read(&file).map_err(|e| invalid("TLS_CA_FILE", &file, e))?;
                let certs = certificates(&pem).map_err(|e| invalid("TLS_CA_FILE", &file, e))?;
                let mut roots = RootCertStore::empty();
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| invalid("TLS_CA_FILE", &file, e))?;
                }
                (roots, Some((file, Arc::new(pem))))
            }
        };
        ClientTls::build(required, roots, ca, identity)
    }

    fn build(
        required: bool,
        roots: RootCertStore,
        ca: Option<(PathBuf, Arc<Vec<u8>>)>,
        identity: Option<(PathBuf, PathBuf)>,
    ) -> Result<ClientTls, SettingsError> {
        let (client_certificate, key_pair) = match identity {
            None => (None, None),
            Some((cert, key)) => {
                let pair = load_key_pair(
                    (&cert, "AMQP_TLS_CLIENT_CERT_FILE"),
                    (&key, "AMQP_TLS_CLIENT_KEY_FILE"),
                )?;
                (Some(cert), Some(pair))
            }
        };
        let amqp = client_config(roots, key_pair).map_err(|e| SettingsError {
            name: "AMQP_TLS_CLIENT_KEY_FILE",
            value: client_certificate
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            reason: format!("the client certificate and key do not go together: {e}"),
        })?;
        Ok(ClientTls {
            required,
            ca,
            client_certificate,
            amqp: Arc::new(amqp),
        })
    }

    /// Whether `TLS_REQUIRED` is set.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Which servers are trusted, for messages.
    pub fn trust(&self) -> String {
        match &self.ca {
            Some((file, _)) => format!("TLS_CA_FILE={}", file.display()),
            None => "the built-in public roots (set TLS_CA_FILE for a private CA)".into(),
        }
    }

    /// With `TLS_REQUIRED`, every broker URL must be `amqps://`, and no database URL may
    /// switch verification off. Called by [`crate::Settings::from_lookup`].
    pub fn check_urls(
        &self,
        amqp: &SecretUrl,
        databases: &[(&'static str, &SecretUrl)],
    ) -> Result<(), SettingsError> {
        if !self.required {
            return Ok(());
        }
        for url in amqp.split(',').map(str::trim).filter(|u| !u.is_empty()) {
            if !url.to_ascii_lowercase().starts_with("amqps://") {
                return Err(SettingsError {
                    name: "AMQP_URL",
                    value: crate::secret::redact(url),
                    reason: "TLS_REQUIRED is set, and this broker URL is plaintext: use \
                             amqps:// and the broker's TLS port"
                        .into(),
                });
            }
        }
        for (name, url) in databases {
            let lowered = url.to_ascii_lowercase();
            for off in [
                "verify_ca=false",
                "verify_identity=false",
                "require_ssl=false",
            ] {
                if lowered.contains(off) {
                    return Err(SettingsError {
                        name,
                        value: url.redacted(),
                        reason: format!("TLS_REQUIRED is set, and this URL says {off}"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The pool's options with TLS as these settings say: on when `TLS_REQUIRED` is set
    /// or the URL asks for it (`?require_ssl=true`), the server verified against
    /// `TLS_CA_FILE` only when it is set. Plaintext otherwise, as before.
    pub fn mysql_opts(&self, opts: mysql_async::Opts) -> mysql_async::Opts {
        let asked = opts.ssl_opts().cloned();
        if !self.required && asked.is_none() {
            return opts;
        }
        let mut ssl = asked.unwrap_or_default();
        if self.required {
            ssl = ssl
                .with_danger_accept_invalid_certs(false)
                .with_danger_skip_domain_validation(false);
        }
        if let Some((_, pem)) = &self.ca {
            ssl = ssl
                .with_root_certs(vec![pem.to_vec().into()])
                .with_disable_built_in_roots(true);
        }
        mysql_async::OptsBuilder::from_opts(opts)
            .ssl_opts(ssl)
            .into()
    }

    /// Opens an AMQP connection: TCP, then for `amqps://` a TLS handshake with this
    /// configuration (never lapin's own root store), then the AMQP handshake. A failed
    /// TLS handshake is an I/O error holding a [`TlsFailure`].
    pub async fn connect_amqp(
        &self,
        uri: AMQPUri,
        properties: ConnectionProperties,
    ) -> lapin::Result<Connection> {
        let runtime = lapin::runtime::default_runtime()?;
        let connector = RustlsConnector::from(self.amqp.clone());
        let trust = self.trust();
        Connection::connector(
            uri,
            runtime,
            async move |uri: AMQPUri, runtime| {
                let (host, port) = (uri.authority.host.clone(), uri.authority.port);
                let addrs = runtime.to_socket_addrs((host.clone(), port));
                let stream = AsyncTcpStream::connect(&runtime, addrs).await?;
                match uri.scheme {
                    AMQPScheme::AMQP => Ok(stream),
                    AMQPScheme::AMQPS => stream.into_rustls(&connector, &host).await.map_err(|e| {
                        let peer = format!("amqps://{host}:{port}");
                        lapin::Error::from(TlsFailure::wrap(e, peer, &trust))
                    }),
                }
            },
            properties,
        )
        .await
    }
}

impl HttpTls {
    /// Reads `HTTP_TLS_CERT_FILE` and `HTTP_TLS_KEY_FILE` (both or neither), checking
    /// now that they hold a certificate chain and its key.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<Option<HttpTls>, SettingsError> {
        let Some((cert_file, key_file)) = pair(lookup, "HTTP_TLS_CERT_FILE", "HTTP_TLS_KEY_FILE")?
        else {
            return Ok(None);
        };
        load_key_pair(
            (&cert_file, "HTTP_TLS_CERT_FILE"),
            (&key_file, "HTTP_TLS_KEY_FILE"),
        )?;
        Ok(Some(HttpTls {
            cert_file,
            key_file,
        }))
    }
}

/// A TLS handshake that failed because of the peer or our trust settings (an untrusted
/// or mismatched certificate, a peer that does not speak TLS): retrying will not help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("TLS with {peer} failed: {problem}")]
pub struct TlsFailure {
    /// `amqps://host:port` or `mysql://host:port`.
    pub peer: String,
    pub problem: String,
}

impl TlsFailure {
    /// Explains `err` when it holds a rustls error; otherwise returns it unchanged.
    fn wrap(err: io::Error, peer: String, trust: &str) -> io::Error {
        match find_rustls(&err) {
            Some(tls) => {
                let problem = explain(tls, trust);
                io::Error::new(io::ErrorKind::InvalidData, TlsFailure { peer, problem })
            }
            None => err,
        }
    }

    /// The failure inside a broker connection error, if it is one.
    pub fn in_amqp(err: &lapin::Error) -> Option<&TlsFailure> {
        match err.kind() {
            lapin::ErrorKind::IOError(io) => io.get_ref()?.downcast_ref::<TlsFailure>(),
            _ => None,
        }
    }

    /// The failure inside a database connection error, if it is one.
    pub fn in_mysql(err: &mysql_async::Error, peer: String, trust: &str) -> Option<TlsFailure> {
        if let mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) = err
        {
            return Some(TlsFailure {
                peer,
                problem: "the server does not offer TLS (it has no certificate configured)".into(),
            });
        }
        find_rustls(err).map(|tls| TlsFailure {
            peer,
            problem: explain(tls, trust),
        })
    }
}

/// How long the start-up check waits for one peer.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// At start-up: connects once to every peer this process reaches over TLS (the broker,
/// and with `database` the database) and fails if one cannot be verified or does not
/// speak TLS, so that a wrong CA or a plaintext port stops the process with a message
/// naming the peer instead of a reconnect loop. A peer that does not answer is left to
/// the reconnect loops: it may be starting too.
pub async fn check_peers(
    settings: &crate::Settings,
    name: &str,
    database: bool,
) -> Result<(), TlsFailure> {
    let tls = &settings.tls;
    for url in settings.amqp_url.split(',').map(str::trim) {
        if !url.to_ascii_lowercase().starts_with("amqps://") {
            continue;
        }
        let attempt = crate::broker::connect_with(url, name, tls);
        match tokio::time::timeout(CHECK_TIMEOUT, attempt).await {
            Ok(Ok(conn)) => {
                log::info!("{name}: TLS to the broker verified ({})", tls.trust());
                let _ = conn.close(200, "TLS checked".into()).await;
            }
            Ok(Err(e)) => match TlsFailure::in_amqp(&e) {
                Some(failure) => return Err(failure.clone()),
                None => log::debug!("{name}: TLS check of the broker left to the retries: {e}"),
            },
            Err(_) => log::debug!("{name}: the broker did not answer the TLS check"),
        }
    }
    if !database {
        return Ok(());
    }
    let urls = std::iter::once(&settings.database_url).chain(&settings.migration_database_url);
    for url in urls {
        let Ok(opts) = mysql_async::Opts::from_url(url) else {
            continue; // the pool reports a bad URL
        };
        let opts = tls.mysql_opts(opts);
        if opts.ssl_opts().is_none() {
            continue;
        }
        let peer = format!("mysql://{}:{}", opts.ip_or_hostname(), opts.tcp_port());
        match tokio::time::timeout(CHECK_TIMEOUT, mysql_async::Conn::new(opts)).await {
            Ok(Ok(conn)) => {
                log::info!("{name}: TLS to the database verified ({})", tls.trust());
                let _ = conn.disconnect().await;
            }
            Ok(Err(e)) => match TlsFailure::in_mysql(&e, peer, &tls.trust()) {
                Some(failure) => return Err(failure),
                None => log::debug!("{name}: TLS check of the database left to the retries: {e}"),
            },
            Err(_) => log::debug!("{name}: the database did not answer the TLS check"),
        }
    }
    Ok(())
}

/// The rustls error somewhere in `err`'s chain, looking inside I/O errors too (whose
/// `source` skips the error they wrap).
fn find_rustls<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
            if let Some(tls) = find_rustls(inner) {
                return Some(tls);
            }
        }
        next = e.source();
    }
    None
}

fn explain(err: &rustls::Error, trust: &str) -> String {
    use rustls::Error as E;
    match err {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("its certificate is not signed by a CA we trust ({trust})")
        }
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "its certificate is not issued for this host name or address (rustls checks \
              the subject alternative names, not the common name)"
            .into(),
        E::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "its certificate has expired".into(),
        E::InvalidCertificate(other) => format!("its certificate is not valid: {other:?}"),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "it does not speak TLS (a plaintext port? point the URL at the server's TLS port)"
                .into()
        }
        E::AlertReceived(alert) => format!(
            "it refused the handshake ({alert:?}): it may require a client certificate, \
             or one it trusts"
        ),
        other => other.to_string(),
    }
}

/// The rustls client configuration, always with the ring provider (a second provider
/// in the process would make rustls's implicit choice panic).
fn client_config(
    roots: RootCertStore,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, rustls::Error> {
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
    match identity {
        Some((certs, key)) => builder.with_client_auth_cert(certs, key),
        None => Ok(builder.with_no_client_auth()),
    }
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into());
    }
    Ok(certs)
}

type KeyPair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn load_key_pair(
    (cert, cert_var): (&Path, &'static str),
    (key, key_var): (&Path, &'static str),
) -> Result<KeyPair, SettingsError> {
    let pem = std::fs::read(cert).map_err(|e| invalid(cert_var, cert, e))?;
    let certs = certificates(&pem).map_err(|e| invalid(cert_var, cert, e))?;
    let key_pem = std::fs::read(key).map_err(|e| invalid(key_var, key, e))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(key_var, key, format!("no PEM private key: {e}")))?;
    Ok((certs, key_der))
}

fn invalid(name: &'static str, file: &Path, reason: impl fmt::Display) -> SettingsError {
    SettingsError {
        name,
        value: file.display().to_string(),
        reason: reason.to_string(),
    }
}

fn path(lookup: Lookup<'_>, name: &str) -> Option<PathBuf> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .map(|v| PathBuf::from(v.trim()))
}

/// Two variables that only make sense together.
fn pair(
    lookup: Lookup<'_>,
    first: &'static str,
    second: &'static str,
) -> Result<Option<(PathBuf, PathBuf)>, SettingsError> {
    match (path(lookup, first), path(lookup, second)) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (Some(a), None) => Err(SettingsError {
            name: second,
            value: String::new(),
            reason: format!("{first}={} is set: set {second} too", a.display()),
        }),
        (None, Some(b)) => Err(SettingsError {
            name: first,
            value: String::new(),
            reason: format!("{second}={} is set: set {first} too", b.display()),
        }),
    }
}

/// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`/empty.
fn flag(lookup: Lookup<'_>, name: &'static str) -> Result<bool, SettingsError> {
    let Some(value) = lookup(name) else {
        return Ok(false);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(SettingsError {
            name,
            value,
            reason: "expected 1 or 0 (true/false, yes/no, on/off)".into(),
        }),
    }
}
