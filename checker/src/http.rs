//! One HTTP request as the checker sends it, the answer it observed, and the `curl`
//! command that sends exactly the same request again.
//!
//! A [`Req`] is plain data (method, path, query, body), so the request that is sent and
//! the `curl` line printed in the report are built from the same value and cannot drift
//! apart. [`Http`] sends it with the per-request time limit and records its latency
//! under its route.

use crate::latency::Latencies;
use protocol::shapes::Method;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use url::form_urlencoded;

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// JSON text, sent as `application/json`.
    Json(String),
    /// Fields sent as `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// Fields sent as `multipart/form-data` (Postman's "form-data").
    Multipart(Vec<(String, String)>),
}

/// One request: everything needed to send it and to print it as `curl`.
#[derive(Debug, Clone, PartialEq)]
pub struct Req {
    pub method: Method,
    /// The path after the deployment's base URL, already percent-encoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Body>,
    /// What latencies are grouped under: the method and the route's path template.
    pub route: String,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>, route: impl Into<String>) -> Req {
        Req {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            route: route.into(),
        }
    }

    /// The full URL under `base`.
    pub fn url(&self, base: &str) -> String {
        let mut url = format!("{}{}", base.trim_end_matches('/'), self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(&encode_pairs(&self.query));
        }
        url
    }

    /// The `curl` command that sends this request again and shows the answer's status
    /// line, headers and body, with the same time limit.
    pub fn curl(&self, base: &str, timeout: Duration) -> String {
        let mut parts = vec![
            "curl".to_string(),
            "-sS".into(),
            "-i".into(),
            format!("--max-time {}", timeout.as_secs().max(1)),
        ];
        if self.method != Method::Get || self.body.is_some() {
            parts.push(format!("-X {}", self.method.as_str()));
        }
        parts.push(quote(&self.url(base)));
        match &self.body {
            None => {}
            Some(Body::Json(text)) => {
                parts.push("-H 'Content-Type: application/json'".into());
                parts.push(format!("--data-raw {}", quote(text)));
            }
            Some(Body::Form(pairs)) => {
                parts.push(format!("--data-raw {}", quote(&encode_pairs(pairs))));
            }
            Some(Body::Multipart(pairs)) => {
                for (k, v) in pairs {
                    parts.push(format!("--form-string {}", quote(&format!("{k}={v}"))));
                }
            }
        }
        parts.join(" ")
    }
}

fn encode_pairs(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Quotes a word for a POSIX shell: inside single quotes nothing is special but `'`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What came back, or why nothing did.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `None` when no HTTP answer arrived (refused, reset, timed out).
    pub status: Option<u16>,
    pub body: String,
    pub elapsed: Duration,
    /// Why no answer arrived.
    pub error: Option<String>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }
    pub fn is_client_error(&self) -> bool {
        matches!(self.status, Some(400..=499))
    }
    pub fn is_server_error(&self) -> bool {
        matches!(self.status, Some(500..=599))
    }

    /// `201 {"status":"inserted",…}` or `no answer: …`, short enough for one line.
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => {
                let body: String = self.body.split_whitespace().collect::<Vec<_>>().join(" ");
                if body.is_empty() {
                    format!("{status} (empty body)")
                } else {
                    format!("{status} {}", shorten(&body, 80))
                }
            }
            (None, Some(e)) => format!("no answer: {e}"),
            (None, None) => "no answer".into(),
        }
    }
}

/// The first `max` characters, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Longest answer body read; the rest is dropped (a read of a large table is counted
/// on what fits, and the report says so).
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// Sends requests to one deployment.
pub struct Http {
    client: reqwest::Client,
    pub base: String,
    pub timeout: Duration,
    latencies: Mutex<Latencies>,
}

