//! Tests generated from the table of request shapes: every row answers, every row that
//! changes data needs the token, every data-changing `GET` refuses a prefetch. A row
//! added to `protocol::shapes::SHAPES` is covered here without a line more.

use crate::helpers::{
    error_code, spawn_app, spawn_app_with, to_json, unique_srn, Options, TestApp,
};
use producer::table::prefetch;
use protocol::fields::fold;
use protocol::shapes::{Action, Shape, Source, SHAPES};
use reqwest::{Method, RequestBuilder};
use serde_json::{Map, Value};

/// A request of `shape` carrying `values` (field name, value): path parameters in the
/// path (percent-encoded), the rest where the row reads them (the query, or a JSON body).
pub(crate) fn shape_request(
    app: &TestApp,
    shape: &Shape,
    values: &[(&str, String)],
) -> RequestBuilder {
    let value = |name: &str| values.iter().find(|(k, _)| fold(k) == fold(name));
    let mut url = reqwest::Url::parse(&app.url("/")).unwrap();
    url.path_segments_mut().unwrap().clear().extend(
        shape
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |segment| match segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                    Some(param) => value(param)
                        .expect("a value for every parameter")
                        .1
                        .as_str(),
                    None => segment,
                },
            ),
    );
    let rest: Vec<&(&str, String)> = values
        .iter()
        .filter(|(k, _)| !shape.path_params().any(|p| fold(p) == fold(k)))
        .collect();
    let method = Method::from_bytes(shape.method.as_str().as_bytes()).unwrap();
    let request = app.client.request(method, url);
    match shape.source {
        Source::Path => request,
        Source::Query => request.query(&rest),
        Source::BodyAndQuery | Source::JsonBody => {
            let body: Map<String, Value> = rest
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(v.as_str())))
                .collect();
            request.json(&body)
        }
    }
}

