//! The REST resource API: same messages and consumers, JSON only.

use crate::helpers::{error_code, spawn_app, to_json, unique_srn};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_can_be_created_read_listed_and_deleted() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let record = json!({"Name": "Zoë", "SRN": srn, "Section": "A"});

    let response = app.post_json_response("/v1/records", &record).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/records/{srn}"));

    let (status, body) = app.get(&location).await;
    assert_eq!((status, &body), (200, &record));

    let page = app.get_ok("/v1/records").await;
    assert_eq!(page, json!({"records": [record]}));

    let response = app.client.delete(app.url(&location)).send().await.unwrap();
    let (status, body) = to_json(response).await;
    assert_eq!((status, &body["record"]), (200, &record));
    let (status, body) = app.get(&location).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let response = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_with_next_after_and_a_link_header() {
    let app = spawn_app().await;
    app.insert_numbered("V", 3).await;
    let response = app.get_response("/v1/records?limit=2").await;
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let (_, page) = to_json(response).await;
    assert_eq!(page["records"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_after"], "V1");
    assert_eq!(link, "</v1/records?limit=2&after=V1>; rel=\"next\"");
    let (_, page) = app.get("/v1/records?limit=2&after=V1").await;
    assert_eq!(
        page,
        json!({"records": [{"Name": "N", "SRN": "V2", "Section": "A"}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_takes_json_only_and_gives_the_same_errors() {
    let app = spawn_app().await;
    let srn = unique_srn();
    let form = app
        .client
        .post(app.url("/v1/records"))
        .form(&[("Name", "A"), ("SRN", &srn), ("Section", "A")])
        .send()
        .await
        .unwrap();
    let (status, body) = to_json(form).await;
    assert_eq!((status, error_code(&body)), (415, "unsupported_media_type"));

    assert_eq!(
        app.post_json(
            "/v1/records",
            &json!({"Name": "A", "SRN": srn, "Section": "A"})
        )
        .await
        .0,
        201
    );
    let (status, body) = app
        .post_json(
            "/v1/records",
            &json!({"Name": "B", "SRN": srn, "Section": "B"}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (409, "conflict"));
    let (status, body) = app
        .post_json(
            "/v1/records",
            &json!({"Name": "B", "SRN": "bad srn", "Section": "B"}),
        )
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("SRN")));
    let (status, _) = app.get("/v1/records/not%20valid").await;
    assert_eq!(status, 422);
    let (status, body) = app.get("/v1/health").await;
    assert_eq!((status, body["message"].as_str()), (200, Some("ping")));
}
