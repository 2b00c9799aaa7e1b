//! An operation's outcome as the row's family answers it. Health checks, inserts,
//! deletes and single records answer alike in both families; a list differs, and each
//! family's list is its own module: [`super::assignment`] and [`super::v1`].

use super::{assignment, v1};
use crate::answer::Answered;
use crate::operations::read::RawPage;
use crate::operations::Outcome;
use protocol::shapes::{Family, Shape};
use rocket::http::{Header, Status};

/// The answer to `outcome` of a request of `shape`.
pub fn present(shape: &Shape, outcome: Outcome) -> Answered {
    match outcome {
        Outcome::Health(body) => Answered::new(Status::Ok, &body, Some(&body.request_id)),
        Outcome::Inserted(body) => {
            let location = format!("/v1/records/{}", body.record.srn);
            Answered::new(Status::Created, &body, Some(&body.request_id))
                .with_header(Header::new("Location", location))
        }
        Outcome::Deleted(body) => Answered::new(Status::Ok, &body, Some(&body.request_id)),
        Outcome::Record { record, request_id } => {
            Answered::new(Status::Ok, &record, Some(&request_id))
        }
        Outcome::Listing(listing) => match shape.family {
            Family::Assignment => assignment::list(shape, listing),
            Family::V1 => v1::list(shape, listing),
        },
    }
}

/// `Link: <path?limit=..&after=..>; rel="next"` when a page of `limit` has more after it.
pub(super) fn next_link(
    shape: &Shape,
    page: &RawPage,
    limit: Option<u32>,
) -> Option<Header<'static>> {
    let (next, limit) = (page.next_after.as_ref()?, limit?);
    Some(Header::new(
        "Link",
        format!("<{}?limit={limit}&after={next}>; rel=\"next\"", shape.path),
    ))
}
