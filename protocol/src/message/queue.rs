//! The requests that go to one queue, as their own types: what that queue's consumer
//! works on.

use super::{Request, TableVersion};
use crate::operation::Operation;
use crate::record::{Srn, StudentRecord};

/// The requests that go to one queue, as their own types: what that queue's consumer
/// works on. `TryFrom<Request>` takes one out of a decoded message, or gives the message
/// back when it belongs to another queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckRequest {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertRequest {
    pub record: StudentRecord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    pub srn: Srn,
}

/// The `read_database` queue takes two kinds of read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRequest {
    /// One record by SRN.
    Record { srn: Srn },
    /// All records after `after` (all of them without it), or with `limit` one page;
    /// `unchanged` if the table is still at `known_version`.
    Records {
        after: Option<Srn>,
        limit: Option<u32>,
        known_version: Option<TableVersion>,
    },
}

/// One queue's request type: the operation it goes to, and how it is taken out of a
/// decoded [`Request`].
pub trait QueueRequest: TryFrom<Request, Error = Request> {
    const OPERATION: Operation;
}

impl QueueRequest for ReadRequest {
    const OPERATION: Operation = Operation::ReadDatabase;
}

/// `TryFrom<Request>` and [`QueueRequest`] for the requests that are one variant each.
macro_rules! one_variant {
    ($($type:ident = $variant:ident { $field:ident }),+ $(,)?) => {$(
        impl QueueRequest for $type {
            const OPERATION: Operation = Operation::$variant;
        }

        impl TryFrom<Request> for $type {
            type Error = Request;

            fn try_from(request: Request) -> Result<$type, Request> {
                match request {
                    Request::$variant { $field } => Ok($type { $field }),
                    other => Err(other),
                }
            }
        }
    )+};
}

one_variant!(
    HealthCheckRequest = HealthCheck { message },
    InsertRequest = InsertRecord { record },
    DeleteRequest = DeleteRecord { srn },
);

impl TryFrom<Request> for ReadRequest {
    type Error = Request;

    fn try_from(request: Request) -> Result<ReadRequest, Request> {
        match request {
            Request::ReadRecord { srn } => Ok(ReadRequest::Record { srn }),
            Request::ReadDatabase {
                after,
                limit,
                known_version,
            } => Ok(ReadRequest::Records {
                after,
                limit,
                known_version,
            }),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_queue_takes_its_own_requests_and_gives_back_the_others() {
        let delete = Request::DeleteRecord {
            srn: Srn::parse("A1").unwrap(),
        };
        let read = Request::ReadRecord {
            srn: Srn::parse("A1").unwrap(),
        };
        assert!(DeleteRequest::try_from(delete.clone()).is_ok());
        assert_eq!(InsertRequest::try_from(delete.clone()), Err(delete.clone()));
        assert_eq!(ReadRequest::try_from(delete.clone()), Err(delete));
        assert!(matches!(
            ReadRequest::try_from(read),
            Ok(ReadRequest::Record { .. })
        ));
        let health = Request::HealthCheck {
            message: "m".into(),
        };
        assert_eq!(
            HealthCheckRequest::try_from(health),
            Ok(HealthCheckRequest {
                message: "m".into()
            })
        );
    }
}