/// The fields a valid request of `shape` carries, and the status it gets.
fn valid(shape: &Shape, srn: &str, message: &str) -> (Vec<(&'static str, String)>, u16) {
    match shape.action {
        Action::HealthCheck => (vec![("message", message.into())], 200),
        Action::InsertRecord => (
            vec![
                ("Name", "Zoë Li / 李".into()),
                ("SRN", srn.into()),
                ("Section", "A 1".into()),
            ],
            201,
        ),
        Action::DeleteRecord | Action::ReadRecord => (vec![("SRN", srn.into())], 200),
        Action::ReadDatabase => (vec![], 200),
    }
}

async fn send(
    app: &TestApp,
    shape: &Shape,
    values: &[(&str, String)],
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = shape_request(app, shape, values);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Stores a record directly through the insert route (with `token` if set).
async fn seed(app: &TestApp, srn: &str, token: Option<&str>) {
    let mut request = app
        .client
        .post(app.url("/insert_record"))
        .json(&serde_json::json!({"Name": "Seed", "SRN": srn, "Section": "S"}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    assert_eq!(request.send().await.unwrap().status(), 201);
}

/// Every row with an SRN of its own, stored first where the row deletes or reads one.
async fn rows(app: &TestApp, token: Option<&str>) -> Vec<(&'static Shape, String)> {
    let mut rows = Vec::new();
    for shape in SHAPES {
        let srn = unique_srn();
        if matches!(shape.action, Action::DeleteRecord | Action::ReadRecord) {
            seed(app, &srn, token).await;
        }
        rows.push((shape, srn));
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_of_the_table_answers() {
    let app = spawn_app().await;
    let rows = rows(&app, None).await;
    for (i, (shape, srn)) in rows.iter().enumerate() {
        let message = format!("row-{i}");
        let (values, expected) = valid(shape, srn, &message);
        let (status, body) = to_json(send(&app, shape, &values, None).await).await;
        assert_eq!(status, expected, "{shape:?}: {body}");
        match shape.action {
            Action::HealthCheck => {
                let carries = shape.source != Source::Path || shape.path_params().next().is_some();
                let echoed = if carries { message.as_str() } else { "ping" };
                assert_eq!(body["message"], echoed, "{shape:?}");
            }
            Action::InsertRecord => {
                assert_eq!(body["record"]["Name"], "Zoë Li / 李", "{shape:?}");
                assert_eq!(body["record"]["SRN"], srn.as_str(), "{shape:?}");
            }
            Action::DeleteRecord => assert_eq!(body["status"], "deleted", "{shape:?}"),
            Action::ReadRecord => assert_eq!(body["SRN"], srn.as_str(), "{shape:?}"),
            Action::ReadDatabase => assert!(body.is_array() || body["records"].is_array()),
        }
    }
    let mut stored = app.srns_in_database().await;
    let mut expected: Vec<String> = rows
        .into_iter()
        .filter(|(s, _)| matches!(s.action, Action::InsertRecord | Action::ReadRecord))
        .map(|(_, srn)| srn)
        .collect();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected, "inserted rows stored, deleted rows gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_that_changes_data_needs_the_token() {
    const TOKEN: &str = "table-token";
    let app = spawn_app_with(Options {
        api_token: Some(TOKEN.into()),
        ..Options::default()
    })
    .await;
    let rows = rows(&app, Some(TOKEN)).await;
    let before = app.srns_in_database().await;
    let (protected, open): (Vec<_>, Vec<_>) = rows.iter().partition(|(s, _)| s.needs_token());
    assert!(protected.len() >= 8, "{} protected rows", protected.len());
    for (shape, srn) in &protected {
        let (values, _) = valid(shape, srn, "m");
        for token in [None, Some("wrong")] {
            let response = send(&app, shape, &values, token).await;
            let challenge = response.headers().get("www-authenticate").cloned();
            assert_eq!(challenge.unwrap(), "Bearer", "{shape:?}");
            let (status, body) = to_json(response).await;
            let refused = (status, error_code(&body));
            assert_eq!(refused, (401, "unauthorized"), "{shape:?} {token:?}");
        }
    }
    let unchanged = app.srns_in_database().await;
    assert_eq!(unchanged, before, "nothing changed without the token");
    for (shape, srn) in &protected {
        let (values, expected) = valid(shape, srn, "m");
        let (status, body) = to_json(send(&app, shape, &values, Some(TOKEN)).await).await;
        assert_eq!(status, expected, "{shape:?} with the token: {body}");
    }
    for (shape, srn) in &open {
        let (values, expected) = valid(shape, srn, "m");
        let status = send(&app, shape, &values, None).await.status();
        assert_eq!(status, expected, "{shape:?} is open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_changing_get_refuses_prefetches_and_changes_nothing() {
    let app = spawn_app().await;
    let rows = rows(&app, None).await;
    let before = app.srns_in_database().await;
    let guarded: Vec<_> = rows.iter().filter(|(s, _)| s.refuses_prefetch()).collect();
    assert!(guarded.len() >= 4, "{} guarded rows", guarded.len());
    for (shape, srn) in guarded {
        let (values, _) = valid(shape, srn, "m");
        for (name, value) in prefetch::EXAMPLES {
            let request = shape_request(&app, shape, &values).header(*name, *value);
            let (status, body) = to_json(request.send().await.unwrap()).await;
            let refused = (status, error_code(&body));
            assert_eq!(
                refused,
                (403, "prefetch_refused"),
                "{shape:?} {name}: {value}"
            );
            assert!(
                body["detail"].as_str().unwrap().contains("prefetch"),
                "{body}"
            );
        }
        let url = shape_request(&app, shape, &values)
            .build()
            .unwrap()
            .url()
            .clone();
        let head = app.client.head(url).send().await.unwrap();
        assert_eq!(head.status(), 403, "HEAD {shape:?}");
    }
    let unchanged = app.srns_in_database().await;
    assert_eq!(unchanged, before, "no prefetch changed anything");
}
