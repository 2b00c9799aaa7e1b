use crate::helpers::{error_code, spawn_app, unique_srn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_returns_the_deleted_record_then_404() {
    let app = spawn_app().await;
    let srn = unique_srn();
    app.insert("Ann", &srn, "A").await;

    let (status, body) = app.get(&format!("/delete_record?SRN={srn}")).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "deleted");
    assert_eq!(
        body["record"],
        json!({"Name": "Ann", "SRN": srn, "Section": "A"})
    );
    assert!(app.srns_in_database().await.is_empty());
    let (status, body) = app.get(&format!("/delete_record?SRN={srn}")).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_accepts_the_srn_in_every_documented_place() {
    let app = spawn_app().await;
    let srns: Vec<String> = (0..6).map(|_| unique_srn()).collect();
    for srn in &srns {
        assert_eq!(app.insert("X", srn, "A").await.0, 201);
    }
    let c = &app.client;
    let requests = [
        c.get(app.url(&format!("/delete_record?srn={}", srns[0].to_lowercase()))),
        c.get(app.url(&format!("/delete_record/{}", srns[1]))),
        c.delete(app.url(&format!("/delete_record/{}", srns[2]))),
        c.delete(app.url(&format!("/delete_record?SRN={}", srns[3]))),
        c.post(app.url("/delete_record"))
            .json(&json!({"SRN": srns[4]})),
        c.post(app.url("/delete_record")).form(&[("srn", &srns[5])]),
    ];
    for (request, srn) in requests.into_iter().zip(&srns) {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{srn}");
    }
    assert!(app.srns_in_database().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_without_a_valid_srn_is_422() {
    let app = spawn_app().await;
    app.assert_invalid_fields(&[
        "/delete_record",
        "/delete_record?SRN=",
        "/delete_record?SRN=a%20b",
        "/delete_record?id=1",
    ])
    .await;
}
