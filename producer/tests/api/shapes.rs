//! The request shapes the README promises for POST /insert_record.

use crate::helpers::{spawn_app, to_json, unique_srn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_accepts_json_form_multipart_and_query_shapes() {
    let app = spawn_app().await;
    let c = &app.client;
    let s: Vec<String> = (0..9).map(|_| unique_srn()).collect();
    let requests = vec![
        (
            "json",
            c.post(app.url("/insert_record"))
                .json(&json!({"Name": "A", "SRN": s[0], "Section": "A"})),
        ),
        (
            "lower-case json",
            c.post(app.url("/insert_record"))
                .json(&json!({"name": "A", "srn": s[1], "section": "A"})),
        ),
        (
            "upper-case json",
            c.post(app.url("/insert_record"))
                .json(&json!({"NAME": "A", "SRN": s[2], "SECTION": "A"})),
        ),
        (
            "url-encoded form",
            c.post(app.url("/insert_record")).form(&[
                ("Name", "A"),
                ("SRN", &s[3]),
                ("Section", "A"),
            ]),
        ),
        (
            "multipart form",
            c.post(app.url("/insert_record")).multipart(
                reqwest::multipart::Form::new()
                    .text("Name", "A")
                    .text("SRN", s[4].clone())
                    .text("Section", "A"),
            ),
        ),
        (
            "query parameters",
            c.post(app.url("/insert_record")).query(&[
                ("Name", "A"),
                ("SRN", &s[5]),
                ("Section", "A"),
            ]),
        ),
        (
            "json without content type",
            c.post(app.url("/insert_record"))
                .body(json!({"Name": "A", "SRN": s[6], "Section": "A"}).to_string()),
        ),
        (
            "json as text/plain",
            c.post(app.url("/insert_record"))
                .header("content-type", "text/plain")
                .body(json!({"Name": "A", "SRN": s[7], "Section": "A"}).to_string()),
        ),
        (
            "trailing slash",
            c.post(app.url("/insert_record/"))
                .json(&json!({"Name": "A", "SRN": s[8], "Section": "A"})),
        ),
    ];
    for (shape, request) in requests {
        let (status, body) = to_json(request.send().await.unwrap()).await;
        assert_eq!(status, 201, "{shape}: {body}");
    }
    let mut stored = app.srns_in_database().await;
    let mut expected = s.clone();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
}
