//! What every request goes through before routing: an over-long URI is sent to the JSON
//! 414 route, doubled slashes become one (`//health_check`), and a trailing slash is
//! dropped (`/insert_record/`). Fairings cannot answer, only reroute; the rules are
//! `protocol::shapes::NORMALISATION` (field names and quoted SRNs are the parsers').

use crate::error::ApiError;
use crate::table::prefetch;
use rocket::fairing::AdHoc;
use rocket::get;
use rocket::http::uri::Origin;
use rocket::http::Method;
use rocket::Request;

/// Longest request URI served. Hyper itself answers a plain-text 414 only past 64 KiB;
/// below that, this limit gives the JSON one.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Where over-long URIs are rerouted.
pub const URI_TOO_LONG_PATH: &str = "/_errors/uri_too_long";

/// The fairing that applies the rules to every request.
pub fn fairing() -> AdHoc {
    AdHoc::on_request("normalise URI", |req, _| {
        Box::pin(async move { normalise(req) })
    })
}

#[get("/_errors/uri_too_long")]
pub fn uri_too_long() -> ApiError {
    ApiError::UriTooLong(MAX_URI_BYTES)
}

fn normalise(req: &mut Request<'_>) {
    prefetch::note_method(req);
    let length = req.uri().path().len() + req.uri().query().map_or(0, |q| q.len() + 1);
    if length > MAX_URI_BYTES {
        req.set_method(Method::Get);
        if let Ok(origin) = Origin::parse_owned(URI_TOO_LONG_PATH.into()) {
            req.set_uri(origin);
        }
        return;
    }
    let Some(path) = normal_path(req.uri().path().as_str()) else {
        return;
    };
    let uri = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    if let Ok(origin) = Origin::parse_owned(uri) {
        req.set_uri(origin);
    }
}

/// `path` with runs of `/` made one and a trailing `/` dropped, if that changes it.
/// Swagger UI serves its page at `/api-docs/` and redirects the slash-less form there,
/// so that one keeps its slash.
fn normal_path(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.len() > 1 && out.ends_with('/') && !out.starts_with("/api-docs/") {
        out.pop();
    }
    (out != path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::normal_path;

    #[test]
    fn doubled_and_trailing_slashes_go() {
        for (path, expected) in [
            ("//health_check", Some("/health_check")),
            ("/insert_record/", Some("/insert_record")),
            ("///delete_record//A1//", Some("/delete_record/A1")),
            ("//", Some("/")),
            ("/", None),
            ("/health_check", None),
            ("/api-docs/", None),
            ("/api-docs//index.css", Some("/api-docs/index.css")),
        ] {
            assert_eq!(normal_path(path).as_deref(), expected, "{path}");
        }
    }
}
