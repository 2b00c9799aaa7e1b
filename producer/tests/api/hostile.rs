//! Hostile input: every malformed request gets a 4xx JSON error (never a 5xx, a hang or
//! a dropped connection); afterwards the service still answers and no data changed.

use crate::helpers::{error_code, read_until_closed, spawn_app, to_json, unique_srn};
use reqwest::Method;
use serde_json::json;

/// One malformed request: what it is, how to send it, and the status it must get.
struct Case {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
}

fn case(
    what: &'static str,
    method: Method,
    path: &str,
    ct: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    Case {
        what,
        method,
        path: path.into(),
        content_type: ct,
        body: body.into(),
        status,
    }
}

fn insert_json(what: &'static str, body: serde_json::Value, status: u16) -> Case {
    case(
        what,
        Method::POST,
        "/insert_record",
        Some("application/json"),
        body.to_string(),
        status,
    )
}

fn insert_raw(what: &'static str, ct: &'static str, body: impl Into<Vec<u8>>, status: u16) -> Case {
    case(what, Method::POST, "/insert_record", Some(ct), body, status)
}

/// The SRN of the cases' records.
const SRN: &str = "HOSTILE1";

/// The valid record `{"Name": "a", "SRN": SRN, "Section": "A"}` with `field` set to
/// `value`: a case that is wrong in that one field only.
fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut record = json!({"Name": "a", "SRN": SRN, "Section": "A"});
    record[field] = value;
    record
}

