//! One function per fuzz target: how it reads libFuzzer's bytes, and which parsers of
//! `protocol` it drives with them. What must hold of their results is in [`crate::check`].
//!
//! Inputs that choose something (a content type, a row of the shapes table) do so with
//! their first byte, `a` for the first choice, `b` for the second and so on (wrapping
//! around), so that seed files stay readable and every byte value picks something.

use crate::check;
use protocol::body::{read_body, read_path, read_query, BodyKind};
use protocol::fields::Fields;
use protocol::input::read_input;
use protocol::message::{ReadReply, Reply, Request, TableVersion};
use protocol::shapes::{Action, Family, SHAPES};
use std::borrow::Cow;

/// The targets, by the names of their binaries in `fuzz_targets/`.
pub const TARGETS: [&str; 5] = ["body", "query", "path", "message", "record"];

/// Runs one target on one input, as its fuzz binary does.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "body" => body(data),
        "query" => query(data),
        "path" => path(data),
        "message" => message(data),
        "record" => record(data),
        other => panic!("no fuzz target named {other}"),
    }
}

/// The `Content-Type` a `body` input declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// No header at all.
    Absent,
    Fixed(&'static str),
    /// The input's first line is the header's value, whatever it is.
    FirstLine,
}

/// What the `body` target's first byte picks from: every kind `read_body` tells apart,
/// the boundaries clients send, the types that mean "nothing said", and garbage.
pub const CONTENT_TYPES: &[ContentType] = &[
    ContentType::Absent,
    ContentType::Fixed("application/json"),
    ContentType::Fixed("application/json; charset=utf-8"),
    ContentType::Fixed("application/merge-patch+json"),
    ContentType::Fixed("application/x-www-form-urlencoded"),
    ContentType::Fixed("application/x-www-form-urlencoded; charset=UTF-8"),
    ContentType::Fixed("multipart/form-data; boundary=XyZ"),
    // curl's, and a quoted one with a separator inside.
    ContentType::Fixed("multipart/form-data; boundary=------------------------d74496d66958873e"),
    ContentType::Fixed("multipart/form-data; boundary=\"a; b=c\""),
    ContentType::Fixed("Multipart/Form-Data; Boundary=XyZ"),
    ContentType::Fixed("multipart/form-data"),
    ContentType::Fixed("multipart/form-data; boundary="),
    ContentType::Fixed("text/plain"),
    ContentType::Fixed("text/plain; charset=utf-8"),
    ContentType::Fixed("*/*"),
    ContentType::Fixed(""),
    ContentType::Fixed("garbage"),
    ContentType::Fixed("application/xml"),
    ContentType::Fixed("text/html"),
    ContentType::Fixed("application/octet-stream"),
    ContentType::FirstLine,
];

/// The index of the choice, out of `count`, that a selector byte makes: `a` is the first.
pub fn choice(selector: u8, count: usize) -> usize {
    usize::from(selector.wrapping_sub(b'a')) % count
}

/// The choice a selector byte makes.
pub fn pick<T>(choices: &[T], selector: u8) -> &T {
    &choices[choice(selector, choices.len())]
}

/// The selector byte that picks `choices[index]`.
pub fn selector(index: usize) -> u8 {
    b'a'.wrapping_add(u8::try_from(index).expect("fewer than 256 choices"))
}

/// Splits a `body` input into the declared content type and the body.
pub fn body_input(data: &[u8]) -> Option<(Option<Cow<'_, str>>, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some(match pick(CONTENT_TYPES, first) {
        ContentType::Absent => (None, rest),
        ContentType::Fixed(value) => (Some(Cow::Borrowed(*value)), rest),
        ContentType::FirstLine => {
            let (line, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &b""[..]),
            };
            (Some(String::from_utf8_lossy(line)), body)
        }
    })
}

/// `body`: a body under a content type, as `read_body` reads it; then what every
/// action of the table makes of its fields.
pub fn body(data: &[u8]) {
    let Some((content_type, bytes)) = body_input(data) else {
        return;
    };
    let result = read_body(content_type.as_deref(), bytes);
    check::body(content_type.as_deref(), bytes, &result);
    if let Ok(fields) = result {
        every_route(fields);
    }
}

/// `query`: a query string, as `read_query` reads it; it must read as the same bytes
/// sent as a URL-encoded form body do, and filling its fields from themselves (as the
/// producer fills a body's from the query's) must change nothing. Then what every
/// action makes of its fields.
pub fn query(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let result = read_query(Some(&query));
    if !query.bytes().all(|b| b.is_ascii_whitespace()) {
        let form = read_body(Some(BodyKind::Form.content_type()), query.as_bytes());
        match (&result, &form) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "query and form read {query:?} apart"),
            (Err(_), Err(_)) => {}
            _ => panic!("query {result:?} but form {form:?} for {query:?}"),
        }
    }
    if let Ok(fields) = result {
        let mut filled = fields.clone();
        filled.fill_from(fields.clone());
        assert_eq!(filled, fields, "filled from itself");
        every_route(fields);
    }
}

/// How a `path` input is split: the row its first byte picks, and the raw segments for
/// the row's path parameters, separated by `/` (the last takes the rest).
pub fn path_input(data: &[u8]) -> Option<(usize, Vec<String>)> {
    let (&first, rest) = data.split_first()?;
    let row = choice(first, SHAPES.len());
    let params = SHAPES[row].path_params().count();
    let text = String::from_utf8_lossy(rest);
    let segments: Vec<String> = match params {
        0 => Vec::new(),
        n => text.splitn(n, '/').map(str::to_owned).collect(),
    };
    (segments.len() == params).then_some((row, segments))
}

/// `path`: a row of the shapes table and its path parameters, read as the producer
/// reads them, then read for the row's action.
pub fn path(data: &[u8]) {
    let Some((row, segments)) = path_input(data) else {
        return;
    };
    let shape = &SHAPES[row];
    let params: Vec<(&str, &str)> = shape
        .path_params()
        .zip(segments.iter().map(String::as_str))
        .collect();
    let Ok(fields) = read_path(&params) else {
        return;
    };
    if let Ok(input) = read_input(shape.action, shape.family, fields) {
        check::input(shape.action, shape.family, &input);
    }
}

/// `message`: the same bytes as a request, a reply, a read reply, and a table version.
pub fn message(data: &[u8]) {
    if let Ok(request) = Request::decode(data) {
        check::request(&request);
    }
    let reply = Reply::decode(data);
    if let Ok(reply) = &reply {
        check::reply(reply);
    }
    let read_reply = ReadReply::decode(data);
    check::read_reply(data, reply.as_ref().ok(), read_reply.as_ref().ok());
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(version) = text.parse::<TableVersion>() {
            check::table_version(&version);
        }
    }
}

/// `record`: three lines, a name, an SRN and a section, parsed each on its own, as a
/// record, and deserialised from JSON.
pub fn record(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(3, '\n');
    let mut next = || lines.next().unwrap_or("");
    let (name, srn, section) = (next(), next(), next());
    check::fields(name, srn, section);
}

/// Every (action, family) pair of the shapes table, each reading its own copy of the
/// fields: a route reads whatever fields a client sends it.
fn every_route(fields: Fields) {
    let mut seen: Vec<(Action, Family)> = Vec::new();
    for shape in SHAPES {
        let route = (shape.action, shape.family);
        if seen.contains(&route) {
            continue;
        }
        seen.push(route);
        if let Ok(input) = read_input(route.0, route.1, fields.clone()) {
            check::input(route.0, route.1, &input);
        }
    }
}
