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

mod amqp;
mod failure;
mod files;

pub use failure::{check_peers, TlsFailure};

use crate::secret::SecretUrl;
use crate::settings::SettingsError;
use amqp::client_config;
use files::{certificates, flag, invalid, load_key_pair, pair, path, Lookup};
use rustls::{ClientConfig, RootCertStore};
use std::fmt;
use std::path::PathBuf;
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
            .get_or_init(|| ClientTls {
                required: false,
                ca: None,
                client_certificate: None,
                amqp: Arc::new(
                    client_config(public_roots(), None)
                        .expect("the ring provider supports TLS 1.2+"),
                ),
            })
            .clone()
    }
}

/// Mozilla's roots, bundled: what is trusted when `TLS_CA_FILE` is unset.
fn public_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
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

impl ClientTls {
    /// Reads `TLS_REQUIRED`, `TLS_CA_FILE` and `AMQP_TLS_CLIENT_CERT_FILE`/`_KEY_FILE`,
    /// loading the files now so that a missing or malformed one stops the process at
    /// start with the variable's name.
    pub fn from_lookup(lookup: Lookup<'_>) -> Result<ClientTls, SettingsError> {
        let required = flag(lookup, "TLS_REQUIRED")?;
        let identity = pair(
            lookup,
            "AMQP_TLS_CLIENT_CERT_FILE",
            "AMQP_TLS_CLIENT_KEY_FILE",
        )?;
        let (roots, ca) = match path(lookup, "TLS_CA_FILE") {
            None if identity.is_none() => {
                return Ok(ClientTls {
                    required,
                    ..ClientTls::default()
                })
            }
            None => (public_roots(), None),
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
