//! `amqps://` through our own rustls configuration (never lapin's root store), and
//! the errors of a handshake explained.

use super::failure::{explain, find_rustls, TlsFailure, CHECK_TIMEOUT};
use super::ClientTls;
use lapin::tcp::{AsyncTcpStream, RustlsConnector};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Connection, ConnectionProperties};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::io;
use std::sync::Arc;

impl ClientTls {
    /// Opens an AMQP connection: TCP, then for `amqps://` a TLS handshake with this
    /// configuration (never lapin's own root store), then the AMQP handshake. A failed
    /// TLS handshake, or an `amqp://` URL answered in TLS, is an I/O error holding a
    /// [`TlsFailure`].
    pub async fn connect_amqp(
        &self,
        uri: AMQPUri,
        properties: ConnectionProperties,
    ) -> lapin::Result<Connection> {
        let (host, port) = (uri.authority.host.clone(), uri.authority.port);
        let secure = uri.scheme == AMQPScheme::AMQPS;
        let runtime = lapin::runtime::default_runtime()?;
        let connector = RustlsConnector::from(self.amqp.clone());
        let connected = Connection::connector(
            uri,
            runtime,
            async move |uri: AMQPUri, runtime| {
                let host = uri.authority.host.clone();
                let addrs = runtime.to_socket_addrs((host.clone(), uri.authority.port));
                let stream = AsyncTcpStream::connect(&runtime, addrs).await?;
                match uri.scheme {
                    AMQPScheme::AMQP => Ok(stream),
                    AMQPScheme::AMQPS => Ok(stream.into_rustls(&connector, &host).await?),
                }
            },
            properties,
        )
        .await;
        let err = match connected {
            Ok(conn) => return Ok(conn),
            Err(err) => err,
        };
        let failure = if secure {
            // The handshake failed, or (TLS 1.3) the server refused our client
            // certificate after our side was done, in an alert on the first read.
            let lapin::ErrorKind::IOError(io) = err.kind() else {
                return Err(err);
            };
            let Some(tls) = find_rustls(io.as_ref()) else {
                return Err(err);
            };
            TlsFailure {
                peer: format!("amqps://{host}:{port}"),
                problem: explain(tls, &self.trust()),
            }
        } else if dropped_at_start(&err) && self.speaks_tls(&host, port).await {
            // A TLS-only port answers the AMQP protocol header with a TLS alert (which
            // lapin calls unparseable) or a reset; a TLS handshake tells.
            TlsFailure {
                peer: format!("amqp://{host}:{port}"),
                problem: "a TLS-only port: use amqps:// (and TLS_CA_FILE)".into(),
            }
        } else {
            return Err(err);
        };
        Err(io::Error::new(io::ErrorKind::InvalidData, failure).into())
    }

    /// Whether the server at `host:port` answers a TLS handshake (with a certificate,
    /// trusted or not). Nothing but the handshake is sent.
    async fn speaks_tls(&self, host: &str, port: u16) -> bool {
        let Ok(runtime) = lapin::runtime::default_runtime() else {
            return false;
        };
        let connector = RustlsConnector::from(self.amqp.clone());
        let handshake = async {
            let addrs = runtime.to_socket_addrs((host.to_owned(), port));
            let stream = AsyncTcpStream::connect(&runtime, addrs).await?;
            stream.into_rustls(&connector, host).await
        };
        match tokio::time::timeout(CHECK_TIMEOUT, handshake).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => matches!(
                find_rustls(&e),
                Some(rustls::Error::InvalidCertificate(_) | rustls::Error::AlertReceived(_))
            ),
            Err(_) => false,
        }
    }
}

/// The connection failed before the AMQP handshake: an unparseable answer, or the
/// server closing on us.
fn dropped_at_start(err: &lapin::Error) -> bool {
    match err.kind() {
        lapin::ErrorKind::ParsingError(_) => true,
        lapin::ErrorKind::IOError(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// The rustls client configuration, always with the ring provider (a second provider
/// in the process would make rustls's implicit choice panic).
pub(super) fn client_config(
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
