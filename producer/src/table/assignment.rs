//! How the assignment's routes answer a list: a bare JSON array, with `X-Next-After`
//! and `Link` for a page, and `ETag` (and `304` for `If-None-Match`) for the whole list.

use super::present::next_link;
use crate::answer::{Answered, JsonBody};
use crate::operations::read::Listing;
use crate::snapshot;
use protocol::shapes::Shape;
use rocket::http::{Header, Status};

/// A bare array; the whole list with its `ETag`, a page with `X-Next-After` and `Link`.
pub fn list(shape: &Shape, listing: Listing) -> Answered {
    match listing {
        Listing::Full {
            body,
            version,
            not_modified,
            request_id,
        } => {
            let status = if not_modified {
                Status::NotModified
            } else {
                Status::Ok
            };
            let answered = Answered::json(status, body, Some(&request_id));
            match version {
                Some(version) => {
                    answered.with_header(Header::new("ETag", snapshot::etag(&version)))
                }
                None => answered,
            }
        }
        Listing::Page {
            page,
            limit,
            request_id,
        } => {
            let link = next_link(shape, &page, limit);
            let mut answered =
                Answered::json(Status::Ok, JsonBody::Owned(page.records), Some(&request_id));
            if let (Some(next), Some(link)) = (page.next_after, link) {
                answered = answered
                    .with_header(Header::new("X-Next-After", next.to_string()))
                    .with_header(link);
            }
            answered
        }
    }
}
