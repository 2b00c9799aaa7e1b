use crate::helpers::spawn_app;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_returns_every_record_ordered_by_srn() {
    let app = spawn_app().await;
    let (status, body) = app.get("/read_database").await;
    assert_eq!((status, body), (200, json!([])));
    for srn in ["PES3", "PES1", "PES2"] {
        app.insert(&format!("name {srn}"), srn, "A").await;
    }

    let (status, body) = app.get("/read_database").await;

    assert_eq!(status, 200);
    let srns: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["SRN"].as_str().unwrap())
        .collect();
    assert_eq!(srns, ["PES1", "PES2", "PES3"]);
    assert_eq!(
        body[0],
        json!({"Name": "name PES1", "SRN": "PES1", "Section": "A"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_pages_with_limit_and_after() {
    let app = spawn_app().await;
    app.insert_numbered("P", 5).await;
    let mut seen = Vec::new();
    let mut path = "/read_database?limit=2".to_owned();
    loop {
        let response = app.get_response(&path).await;
        assert_eq!(response.status(), 200);
        let next = response
            .headers()
            .get("x-next-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let page: Vec<Value> = response.json().await.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|r| r["SRN"].as_str().unwrap().to_owned()));
        match next {
            Some(after) => path = format!("/read_database?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["P0", "P1", "P2", "P3", "P4"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_refuses_bad_paging_arguments() {
    let app = spawn_app().await;
    app.assert_invalid_fields(&[
        "/read_database?limit=0",
        "/read_database?limit=1001",
        "/read_database?limit=ten",
        "/read_database?after=a%20b",
        "/read_database?colour=red",
    ])
    .await;
}
