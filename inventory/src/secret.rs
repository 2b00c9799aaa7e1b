//! Values that must never be printed: passwords inside connection URLs and the API
//! token. Their `Debug` and `Display` hide the secret, so a log line, an error message,
//! a panic message or `{:?}` of the settings cannot leak it by accident; the code that
//! needs the real text asks for it by name ([`Secret::expose`], [`SecretUrl::expose`]).
//!
//! lapin's and mysql_async's own connection options derive `Debug` with the password
//! in clear: they are built at the moment of connecting and never logged.

use std::fmt;
use std::ops::Deref;

/// What both secret types share: made from text, and the text given back only by
/// name. How each prints is its own.
macro_rules! secret_text {
    ($(#[$doc:meta])* $type:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $type(String);

        impl $type {
            pub fn new(value: impl Into<String>) -> $type {
                $type(value.into())
            }

            /// The text with its secret, for the code that compares, sends or connects
            /// with it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $type {
            fn from(value: String) -> Self {
                $type(value)
            }
        }

        impl From<&str> for $type {
            fn from(value: &str) -> Self {
                $type(value.to_owned())
            }
        }
    };
}

secret_text! {
    /// A password or token. Prints as `***`.
    Secret
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

secret_text! {
    /// A connection URL that may carry a password (`scheme://user:password@host/...`),
    /// or several comma-separated (a cluster). Prints with every password replaced by
    /// `***`.
    ///
    /// It dereferences to the full text, so it can be handed to code that connects
    /// (`broker::connect(&settings.amqp_url, ..)`); formatting it never shows the
    /// password.
    SecretUrl
}

impl SecretUrl {
    /// The URL(s) with every password replaced, for log lines and error messages.
    pub fn redacted(&self) -> String {
        self.0
            .split(',')
            .map(|u| redact(u.trim()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Deref for SecretUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SecretUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// One URL with its password replaced: `scheme://user:password@host…` becomes
/// `scheme://user:***@host…`. The user information ends at the last `@` of the
/// authority (a password may hold an unencoded `@`), before any `/`, `?` or `#`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let Some((user, _password)) = userinfo.split_once(':') else {
        return url.to_owned();
    };
    let scheme = scheme.map(|s| format!("{s}://")).unwrap_or_default();
    format!("{scheme}{user}:***@{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_print_without_their_password() {
        let url = SecretUrl::from("amqps://producer:hunter2@broker:5671/%2f?frame_max=8192");
        for shown in [format!("{url}"), format!("{url:?}"), url.redacted()] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(
                shown.contains("producer:***@broker:5671/%2f?frame_max=8192"),
                "{shown}"
            );
        }
        // The code that connects still gets the whole URL.
        assert_eq!(
            url.expose(),
            "amqps://producer:hunter2@broker:5671/%2f?frame_max=8192"
        );
        assert!(url.starts_with("amqps://producer:hunter2@"));
    }

    #[test]
    fn every_url_of_a_cluster_is_redacted() {
        let url = SecretUrl::from("amqp://a:x1@h1/%2f, amqp://a:y2@h2/%2f");
        assert_eq!(url.to_string(), "amqp://a:***@h1/%2f,amqp://a:***@h2/%2f");
    }

    #[test]
    fn awkward_passwords_are_redacted_too() {
        // An unencoded `@` in the password, and an `@` in the query after the host.
        assert_eq!(
            redact("mysql://u:p@ss@db:3306/x?note=a@b"),
            "mysql://u:***@db:3306/x?note=a@b"
        );
        assert_eq!(redact("u:secret@host:5672"), "u:***@host:5672");
        // Nothing to hide: left as it is.
        assert_eq!(redact("amqp://host/%2f"), "amqp://host/%2f");
        assert_eq!(redact("amqp://user@host/%2f"), "amqp://user@host/%2f");
    }

    #[test]
    fn tokens_print_as_stars() {
        let token = Secret::from("s3cret-token");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(format!("{token:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(token.clone())), "Some(Secret(***))");
        assert_eq!(token.expose(), "s3cret-token");
    }
}
