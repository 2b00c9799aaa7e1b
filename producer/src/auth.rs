//! The optional bearer token (`API_TOKEN`) on every route that changes data.
//! Unset, the assignment's open behaviour stays (and the producer warns at start).
//!
//! Which routes need it is not decided here: the table's handler calls [`authorize`]
//! first, for every row whose action changes data (`Shape::needs_token`).

use crate::error::ApiError;
use rocket::request::Request;

/// The token every mutating request must carry, as managed state.
#[derive(Debug, Clone)]
pub struct ApiToken(pub Option<String>);

/// Whether the request may change data.
///
/// Fails with `Unauthorized` when a token is set and the request carries none, or
/// another one.
pub fn authorize(req: &Request<'_>) -> Result<(), ApiError> {
    let expected = req
        .rocket()
        .state::<ApiToken>()
        .and_then(|t| t.0.as_deref());
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
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::Unauthorized(
            "the bearer token is not valid".into(),
        )),
        None => Err(ApiError::Unauthorized(
            "this route changes data: send Authorization: Bearer <API_TOKEN>".into(),
        )),
    }
}

/// Compares without an early exit, so response time does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_equal() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
