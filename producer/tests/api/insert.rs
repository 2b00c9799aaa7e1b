use crate::helpers::{error_code, spawn_app, unique_srn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_returns_201_with_the_record_and_the_next_read_shows_it() {
    let app = spawn_app().await;
    let srn = unique_srn();

    let lower = json!({"Name": "Anshul Ranjan", "SRN": srn.to_lowercase(), "Section": "B"});
    let response = app.post_json_response("/insert_record", &lower).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        format!("/v1/records/{srn}")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["record"],
        json!({"Name": "Anshul Ranjan", "SRN": srn, "Section": "B"})
    );

    // Read-your-write: the 201 came after the commit.
    app.assert_records(json!([{"Name": "Anshul Ranjan", "SRN": srn, "Section": "B"}]))
        .await;
}

/// Unicode, and SQL metacharacters (stored literally: statements bind parameters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unicode_and_sql_metacharacters_are_stored_and_returned_exactly() {
    for (name, section) in [
        ("  Zoë Ñúñez-李小龍 🚀 O'Brien ", "6Ä"),
        ("Robert'); DROP TABLE students;-- \"%_\\", "'; --"),
    ] {
        spawn_app().await.assert_stored_exactly(name, section).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_insert_of_the_same_srn_is_409_and_leaves_the_record_untouched() {
    let app = spawn_app().await;
    let srn = unique_srn();
    assert_eq!(app.insert("First", &srn, "A").await.0, 201);

    let (status, body) = app.insert("Second", &srn, "C").await;

    assert_eq!(status, 409);
    assert_eq!(error_code(&body), "conflict");
    assert_eq!(body["record"]["Name"], "First");
    app.assert_records(json!([{"Name": "First", "SRN": srn, "Section": "A"}]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_records_get_422_naming_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let cases = [
        (json!({"SRN": srn, "Section": "A"}), "Name"),
        (json!({"Name": "A", "Section": "A"}), "SRN"),
        (json!({"Name": "A", "SRN": srn}), "Section"),
        (json!({"Name": "", "SRN": srn, "Section": "A"}), "Name"),
        (json!({"Name": "   ", "SRN": srn, "Section": "A"}), "Name"),
        (json!({"Name": "A", "SRN": "PES 1", "Section": "A"}), "SRN"),
        (
            json!({"Name": "A", "SRN": "x'; DROP TABLE students; --", "Section": "A"}),
            "SRN",
        ),
        (
            json!({"Name": "A", "SRN": "A".repeat(33), "Section": "A"}),
            "SRN",
        ),
        (
            json!({"Name": "A".repeat(101), "SRN": srn, "Section": "A"}),
            "Name",
        ),
        (
            json!({"Name": "A", "SRN": srn, "Section": "A".repeat(33)}),
            "Section",
        ),
        (json!({"Name": ["A"], "SRN": srn, "Section": "A"}), "Name"),
        (json!({"Name": null, "SRN": srn, "Section": "A"}), "Name"),
        (json!({"Name": 7, "SRN": srn, "Section": "A"}), "Name"),
        (
            json!({"Name": "A\u{7}", "SRN": srn, "Section": "A"}),
            "Name",
        ),
        (
            json!({"Name": "A", "SRN": srn, "Section": "A", "Sectoin": "B"}),
            "Sectoin",
        ),
        (json!({}), "Name"),
    ];
    for (body, field) in cases {
        let (status, reply) = app.post_json("/insert_record", &body).await;
        assert_eq!(status, 422, "{body} -> {reply}");
        assert_eq!(error_code(&reply), "invalid_field", "{body}");
        assert_eq!(reply["field"], field, "{body} -> {reply}");
    }
    assert!(app.srns_in_database().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_section_given_as_a_number_is_accepted() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let (status, body) = app
        .post_json(
            "/insert_record",
            &json!({"Name": "A", "SRN": srn, "Section": 5}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["record"]["Section"], "5");
}

/// A client that retries with the same `Idempotency-Key` (its answer was lost) is told
/// its record was inserted, not that it conflicts with itself; another key, or none,
/// meets the stored record as a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_idempotency_key_is_answered_inserted_again() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let record = json!({"Name": "Ann", "SRN": srn, "Section": "A"});
    let send = |key: Option<&'static str>| {
        let mut request = app.client.post(app.url("/insert_record")).json(&record);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send()
    };

    assert_eq!(send(Some("order-17")).await.unwrap().status(), 201);
    assert_eq!(send(Some("order-17")).await.unwrap().status(), 201);
    assert_eq!(send(Some("order-18")).await.unwrap().status(), 409);
    assert_eq!(send(None).await.unwrap().status(), 409);
    assert_eq!(app.srns_in_database().await, [srn]);
}
