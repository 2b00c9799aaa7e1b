//! `bad-input`: requests with missing or malformed arguments, sent in the shape the
//! deployment accepts, must get a 4xx: a 5xx is a crash, a 2xx claims success for
//! something that cannot have succeeded, and no answer is a hang.
//!
//! Every probe that names an SRN uses one of the run's own, so anything a lenient
//! deployment stores by mistake is removed by cleanup.

use crate::ctx::{Ctx, NAME_TEXT};
use crate::http::{Body, Req};
use crate::report::{Detail, Outcome, Status};
use crate::variants::{Encoding, Value, Variant};
use protocol::shapes::{NAME, SECTION, SRN};

/// One probe: what it is, and its request (`None` when the accepted shape cannot
/// express it, e.g. a broken JSON body for a form-only deployment).
struct Probe {
    label: &'static str,
    req: Option<Req>,
}

fn probes(ctx: &mut Ctx, insert: Variant, delete: Option<Variant>) -> Vec<Probe> {
    let text = |s: &str| Value::Text(s.to_string());
    let path_only = insert.encoding == Encoding::Path;
    let json = insert.encoding == Encoding::Json;
    let (a, b, c) = (ctx.srns.fresh(), ctx.srns.fresh(), ctx.srns.fresh());
    for srn in [&a, &b, &c] {
        ctx.track(srn);
    }
    let broken_json = {
        let mut req = insert.request(&[]);
        req.body = Some(Body::Json(format!(
            r#"{{"Name": "{NAME_TEXT}", "SRN": "{a}", "#
        )));
        req
    };
    vec![
        Probe {
            label: "insert with no fields",
            req: (!path_only).then(|| insert.request(&[])),
        },
        Probe {
            label: "insert without SRN",
            req: (!path_only)
                .then(|| insert.request(&[(&NAME, text(NAME_TEXT)), (&SECTION, text("A"))])),
        },
        Probe {
            label: "insert without Name",
            req: (!path_only).then(|| insert.request(&[(&SRN, text(&b)), (&SECTION, text("A"))])),
        },
        Probe {
            label: "insert with a broken JSON body",
            req: json.then_some(broken_json),
        },
        Probe {
            label: "insert with a list as SRN",
            req: json.then(|| {
                insert.request(&[
                    (&NAME, text(NAME_TEXT)),
                    (&SRN, Value::Json(serde_json::json!([c, "X"]))),
                    (&SECTION, text("A")),
                ])
            }),
        },
        Probe {
            label: "delete without SRN",
            req: delete
                .filter(|d| d.encoding != Encoding::Path)
                .map(|d| d.request(&[])),
        },
    ]
}

pub(super) async fn bad_input(ctx: &mut Ctx) -> Outcome {
    let insert = ctx
        .found
        .insert
        .expect("the runner checks insert was found");
    let delete = ctx.found.delete;
    let mut details = Vec::new();
    let mut failed = Vec::new();
    let mut curl = Vec::new();
    for probe in probes(ctx, insert, delete) {
        let Some(req) = probe.req else {
            details.push(Detail {
                label: probe.label.into(),
                status: Status::NotApplicable,
                note: "the accepted shape cannot carry this".into(),
                curl: None,
            });
            continue;
        };
        let answer = ctx.send(&req).await;
        let ok = answer.is_client_error();
        let status = if ok { Status::Pass } else { Status::Fail };
        if !ok {
            failed.push(format!("{}: {}", probe.label, answer.summary()));
            curl.push(ctx.curl(&req));
        }
        details.push(Detail {
            label: probe.label.into(),
            status,
            note: answer.summary(),
            curl: Some(ctx.curl(&req)),
        });
        if ctx.down.is_some() {
            break;
        }
    }
    let tried = details
        .iter()
        .filter(|d| d.status != Status::NotApplicable)
        .count();
    if failed.is_empty() {
        let statuses: Vec<String> = details
            .iter()
            .filter(|d| d.status == Status::Pass)
            .filter_map(|d| d.note.split(' ').next().map(str::to_string))
            .collect();
        return Outcome::pass(format!(
            "all {tried} malformed requests got a 4xx ({})",
            statuses.join(", ")
        ))
        .with_details(details);
    }
    Outcome::fail(format!(
        "{} of {tried} malformed requests did not get a 4xx: {}{}",
        failed.len(),
        failed.join("; "),
        ctx.down_note()
    ))
    .with_curl(curl)
    .with_details(details)
}
