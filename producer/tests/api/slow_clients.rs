//! Slow and many clients: a connection that stalls before its request header is complete
//! is closed after the header deadline (new or kept alive), a trickled body gets 408
//! and a close, and connections past the cap are refused at once; the service keeps
//! answering other clients throughout. Deadlines are shortened for the test; the
//! bounds below only say "closed by the configured deadline, not the default 10 s".

use crate::helpers::{error_code, read_until_closed, spawn_app_with, Options, TestApp};
use inventory::Settings;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The test's header and body deadlines.
const DEADLINE: Duration = Duration::from_millis(1000);
/// Past this, the configured deadline did not act (the default is 10 s).
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

/// An app whose header and body deadlines are [`DEADLINE`].
async fn spawn_app_with_short_deadlines() -> TestApp {
    spawn_app_with(Options {
        settings: |settings: &mut Settings| {
            settings.http_header_timeout = DEADLINE;
            settings.http_body_timeout = DEADLINE;
        },
        ..Options::default()
    })
    .await
}

/// A complete health check, kept alive.
const HEALTH_CHECK: &[u8] = b"GET /health_check HTTP/1.1\r\nHost: test\r\n\r\n";

/// Sends one complete health check on `stream` and reads its answer (kept alive).
async fn health_check_on(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTH_CHECK).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    // The body is JSON: the answer is complete at its closing brace.
    while !received.ends_with(b"}") {
        let n = tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

async fn assert_still_answering(app: &TestApp) {
    app.get_ok("/health_check?message=still").await;
}

/// Watches `stream` from now on: what it received and when it was closed.
fn watch(mut stream: TcpStream) -> tokio::task::JoinHandle<(Vec<u8>, Instant)> {
    tokio::spawn(async move {
        let received = read_until_closed(&mut stream, CLOSED_WITHIN).await;
        (received, Instant::now())
    })
}

#[tokio::test]
async fn connections_stalled_before_a_complete_header_are_closed_after_the_deadline() {
    let app = spawn_app_with_short_deadlines().await;
    // Nothing at all; half a request line and headers; the start of the HTTP/2
    // preface (the version sniffing before HTTP/1's own timer); and below, a complete
    // request whose connection then idles (keep-alive).
    let stalls: [&[u8]; 3] = [
        b"",
        b"POST /insert_record HTTP/1.1\r\nHost: test\r\nContent-Ty",
        b"PRI * HTTP/2.0\r\n",
    ];
    let mut watched = Vec::new();
    for bytes in stalls {
        let stream = app.send_raw(bytes).await;
        watched.push((
            String::from_utf8_lossy(bytes),
            Instant::now(),
            watch(stream),
        ));
    }
    let mut idle = app.send_raw(b"").await;
    let answer = health_check_on(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    watched.push(("kept alive, idle".into(), Instant::now(), watch(idle)));

    // Other clients are answered while these wait.
    assert_still_answering(&app).await;

    for (what, opened, watcher) in watched {
        let (received, closed) = watcher.await.unwrap();
        assert!(
            closed.duration_since(opened) >= DEADLINE / 2,
            "{what:?} closed before the deadline"
        );
        // Closed without an answer.
        assert!(
            received.is_empty(),
            "{what:?}: {:?}",
            String::from_utf8_lossy(&received)
        );
    }
    assert_still_answering(&app).await;
}

#[tokio::test]
async fn a_header_sent_slowly_but_within_the_deadline_is_served() {
    let app = spawn_app_with(Options {
        settings: |s| s.http_header_timeout = Duration::from_secs(4),
        ..Options::default()
    })
    .await;
    let mut stream = app.send_raw(b"").await;
    for chunk in [
        "GET /health_check",
        " HTTP/1.1\r\n",
        "Host: test\r\n",
        "\r\n",
    ] {
        stream.write_all(chunk.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Sends a header announcing a 60-byte body of `content_type` and its first byte,
/// then one more byte every 100 ms if `trickle` (the 60 bytes would take 6 s) or
/// nothing; returns what came back before the producer closed the connection.
async fn slow_body(app: &TestApp, content_type: &str, trickle: bool) -> String {
    let header = format!(
        "POST /insert_record HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\nContent-Length: 60\r\n\r\nN"
    );
    let stream = app.send_raw(header.as_bytes()).await;
    let (mut reader, mut writer) = stream.into_split();
    let trickler = tokio::spawn(async move {
        for _ in 0..59 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if trickle && writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut received = Vec::new();
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = CLOSED_WITHIN.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, reader.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "{content_type} (trickle: {trickle}) still open: {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    trickler.abort();
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_slow_or_stalled_body_gets_408_in_json_and_a_close() {
    let app = spawn_app_with_short_deadlines().await;
    // JSON and a form (which Rocket peeks at before routing, for `_method`), each
    // trickled and stalled after its first byte.
    let cases = [
        ("application/json", true),
        ("application/json", false),
        ("application/x-www-form-urlencoded", true),
        ("application/x-www-form-urlencoded", false),
    ];
    let attempts = cases.map(|(ct, trickle)| slow_body(&app, ct, trickle));
    // Other clients are answered meanwhile.
    let (answers, ()) = tokio::join!(
        futures_util::future::join_all(attempts),
        assert_still_answering(&app)
    );
    for ((ct, trickle), text) in cases.iter().zip(answers) {
        assert!(
            text.starts_with("HTTP/1.1 408"),
            "{ct} (trickle: {trickle}): {text}"
        );
        let body: serde_json::Value =
            serde_json::from_str(&text[text.find("\r\n\r\n").unwrap() + 4..])
                .unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(error_code(&body), "request_timeout", "{body}");
    }
    assert_still_answering(&app).await;
    // Nothing was stored.
    assert!(app.srns_in_database().await.is_empty());
}

#[tokio::test]
async fn connections_past_the_cap_are_refused_at_once() {
    const CAP: usize = 4;
    let app = spawn_app_with(Options {
        settings: |s| {
            s.http_max_connections = Some(CAP);
            s.http_header_timeout = Duration::from_secs(60);
        },
        ..Options::default()
    })
    .await;
    // Fill the cap with connections that were each answered (so each was accepted);
    // the test client's own pooled connection may hold one place already.
    let mut held = Vec::new();
    loop {
        assert!(
            held.len() <= CAP,
            "more than {CAP} connections were accepted"
        );
        let mut stream = app.send_raw(HEALTH_CHECK).await;
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buf))
            .await
            .expect("an answer or a close, at once")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // Read the rest of the answer, so the connection is idle and reusable.
        let mut rest = answer;
        while !rest.ends_with('}') {
            let n = stream.read(&mut buf).await.unwrap();
            rest.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        held.push(stream);
    }
    assert!(
        held.len() >= CAP - 1,
        "refused after only {} connections",
        held.len()
    );

    // The connections inside the cap are still served.
    let answer = health_check_on(&mut held[0]).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Once one closes, a new connection is served again.
    drop(held.pop());
    let mut served = false;
    for _ in 0..50 {
        let mut stream = app.send_raw(HEALTH_CHECK).await;
        let mut buf = [0u8; 64];
        if let Ok(Ok(n)) = tokio::time::timeout(CLOSED_WITHIN, stream.read(&mut buf)).await {
            if buf[..n].starts_with(b"HTTP/1.1 200") {
                served = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "no new connection was served after one closed");
}
