//! Reading the TLS variables and their PEM files, with errors naming the variable.

use crate::settings::SettingsError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::{Path, PathBuf};

pub(super) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(super) fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into());
    }
    Ok(certs)
}

pub(super) type KeyPair = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

pub(super) fn load_key_pair(
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

pub(super) fn invalid(name: &'static str, file: &Path, reason: impl fmt::Display) -> SettingsError {
    SettingsError {
        name,
        value: file.display().to_string(),
        reason: reason.to_string(),
    }
}

pub(super) fn path(lookup: Lookup<'_>, name: &str) -> Option<PathBuf> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .map(|v| PathBuf::from(v.trim()))
}

/// Two variables that only make sense together.
pub(super) fn pair(
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
pub(super) fn flag(lookup: Lookup<'_>, name: &'static str) -> Result<bool, SettingsError> {
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
