//! How `/v1` answers a list: `{"records": [...], "next_after": ...}`, with `Link`.

use super::present::next_link;
use crate::answer::{Answered, JsonBody};
use crate::operations::read::{Listing, RawPage};
use protocol::shapes::Shape;
use protocol::Srn;
use rocket::http::Status;

/// `{"records": [...], "next_after": ...}` with `Link`. `/v1` always pages, so a whole
/// list (which `protocol::input` never asks for on `/v1`) is one page without a next.
pub fn list(shape: &Shape, listing: Listing) -> Answered {
    let (page, limit, request_id) = match listing {
        Listing::Page {
            page,
            limit,
            request_id,
        } => (page, limit, request_id),
        Listing::Full {
            body, request_id, ..
        } => {
            let records = match body {
                JsonBody::Owned(bytes) => bytes,
                JsonBody::Shared(bytes) => bytes.to_vec(),
                JsonBody::Empty => b"[]".to_vec(),
            };
            let page = RawPage {
                records,
                next_after: None,
            };
            (page, None, request_id)
        }
    };
    let link = next_link(shape, &page, limit);
    let mut answered = Answered::json(
        Status::Ok,
        JsonBody::Owned(page_body(&page.records, page.next_after.as_ref())),
        Some(&request_id),
    );
    if let Some(link) = link {
        answered = answered.with_header(link);
    }
    answered
}

/// `{"records": [...], "next_after": ...}`, the v1 API's page ([`crate::body::PageBody`]),
/// around the records as the consumer wrote them.
fn page_body(records: &[u8], next_after: Option<&Srn>) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() + 64);
    out.extend_from_slice(b"{\"records\":");
    out.extend_from_slice(records);
    if let Some(next) = next_after {
        out.extend_from_slice(b",\"next_after\":");
        serde_json::to_writer(&mut out, next).expect("an SRN always serialises");
    }
    out.push(b'}');
    out
}