fn cases() -> Vec<Case> {
    let s = SRN;
    let json_ct = "application/json";
    let form = "application/x-www-form-urlencoded";
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        // wrong types
        insert_json("Name a number", with("Name", json!(1)), 422),
        insert_json("Name a boolean", with("Name", json!(true)), 422),
        insert_json("Name null", with("Name", json!(null)), 422),
        insert_json("Name an array", with("Name", json!(["a"])), 422),
        insert_json("Name an object", with("Name", json!({"first": "a"})), 422),
        insert_json("SRN a number", with("SRN", json!(96)), 422),
        insert_json("SRN an array", with("SRN", json!([s])), 422),
        insert_json("Section a boolean", with("Section", json!(false)), 422),
        insert_json("Section an object", with("Section", json!({})), 422),
        insert_json(
            "body an array",
            json!([{"Name": "a", "SRN": s, "Section": "A"}]),
            400,
        ),
        insert_json("body a string", json!("Name=a"), 400),
        insert_json("body a number", json!(42), 400),
        insert_json("body null", json!(null), 400),
        // missing, extra, empty
        insert_json("empty object", json!({}), 422),
        insert_json("Name missing", json!({"SRN": s, "Section": "A"}), 422),
        insert_json("SRN missing", json!({"Name": "a", "Section": "A"}), 422),
        insert_json("Section missing", json!({"Name": "a", "SRN": s}), 422),
        insert_json(
            "extra field",
            json!({"Name": "a", "SRN": s, "Section": "A", "admin": true}),
            422,
        ),
        insert_json(
            "misspelt field",
            json!({"Name": "a", "SRN": s, "Sectoin": "A"}),
            422,
        ),
        insert_json(
            "Name and name both",
            json!({"Name": "a", "name": "b", "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json("empty Name", with("Name", json!("")), 422),
        insert_json("blank SRN", with("SRN", json!("   ")), 422),
        insert_json("blank Section", with("Section", json!("\t")), 422),
        // oversize values and bodies
        insert_json(
            "Name 101 characters",
            with("Name", json!("n".repeat(101))),
            422,
        ),
        insert_json("SRN 33 characters", with("SRN", json!("S".repeat(33))), 422),
        insert_json(
            "Section 33 characters",
            with("Section", json!("x".repeat(33))),
            422,
        ),
        insert_raw(
            "body of 65 KiB",
            json_ct,
            format!("{{\"Name\":\"{}\"}}", "a".repeat(65 * 1024)),
            413,
        ),
        insert_raw("body of 2 MiB", json_ct, vec![b' '; 2 * 1024 * 1024], 413),
        // unreadable bodies
        insert_raw("invalid JSON", json_ct, "{\"Name\": \"a\",}", 400),
        insert_raw("single-quoted JSON", json_ct, "{'Name': 'a'}", 400),
        insert_raw("truncated JSON", json_ct, "{\"Name\": \"a", 400),
        insert_raw(
            "invalid UTF-8 in JSON",
            json_ct,
            b"{\"Name\": \"\xff\xfe\", \"SRN\": \"A\", \"Section\": \"A\"}".to_vec(),
            400,
        ),
        insert_raw(
            "UTF-8 BOM before JSON",
            json_ct,
            b"\xef\xbb\xbf{}".to_vec(),
            400,
        ),
        insert_raw("number out of range", json_ct, "{\"Section\": 1e400}", 400),
        insert_raw("deeply nested JSON", json_ct, nested, 400),
        insert_raw(
            "invalid UTF-8 in a form",
            form,
            b"Name=%ff&SRN=A&Section=A".to_vec(),
            400,
        ),
        insert_raw(
            "raw invalid UTF-8 form",
            form,
            b"Name=\xff&SRN=A&Section=A".to_vec(),
            400,
        ),
        insert_raw("not JSON, no type", "text/plain", "just some words", 400),
        // content types
        insert_raw("XML", "application/xml", "<Name>a</Name>", 415),
        insert_raw("octet stream", "application/octet-stream", "Name=a", 415),
        insert_raw("HTML", "text/html", "<b>a</b>", 415),
        insert_raw(
            "multipart without boundary",
            "multipart/form-data",
            "--x\r\n",
            400,
        ),
        insert_raw(
            "malformed multipart",
            "multipart/form-data; boundary=zz",
            "garbage without parts",
            400,
        ),
        // SQL metacharacters in keys
        insert_json("SQL in SRN", with("SRN", json!("1' OR '1'='1")), 422),
        insert_json(
            "statement in SRN",
            with("SRN", json!("A; DROP TABLE students; --")),
            422,
        ),
        // control characters
        insert_json("NUL in Name", with("Name", json!("a\u{0}b")), 422),
        insert_json(
            "escape sequence in Name",
            with("Name", json!("\u{1b}[31mred")),
            422,
        ),
        insert_json("newline in Section", with("Section", json!("A\r\nB")), 422),
        // wrong methods
        case(
            "PUT insert",
            Method::PUT,
            "/insert_record",
            Some(json_ct),
            "{}",
            404,
        ),
        case(
            "PATCH insert",
            Method::PATCH,
            "/insert_record",
            Some(json_ct),
            "{}",
            404,
        ),
        case(
            "PUT delete",
            Method::PUT,
            "/delete_record/HOSTILE1",
            None,
            "",
            404,
        ),
        case(
            "POST read",
            Method::POST,
            "/read_database",
            Some(json_ct),
            "{}",
            404,
        ),
        case(
            "DELETE read",
            Method::DELETE,
            "/read_database",
            None,
            "",
            404,
        ),
    ]
    .into_iter()
    .chain(gets())
    .collect()
}

/// Requests whose query or path is the attack: `GET path` must get the status.
fn gets() -> Vec<Case> {
    let long_uri = format!("/health_check?message={}", "m".repeat(9 * 1024));
    let long_message = format!("/health_check?message={}", "m".repeat(2000));
    let gets = [
        // SQL metacharacters and traversal
        (
            "SQL in delete SRN",
            "/delete_record?SRN=x%27%20OR%201%3D1%20--",
            422,
        ),
        ("wildcard delete SRN", "/delete_record?SRN=%25", 422),
        (
            "traversal in delete path",
            "/delete_record/..%2F..%2Fetc%2Fpasswd",
            422,
        ),
        ("dots in delete path", "/delete_record/a..b", 422),
        (
            "traversal to another route",
            "/read_database/../../etc/passwd",
            404,
        ),
        // control characters
        (
            "CRLF in delete SRN",
            "/delete_record?SRN=A%0D%0ASet-Cookie:x",
            422,
        ),
        (
            "newline in health message",
            "/health_check?message=a%0Ab",
            422,
        ),
        // sizes and ranges in the query
        ("URI of 9 KiB", &long_uri, 414),
        ("health message of 2,000 characters", &long_message, 422),
        ("negative limit", "/read_database?limit=-1", 422),
        (
            "huge limit",
            "/read_database?limit=99999999999999999999",
            422,
        ),
        ("fractional limit", "/read_database?limit=1.5", 422),
        ("invalid after", "/read_database?after=%3Cscript%3E", 422),
        ("unknown read parameter", "/read_database?drop=1", 422),
        ("invalid UTF-8 in the query", "/delete_record?SRN=%ff", 400),
        // wrong routes
        ("unknown route", "/students", 404),
    ];
    gets.into_iter()
        .map(|(what, path, status)| case(what, Method::GET, path, None, Vec::new(), status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_gets_a_4xx_json_error_and_changes_nothing() {
    let app = spawn_app().await;
    let keep = unique_srn();
    assert_eq!(app.insert("Keep Me", &keep, "K").await.0, 201);
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());

    let mut failures = Vec::new();
    for case in &cases {
        let mut request = app
            .client
            .request(case.method.clone(), app.url(&case.path))
            .body(case.body.clone());
        if let Some(ct) = case.content_type {
            request = request.header("content-type", ct);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: no response ({e})", case.what));
                continue;
            }
        };
        let (status, body) = to_json(response).await;
        if status != case.status {
            failures.push(format!(
                "{}: {status} (expected {}): {body}",
                case.what, case.status
            ));
        } else {
            error_code(&body);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    assert_eq!(app.get("/health_check").await.0, 200);
    assert_eq!(app.srns_in_database().await, vec![keep.clone()]);
    app.assert_records(json!([{"Name": "Keep Me", "SRN": keep, "Section": "K"}]))
        .await;
}

/// Requests no HTTP client would send: a path that is not UTF-8, no request line at
/// all, a header without a colon, a length that is no number.
const MALFORMED_HTTP: [&[u8]; 4] = [
    b"GET /delete_record/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"HELLO\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\nConnection: close\r\n\r\n",
    b"POST /insert_record HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nConnection: close\r\n\r\n",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_gets_a_4xx_and_the_server_stays_up() {
    let app = spawn_app().await;
    for bytes in MALFORMED_HTTP {
        let mut stream = app.send_raw(bytes).await;
        let reply = read_until_closed(&mut stream, std::time::Duration::from_secs(5)).await;
        let text = String::from_utf8_lossy(&reply);
        let status: u16 = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(
            (400..500).contains(&status),
            "{:?} -> {text:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    assert_eq!(app.get("/health_check").await.0, 200);
}
