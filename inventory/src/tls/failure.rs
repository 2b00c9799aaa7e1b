//! A TLS handshake that failed, explained with the peer's name; and the start-up check
//! that turns such a failure into a refusal to start.

use rustls::CertificateError;
use std::error::Error as StdError;
use std::io;

/// A TLS handshake that failed because of the peer or our trust settings (an untrusted
/// or mismatched certificate, a peer that does not speak TLS): retrying will not help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{peer}: {problem}")]
pub struct TlsFailure {
    /// `amqps://host:port` or `mysql://host:port`.
    pub peer: String,
    pub problem: String,
}

impl TlsFailure {
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
pub(super) const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// At start-up: connects once to each peer (every broker URL, and with `database` the
/// database) and fails if a TLS peer cannot be verified or does not speak TLS, or an
/// `amqp://` URL reaches a TLS-only port, so that a wrong CA or a wrong port stops the
/// process with a message naming the peer instead of a reconnect loop. A peer that does
/// not answer is left to the reconnect loops: it may be starting too.
pub async fn check_peers(
    settings: &crate::Settings,
    name: &str,
    database: bool,
) -> Result<(), TlsFailure> {
    let tls = &settings.tls;
    for url in settings.amqp_url.split(',').map(str::trim) {
        let secure = url.to_ascii_lowercase().starts_with("amqps://");
        let attempt = crate::broker::connect_with(url, name, tls);
        match tokio::time::timeout(CHECK_TIMEOUT, attempt).await {
            Ok(Ok(conn)) => {
                if secure {
                    log::info!("{name}: TLS to the broker verified ({})", tls.trust());
                }
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
        let secure = opts.ssl_opts().is_some();
        let peer = format!("mysql://{}:{}", opts.ip_or_hostname(), opts.tcp_port());
        match tokio::time::timeout(CHECK_TIMEOUT, mysql_async::Conn::new(opts)).await {
            Ok(Ok(conn)) => {
                if secure {
                    log::info!("{name}: TLS to the database verified ({})", tls.trust());
                }
                let _ = conn.disconnect().await;
            }
            Ok(Err(e)) => match TlsFailure::in_mysql(&e, peer.clone(), &tls.trust()) {
                Some(failure) => return Err(failure),
                // MariaDB refuses a plaintext login to a server that requires TLS with
                // the same "access denied" as a wrong password.
                None if !secure
                    && matches!(&e, mysql_async::Error::Server(s) if s.code == 1045) =>
                {
                    log::warn!(
                        "{name}: {peer} refused a plaintext login ({e}): a wrong password, or \
                         a server that accepts only TLS (then set TLS_REQUIRED=1)"
                    );
                }
                None => log::debug!("{name}: TLS check of the database left to the retries: {e}"),
            },
            Err(_) => log::debug!("{name}: the database did not answer the TLS check"),
        }
    }
    Ok(())
}

/// The rustls error somewhere in `err`'s chain, looking inside I/O errors too (whose
/// `source` skips the error they wrap).
pub(super) fn find_rustls<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
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

pub(super) fn explain(err: &rustls::Error, trust: &str) -> String {
    format!("TLS handshake failed: {}", explain_rustls(err, trust))
}

fn explain_rustls(err: &rustls::Error, trust: &str) -> String {
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
