//! The request shapes the README promises: insert bodies, path segments, GET forms,
//! quoted SRNs, health spellings and doubled slashes.

use crate::helpers::{spawn_app, to_json, unique_srn};
use protocol::shapes::{Action, Source, SHAPES};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_accepts_json_form_multipart_and_query_shapes() {
    let app = spawn_app().await;
    let c = &app.client;
    let s: Vec<String> = (0..9).map(|_| unique_srn()).collect();
    let post = || c.post(app.url("/insert_record"));
    // Record `i`'s fields, as form, query or multipart pairs and as JSON.
    let pairs = |i: usize| [("Name", "A"), ("SRN", s[i].as_str()), ("Section", "A")];
    let json = |i: usize| json!({"Name": "A", "SRN": s[i], "Section": "A"});
    let multipart = |i: usize| {
        pairs(i)
            .into_iter()
            .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
                form.text(k, v.to_owned())
            })
    };
    let requests = vec![
        ("json", post().json(&json(0))),
        (
            "lower-case json",
            post().json(&json!({"name": "A", "srn": s[1], "section": "A"})),
        ),
        (
            "upper-case json",
            post().json(&json!({"NAME": "A", "SRN": s[2], "SECTION": "A"})),
        ),
        ("url-encoded form", post().form(&pairs(3))),
        ("multipart form", post().multipart(multipart(4))),
        ("query parameters", post().query(&pairs(5))),
        (
            "json without content type",
            post().body(json(6).to_string()),
        ),
        (
            "json as text/plain",
            post()
                .header("content-type", "text/plain")
                .body(json(7).to_string()),
        ),
        (
            "trailing slash",
            c.post(app.url("/insert_record/")).json(&json(8)),
        ),
    ];
    for (shape, request) in requests {
        let (status, body) = to_json(request.send().await.unwrap()).await;
        assert_eq!(status, 201, "{shape}: {body}");
    }
    assert_eq!(sorted(app.srns_in_database().await), sorted(s));
}

fn sorted(mut srns: Vec<String>) -> Vec<String> {
    srns.sort();
    srns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shapes_real_clients_send_beyond_the_assignment() {
    let app = spawn_app().await;
    let c = &app.client;
    let (a, b, q) = (unique_srn(), unique_srn(), unique_srn());
    // The three fields as path segments, URL-encoded (and decoded exactly once:
    // `%2541` is `%41`, not `A`); the SRN lower-case and quoted.
    let path = format!(
        "/insert_record/%22{}%22/Zo%C3%AB%20Li%2FK/B%2541",
        a.to_lowercase()
    );
    let (status, body) = to_json(c.post(app.url(&path)).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["record"],
        json!({"Name": "Zoë Li/K", "SRN": a, "Section": "B%41"})
    );
    // An HTML form with method GET: keys in any case.
    let get = format!("/insert_record?NAME=Ann&sRn={b}&SeCtIoN=C");
    let (status, body) = to_json(c.get(app.url(&get)).send().await.unwrap()).await;
    assert_eq!((status, &body["record"]["Name"]), (201, &json!("Ann")));
    // An SRN in quotes, raw or percent-encoded.
    assert_eq!(app.insert("Q", &q, "Q").await.0, 201);
    let (status, body) = app.get(&format!("/v1/records/%22{q}%22")).await;
    assert_eq!((status, &body["SRN"]), (200, &json!(q)));
    let response = c
        .get(app.url(&format!("/delete_record?srn=\"{q}\"")))
        .send()
        .await
        .unwrap();
    assert_eq!(to_json(response).await.0, 200);
    assert_eq!(sorted(app.srns_in_database().await), sorted(vec![a, b]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_health_spelling_answers_with_or_without_a_message() {
    let app = spawn_app().await;
    let spellings: Vec<&str> = SHAPES
        .iter()
        .filter(|s| s.action == Action::HealthCheck && s.source == Source::Query)
        .map(|s| s.path)
        .collect();
    let expected = [
        "/health_check",
        "/healthcheck",
        "/healthCheck",
        "/health-check",
    ];
    assert_eq!(spellings, expected);
    for path in spellings {
        assert_eq!(app.get(path).await.1["message"], "ping", "{path}");
        let (status, body) = app.get(&format!("{path}?message=q")).await;
        assert_eq!((status, &body["message"]), (200, &json!("q")), "{path}");
        assert_eq!(app.get(&format!("{path}/p")).await.1["message"], "p");
        let (status, body) = app.post_json(path, &json!({"msg": "b"})).await;
        assert_eq!((status, &body["message"]), (200, &json!("b")), "{path}");
        let empty = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(to_json(empty).await.1["message"], "ping", "POST {path}");
    }
}

/// HTTP clients normalise `//` away before sending, so this one speaks HTTP itself.
async fn raw_get(app: &crate::helpers::TestApp, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.unwrap();
    let text = String::from_utf8_lossy(&reply).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doubled_slashes_are_one() {
    let app = spawn_app().await;
    let srn = unique_srn();
    assert_eq!(app.insert("Dbl", &srn, "D").await.0, 201);
    let (status, text) = raw_get(&app, "//health_check?message=doubled").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"message\":\"doubled\""), "{text}");
    let (status, text) = raw_get(&app, &format!("//v1//records//{srn}/")).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&srn), "{text}");
    let (status, _) = raw_get(&app, &format!("///delete_record//{srn}")).await;
    assert_eq!(status, 200);
    assert!(app.srns_in_database().await.is_empty());
}