impl Http {
    /// Fails if the TLS-less client cannot be built (never, in practice).
    pub fn new(base: &str, timeout: Duration) -> Result<Http, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("inventory-check/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_string(),
            timeout,
            latencies: Mutex::new(Latencies::default()),
        })
    }

    pub fn curl(&self, req: &Req) -> String {
        req.curl(&self.base, self.timeout)
    }

    /// Sends one request; never fails: a missing answer is an [`Answer`] too.
    pub async fn send(&self, req: &Req) -> Answer {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, req.url(&self.base));
        builder = match &req.body {
            None => builder,
            Some(Body::Json(text)) => builder
                .header("Content-Type", "application/json")
                .body(text.clone()),
            Some(Body::Form(pairs)) => builder
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(encode_pairs(pairs)),
            Some(Body::Multipart(pairs)) => {
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in pairs {
                    form = form.text(k.clone(), v.clone());
                }
                builder.multipart(form)
            }
        };
        let start = Instant::now();
        let answer = match builder.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut bytes = Vec::new();
                let mut error = None;
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) if bytes.len() < MAX_BODY_BYTES => {
                            bytes.extend_from_slice(&chunk)
                        }
                        Ok(_) => break,
                        Err(e) => {
                            error = Some(describe(&e));
                            break;
                        }
                    }
                }
                Answer {
                    status: error.is_none().then_some(status),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                    elapsed: start.elapsed(),
                    error,
                }
            }
            Err(e) => Answer {
                status: None,
                body: String::new(),
                elapsed: start.elapsed(),
                error: Some(describe(&e)),
            },
        };
        if answer.status.is_some() {
            let mut latencies = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
            latencies.record(&req.route, answer.elapsed);
        }
        answer
    }

    /// Whether the service answers HTTP at all: any status for `GET /` counts, since
    /// even a 404 shows the process is serving.
    pub async fn answers_at_all(&self) -> bool {
        let req = Req::new(Method::Get, "/", "GET /");
        let response = self.client.get(req.url(&self.base)).send().await;
        response.is_ok()
    }

    pub fn latencies(&self) -> Latencies {
        self.latencies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What went wrong, in a few words: reqwest's innermost cause says what actually
/// happened (refused, reset, closed), its outer layers only repeat the URL.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "no answer within the time limit (--timeout)".into();
    }
    let mut innermost: &dyn std::error::Error = e;
    while let Some(cause) = innermost.source() {
        innermost = cause;
    }
    let what = innermost.to_string();
    if e.is_connect() {
        format!("could not connect: {what}")
    } else {
        what
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_reproduces_method_url_and_body() {
        let mut req = Req::new(Method::Post, "/insert_record", "POST /insert_record");
        req.body = Some(Body::Json(r#"{"Name":"O'Neil"}"#.into()));
        assert_eq!(
            req.curl("http://h:1/", Duration::from_secs(10)),
            r#"curl -sS -i --max-time 10 -X POST 'http://h:1/insert_record' -H 'Content-Type: application/json' --data-raw '{"Name":"O'\''Neil"}'"#
        );
        let mut req = Req::new(Method::Get, "/delete_record", "GET /delete_record");
        req.query = vec![("SRN".into(), "A B&C".into())];
        assert_eq!(
            req.curl("http://h:1", Duration::from_secs(3)),
            "curl -sS -i --max-time 3 'http://h:1/delete_record?SRN=A+B%26C'"
        );
        req.body = Some(Body::Form(vec![("Name".into(), "Zoë".into())]));
        assert!(req
            .curl("http://h", Duration::from_secs(1))
            .ends_with("-X GET 'http://h/delete_record?SRN=A+B%26C' --data-raw 'Name=Zo%C3%AB'"));
    }

    #[test]
    fn summaries_are_one_short_line() {
        let a = Answer {
            status: Some(500),
            body: "Internal\n  Server Error".repeat(20),
            elapsed: Duration::ZERO,
            error: None,
        };
        assert!(a
            .summary()
            .starts_with("500 Internal Server ErrorInternal Server"));
        assert!(a.summary().ends_with('…'));
        assert!(a.is_server_error() && !a.is_success());
    }
}
