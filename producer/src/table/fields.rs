//! A row's fields, read from where its `Source` says: the path's parameters, then the
//! body, then the query string (an earlier source wins a field given twice).

use crate::error::ApiError;
use crate::input;
use protocol::body::{self, BodyKind, Declared};
use protocol::fields::Fields;
use protocol::shapes::{Shape, Source};
use rocket::{Data, Request};

/// Reads the fields `shape` takes from `req`.
///
/// Fails with 400 (unreadable), 413 (body too large), 415 (a body type the row does not
/// read) or 422 (a field repeated).
pub async fn read(shape: &Shape, req: &Request<'_>, data: Data<'_>) -> Result<Fields, ApiError> {
    let mut fields = body::read_path(&path_params(shape, req))?;
    let content_type = req.headers().get_one("Content-Type");
    match shape.source {
        Source::Path => {}
        Source::Query => {}
        Source::BodyAndQuery => {
            let bytes = input::read_body(req, data).await?;
            fields.fill_from(body::read_body(content_type, &bytes)?);
        }
        Source::JsonBody => {
            if body::declared(content_type) != Declared::Kind(BodyKind::Json) {
                return Err(ApiError::UnsupportedMediaType(
                    "this route takes JSON: send Content-Type: application/json".into(),
                ));
            }
            let bytes = input::read_body(req, data).await?;
            fields.fill_from(body::read_body(content_type, &bytes)?);
        }
    }
    if shape.source.reads_query() {
        fields.fill_from(body::read_query(input::raw_query(req))?);
    }
    Ok(fields)
}

/// Each path parameter's name and its segment as sent, by its position in the row's
/// path (rows are mounted at `/`, so positions count from the path's start).
fn path_params<'r>(shape: &Shape, req: &'r Request<'_>) -> Vec<(&'static str, &'r str)> {
    shape
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .enumerate()
        .filter_map(|(n, segment)| {
            let name = segment.strip_prefix('<')?.strip_suffix('>')?;
            Some((name, input::raw_segment(req, n)?))
        })
        .collect()
}
