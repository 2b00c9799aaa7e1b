//! `GET /`: the web page for browsers, the list of routes (JSON) for everything else.

use protocol::shapes::{Source, SHAPES};
use rocket::get;
use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use serde_json::{json, Map, Value};

/// The web page: one self-contained file (no build step, no front-end server) that
/// drives the JSON API. Compiled in, so the binary is all a deployment needs.
const PAGE: &str = include_str!("../static/index.html");

/// Matches requests that name `text/html` in `Accept`, as browsers do; curl's `*/*`
/// does not, so curl gets the JSON route list.
pub struct WantsHtml;

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for WantsHtml {
    type Error = ();

    async fn from_request(req: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, ()> {
        let html = req
            .headers()
            .get("Accept")
            .any(|accept| accept.contains("text/html"));
        if html {
            rocket::request::Outcome::Success(WantsHtml)
        } else {
            rocket::request::Outcome::Forward(Status::NotFound)
        }
    }
}

/// Browsers get the page; API clients get the JSON route list.
#[get("/", rank = 1)]
pub fn page(_browser: WantsHtml) -> (ContentType, &'static str) {
    (ContentType::HTML, PAGE)
}

/// The routes, as JSON (what curl gets at `/`): every row of the table of shapes, and
/// the routes outside it.
#[utoipa::path(tag = "probes", responses((status = 200, description = "Route list", body = Object)))]
#[get("/", rank = 2)]
pub fn index() -> Json<Value> {
    let mut routes = Map::new();
    for shape in SHAPES {
        let from = match shape.source {
            Source::Path => "the path",
            Source::Query => "the query",
            Source::BodyAndQuery => "a JSON, form or multipart body, or the query",
            Source::JsonBody => "a JSON body",
        };
        routes.insert(
            format!("{} {}", shape.method.as_str(), shape.path),
            json!(format!(
                "{}; fields from {from}",
                shape.action.operation().routing_key()
            )),
        );
    }
    for (route, what) in [
        (
            "GET /openapi.json",
            "the OpenAPI 3 document; browse it at /api-docs/",
        ),
        ("GET /metrics", "Prometheus metrics"),
        ("GET /healthz", "the producer process is alive"),
        (
            "GET /readyz",
            "broker connected, a consumer on every queue, database reachable",
        ),
    ] {
        routes.insert(route.into(), json!(what));
    }
    Json(json!({
        "service": "student-records producer",
        "routes": routes,
    }))
}
