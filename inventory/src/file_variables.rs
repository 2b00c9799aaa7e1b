//! `X_FILE` names a file holding the value of setting X when X itself is unset: the way
//! container platforms hand out secrets (docker-compose's generated credentials, Docker
//! and Kubernetes secrets) without putting them in the environment. Settings read
//! through [`with_files`] get the rule for every variable.

use crate::settings::SettingsError;
use std::cell::RefCell;

/// Runs `read_settings` with a lookup that falls back to `X_FILE` for an unset `X`.
/// A file that cannot be read, or a variable set both ways, is the error returned
/// (before any error of `read_settings`, which it may have caused).
pub fn with_files<T>(
    lookup: impl Fn(&str) -> Option<String>,
    read_file: impl Fn(&str) -> std::io::Result<String>,
    read_settings: impl FnOnce(&dyn Fn(&str) -> Option<String>) -> Result<T, SettingsError>,
) -> Result<T, SettingsError> {
    let failure = RefCell::new(None);
    let resolved = |name: &str| {
        let file_variable = format!("{name}_FILE");
        let path = lookup(&file_variable);
        let direct = lookup(name);
        let fail = |reason: String, value: String| {
            failure.borrow_mut().get_or_insert(SettingsError {
                // The error ends the process at start-up: leaking the one name it
                // carries is cheaper than a second error type.
                name: Box::leak(file_variable.clone().into_boxed_str()),
                value,
                reason,
            });
            None
        };
        match (direct, path) {
            (Some(value), None) => Some(value),
            (None, None) => None,
            (Some(_), Some(path)) => fail(format!("{name} is set too: set one of them"), path),
            (None, Some(path)) => match read_file(&path) {
                Ok(text) => Some(text.trim_end_matches(['\n', '\r']).to_owned()),
                Err(e) => fail(format!("cannot read the file: {e}"), path),
            },
        }
    };
    let result = read_settings(&resolved);
    match failure.into_inner() {
        Some(error) => Err(error),
        None => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;
    use std::collections::HashMap;
    use std::io;

    fn settings(vars: &[(&str, &str)], files: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let files: HashMap<String, String> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        with_files(
            |name| vars.get(name).cloned(),
            |path| {
                files
                    .get(path)
                    .cloned()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
            },
            |lookup| Settings::from_lookup(lookup),
        )
    }

    #[test]
    fn a_file_gives_the_value_without_its_final_newline() {
        let s = settings(
            &[
                ("AMQP_URL_FILE", "/run/secrets/amqp_url"),
                ("HTTP_PORT_FILE", "/port"),
            ],
            &[
                ("/run/secrets/amqp_url", "amqp://u:p@broker/%2f\n"),
                ("/port", "9001\r\n"),
            ],
        )
        .unwrap();
        assert_eq!(s.amqp_url.expose(), "amqp://u:p@broker/%2f");
        assert_eq!(s.http_port, 9001, "every setting, parsed as usual");
    }

    #[test]
    fn the_variable_itself_still_works_and_both_is_an_error() {
        let s = settings(&[("DATABASE_URL", "mysql://direct/x")], &[]).unwrap();
        assert_eq!(s.database_url.expose(), "mysql://direct/x");
        let err = settings(
            &[("DATABASE_URL", "mysql://a/x"), ("DATABASE_URL_FILE", "/f")],
            &[("/f", "mysql://b/x")],
        )
        .unwrap_err();
        assert_eq!(err.name, "DATABASE_URL_FILE");
        assert!(err.reason.contains("DATABASE_URL is set too"), "{err}");
    }

    #[test]
    fn an_unreadable_file_names_its_variable_and_path() {
        let err = settings(&[("MIGRATION_DATABASE_URL_FILE", "/missing")], &[]).unwrap_err();
        assert_eq!(err.name, "MIGRATION_DATABASE_URL_FILE");
        assert_eq!(err.value, "/missing");
        assert!(err.to_string().contains("cannot read the file"), "{err}");
    }

    #[test]
    fn a_bad_value_in_a_file_is_reported_like_a_bad_variable() {
        let err = settings(&[("HTTP_PORT_FILE", "/port")], &[("/port", "eighty")]).unwrap_err();
        assert_eq!(err.name, "HTTP_PORT");
    }
}
