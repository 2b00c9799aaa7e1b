//! The Rocket side of reading a request's input: the body, read under `MAX_BODY_BYTES`,
//! the raw query string, and the raw path segments. What the bytes mean (JSON, forms,
//! field names) is `protocol::body`'s and `protocol::fields`'s, with no HTTP server
//! behind them.

use crate::error::ApiError;
use rocket::data::{Data, ToByteUnit};
use rocket::request::Request;

/// The largest request body read, as managed state (from `MAX_BODY_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub u64);

/// How long a request body may take to arrive, as managed state (from
/// `HTTP_BODY_TIMEOUT_MS`): a client trickling its body cannot hold a request open.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub std::time::Duration);

/// Reads the request body under the managed [`BodyLimit`].
///
/// Fails with `PayloadTooLarge` past the limit, or `BadRequest` when the connection
/// fails mid-body.
pub async fn read_body(req: &Request<'_>, data: Data<'_>) -> Result<Vec<u8>, ApiError> {
    let limit = req.rocket().state::<BodyLimit>().map_or(64 * 1024, |l| l.0);
    let deadline = req
        .rocket()
        .state::<BodyTimeout>()
        .map_or(std::time::Duration::from_secs(10), |t| t.0);
    read_capped(data, limit, deadline).await
}

/// The query string as sent (still percent-encoded), if there is one.
pub fn raw_query<'r>(req: &'r Request<'_>) -> Option<&'r str> {
    req.uri().query().map(|q| q.as_str())
}

/// The `n`th non-empty path segment as sent (still percent-encoded). Rocket's own
/// `routed_segment` is decoded already, replacing invalid UTF-8; `protocol::body`
/// decodes exactly once, strictly.
pub fn raw_segment<'r>(req: &'r Request<'_>, n: usize) -> Option<&'r str> {
    req.uri()
        .path()
        .raw_segments()
        .filter(|s| !s.is_empty())
        .nth(n)
        .map(|s| s.as_str())
}

/// Most of an oversized body read (and dropped) before answering 413. Answering while
/// the client is still sending makes the connection close under it, and many clients
/// then report a reset instead of the 413; past this much, closing is the lesser evil.
const DRAIN_MAX: u64 = 8 * 1024 * 1024;

/// Reads at most `limit` bytes of body within `deadline`; a longer body is
/// `PayloadTooLarge`, after reading the rest (up to [`DRAIN_MAX`], within what is left of
/// the deadline) so that the client gets to read the answer. A body not complete within
/// the deadline is `BodyTimeout` (408); the connection is then closed, since the rest of
/// the body is never read.
async fn read_capped(
    data: Data<'_>,
    limit: u64,
    deadline: std::time::Duration,
) -> Result<Vec<u8>, ApiError> {
    use tokio::io::AsyncReadExt;
    use tokio::time::{timeout, Instant};
    let started = Instant::now();
    let unreadable =
        |e: std::io::Error| ApiError::BadRequest(format!("request body could not be read: {e}"));
    let mut stream = data.open(DRAIN_MAX.max(limit + 1).bytes());
    let mut body = Vec::new();
    timeout(
        deadline,
        (&mut stream).take(limit + 1).read_to_end(&mut body),
    )
    .await
    .map_err(|_| ApiError::BodyTimeout(deadline))?
    .map_err(unreadable)?;
    if body.len() as u64 > limit {
        let left = deadline.saturating_sub(started.elapsed());
        let _ = timeout(left, tokio::io::copy(&mut stream, &mut tokio::io::sink())).await;
        return Err(ApiError::PayloadTooLarge(limit));
    }
    Ok(body)
}
