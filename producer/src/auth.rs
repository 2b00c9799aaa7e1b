//! The optional bearer token (`API_TOKEN`) on every route that changes data, and its
//! secrecy: compared in constant time, never printed, never logged (Rocket's debug
//! dump of each request, which lists every header, is kept out of the log).
//! Unset, the assignment's open behaviour stays (and the producer warns at start).
//!
//! Which routes need it is not decided here: the table's handler calls [`authorize`]
//! first, for every row whose action changes data (`Shape::needs_token`).

use crate::error::ApiError;
use inventory::secret::Secret;
use rocket::request::Request;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The token every mutating request must carry, as managed state (it prints as `***`).
#[derive(Debug, Clone)]
pub struct ApiToken(pub Option<Secret>);

/// Whether the request may change data.
///
/// Fails with `Unauthorized` when a token is set and the request carries none, or
/// another one.
pub fn authorize(req: &Request<'_>) -> Result<(), ApiError> {
    let expected = req.rocket().state::<ApiToken>().and_then(|t| t.0.as_ref());
    let Some(expected) = expected else {
        return Ok(());
    };
    let given = req
        .headers()
        .get_one("Authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    match given {
        Some(token) if tokens_match(token, expected) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized(
            "the bearer token is not valid".into(),
        )),
        None => Err(ApiError::Unauthorized(
            "this route changes data: send Authorization: Bearer <API_TOKEN>".into(),
        )),
    }
}

/// Installs `builder`'s logger as the process's logger, minus Rocket's debug dumps of
/// requests and responses: at `RUST_LOG=debug` or `trace` Rocket would log every
/// request's headers, `Authorization: Bearer <token>` included.
pub fn install_logger(mut builder: env_logger::Builder) -> Result<(), log::SetLoggerError> {
    let logger = builder.build();
    let max = logger.filter();
    log::set_boxed_logger(Box::new(WithoutHeaderDumps(logger)))?;
    log::set_max_level(max);
    Ok(())
}

struct WithoutHeaderDumps<L>(L);

impl<L> WithoutHeaderDumps<L> {
    fn dumps_headers(metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "rocket::server" && metadata.level() >= log::Level::Debug
    }
}

impl<L: log::Log> log::Log for WithoutHeaderDumps<L> {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        !Self::dumps_headers(metadata) && self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !Self::dumps_headers(record.metadata()) {
            self.0.log(record);
        }
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// Whether `given` is the token, in time that depends on neither's content nor length:
/// both are hashed to 32 bytes first (a length mismatch cannot exit early, and the
/// hashing time depends only on the given token's own length), and the digests are
/// compared with `subtle`, whose comparison the optimiser cannot turn into an early exit.
fn tokens_match(given: &str, expected: &Secret) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.expose().as_bytes());
    given.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_equal() {
        let secret = Secret::from("secret");
        assert!(tokens_match("secret", &secret));
        assert!(!tokens_match("secreT", &secret));
        assert!(!tokens_match("secret2", &secret));
        assert!(!tokens_match("secre", &secret));
        assert!(!tokens_match("", &secret));
        assert!(!tokens_match("x", &Secret::from("")));
    }

    #[test]
    fn the_token_never_prints() {
        let state = ApiToken(Some(Secret::from("s3cret-token")));
        assert!(!format!("{state:?}").contains("s3cret"));
    }

    /// Records what reaches it.
    #[derive(Default)]
    struct Recorder(std::sync::Mutex<Vec<String>>);

    impl log::Log for Recorder {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
        fn flush(&self) {}
    }

    #[test]
    fn rockets_request_dumps_never_reach_the_log() {
        use log::Log;
        let logger = WithoutHeaderDumps(Recorder::default());
        let record = |target, level, text| {
            logger.log(
                &log::Record::builder()
                    .target(target)
                    .level(level)
                    .args(format_args!("{text}"))
                    .build(),
            )
        };
        record(
            "rocket::server",
            log::Level::Debug,
            "authorization: Bearer t0ken",
        );
        record(
            "rocket::server",
            log::Level::Trace,
            "authorization: Bearer t0ken",
        );
        record("rocket::server", log::Level::Info, "POST /insert_record");
        record("producer", log::Level::Debug, "ours");
        let seen = logger.0 .0.lock().unwrap().clone();
        assert_eq!(seen, ["POST /insert_record", "ours"]);
        let dump = log::MetadataBuilder::new()
            .target("rocket::server")
            .level(log::Level::Debug)
            .build();
        assert!(!logger.enabled(&dump));
    }
}
