//! Browsers fetch links before anyone follows them: prefetch, prerender, previews of a
//! pasted link. A `GET` that inserts or deletes must not act on those, or a page that
//! merely links `/delete_record/<SRN>` would delete it. The table's handler refuses
//! such a request (403 `prefetch_refused`) on every row that `refuses_prefetch`; the
//! same request without these headers, sent when a person follows the link, acts.
//!
//! A `HEAD` of those rows is refused too: Rocket answers `HEAD` with the `GET` route,
//! and link checkers send `HEAD` to every link they find. Rocket turns the method into
//! `GET` before the route runs, so the URI-normalising fairing notes it first
//! ([`note_method`]).

use rocket::http::Method;
use rocket::Request;

/// Whether a header's value (lower-cased) marks a speculative request.
type Marks = fn(&str) -> bool;

/// Headers that mark a speculative request, and how to recognise their value.
const SPECULATIVE: &[(&str, Marks)] = &[
    // Chrome's and the Fetch standard's prefetch and prerender.
    ("Sec-Purpose", |v| {
        v.contains("prefetch") || v.contains("prerender")
    }),
    // Chrome and Safari before Sec-Purpose.
    ("Purpose", |v| {
        v.contains("prefetch") || v.contains("prerender")
    }),
    // Firefox.
    ("X-Moz", |v| v.contains("prefetch")),
    // Link previews (Safari's top sites, some chat clients).
    ("X-Purpose", |v| {
        v.contains("preview") || v.contains("prefetch")
    }),
];

/// The method the client sent, noted before routing.
struct Requested(Method);

/// Notes the request's method as sent; call before routing (a request fairing).
pub fn note_method(req: &Request<'_>) {
    req.local_cache(|| Requested(req.method()));
}

/// Whether `req` is a prefetch, a prerender, a preview or a `HEAD`.
pub fn is_speculative(req: &Request<'_>) -> bool {
    req.local_cache(|| Requested(req.method())).0 == Method::Head
        || SPECULATIVE.iter().any(|(name, matches)| {
            req.headers()
                .get(name)
                .any(|value| matches(&value.to_ascii_lowercase()))
        })
}

/// The header each kind of speculative request sends, for tests and documentation.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("Purpose", "prefetch"),
    ("Sec-Purpose", "prefetch"),
    ("Sec-Purpose", "prefetch;prerender"),
    ("X-Moz", "prefetch"),
    ("X-Purpose", "preview"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::local::blocking::Client;

    #[test]
    fn every_example_and_head_is_speculative_and_a_plain_get_is_not() {
        let client = Client::untracked(rocket::build()).unwrap();
        for (name, value) in EXAMPLES {
            let req = client
                .get("/")
                .header(rocket::http::Header::new(*name, *value));
            assert!(is_speculative(req.inner()), "{name}: {value}");
        }
        let upper = client
            .get("/")
            .header(rocket::http::Header::new("Sec-Purpose", "Prefetch"));
        assert!(is_speculative(upper.inner()));
        assert!(is_speculative(client.head("/").inner()));
        let plain = client
            .get("/")
            .header(rocket::http::Header::new("Purpose", "navigate"));
        assert!(!is_speculative(plain.inner()));
    }
}
