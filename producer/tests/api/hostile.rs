//! Hostile input: every malformed request gets a 4xx JSON error (never a 5xx, a hang or
//! a dropped connection); afterwards the service still answers and no data changed.

use crate::helpers::{error_code, spawn_app, to_json, unique_srn};
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

fn get(what: &'static str, path: &str, status: u16) -> Case {
    case(what, Method::GET, path, None, Vec::new(), status)
}

fn cases() -> Vec<Case> {
    let s = "HOSTILE1";
    let json_ct = "application/json";
    let form = "application/x-www-form-urlencoded";
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    vec![
        // wrong types
        insert_json(
            "Name a number",
            json!({"Name": 1, "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "Name a boolean",
            json!({"Name": true, "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "Name null",
            json!({"Name": null, "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "Name an array",
            json!({"Name": ["a"], "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "Name an object",
            json!({"Name": {"first": "a"}, "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "SRN a number",
            json!({"Name": "a", "SRN": 96, "Section": "A"}),
            422,
        ),
        insert_json(
            "SRN an array",
            json!({"Name": "a", "SRN": [s], "Section": "A"}),
            422,
        ),
        insert_json(
            "Section a boolean",
            json!({"Name": "a", "SRN": s, "Section": false}),
            422,
        ),
        insert_json(
            "Section an object",
            json!({"Name": "a", "SRN": s, "Section": {}}),
            422,
        ),
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
        insert_json(
            "empty Name",
            json!({"Name": "", "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "blank SRN",
            json!({"Name": "a", "SRN": "   ", "Section": "A"}),
            422,
        ),
        insert_json(
            "blank Section",
            json!({"Name": "a", "SRN": s, "Section": "\t"}),
            422,
        ),
        // oversize values and bodies
        insert_json(
            "Name 101 characters",
            json!({"Name": "n".repeat(101), "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "SRN 33 characters",
            json!({"Name": "a", "SRN": "S".repeat(33), "Section": "A"}),
            422,
        ),
        insert_json(
            "Section 33 characters",
            json!({"Name": "a", "SRN": s, "Section": "x".repeat(33)}),
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
        // SQL metacharacters and traversal in keys
        insert_json(
            "SQL in SRN",
            json!({"Name": "a", "SRN": "1' OR '1'='1", "Section": "A"}),
            422,
        ),
        insert_json(
            "statement in SRN",
            json!({"Name": "a", "SRN": "A; DROP TABLE students; --", "Section": "A"}),
            422,
        ),
        get(
            "SQL in delete SRN",
            "/delete_record?SRN=x%27%20OR%201%3D1%20--",
            422,
        ),
        get("wildcard delete SRN", "/delete_record?SRN=%25", 422),
        get(
            "traversal in delete path",
            "/delete_record/..%2F..%2Fetc%2Fpasswd",
            422,
        ),
        get("dots in delete path", "/delete_record/a..b", 422),
        get(
            "traversal to another route",
            "/read_database/../../etc/passwd",
            404,
        ),
        // control characters
        insert_json(
            "NUL in Name",
            json!({"Name": "a\u{0}b", "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "escape sequence in Name",
            json!({"Name": "\u{1b}[31mred", "SRN": s, "Section": "A"}),
            422,
        ),
        insert_json(
            "newline in Section",
            json!({"Name": "a", "SRN": s, "Section": "A\r\nB"}),
            422,
        ),
        get(
            "CRLF in delete SRN",
            "/delete_record?SRN=A%0D%0ASet-Cookie:x",
            422,
        ),
        get(
            "newline in health message",
            "/health_check?message=a%0Ab",
            422,
        ),
        // sizes and ranges in the query
        get(
            "URI of 9 KiB",
            &format!("/health_check?message={}", "m".repeat(9 * 1024)),
            414,
        ),
        get(
            "health message of 2,000 characters",
            &format!("/health_check?message={}", "m".repeat(2000)),
            422,
        ),
        get("negative limit", "/read_database?limit=-1", 422),
        get(
            "huge limit",
            "/read_database?limit=99999999999999999999",
            422,
        ),
        get("fractional limit", "/read_database?limit=1.5", 422),
        get("invalid after", "/read_database?after=%3Cscript%3E", 422),
        get("unknown read parameter", "/read_database?drop=1", 422),
        get("invalid UTF-8 in the query", "/delete_record?SRN=%ff", 400),
        // wrong methods and routes
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
        get("unknown route", "/students", 404),
    ]
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
    let (_, records) = app.get("/read_database").await;
    assert_eq!(
        records,
        json!([{"Name": "Keep Me", "SRN": keep, "Section": "K"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_metacharacters_in_names_are_stored_literally() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let name = "Robert'); DROP TABLE students;-- \"%_\\";

    let (status, body) = app.insert(name, &srn, "'; --").await;

    assert_eq!(status, 201, "{body}");
    let (_, records) = app.get("/read_database").await;
    assert_eq!(
        records,
        json!([{"Name": name, "SRN": srn, "Section": "'; --"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_gets_a_4xx_and_the_server_stays_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let raw: [&[u8]; 4] = [
        b"GET /delete_record/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"HELLO\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\nConnection: close\r\n\r\n",
        b"POST /insert_record HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nConnection: close\r\n\r\n",
    ];
    for bytes in raw {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut reply),
        )
        .await;
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
