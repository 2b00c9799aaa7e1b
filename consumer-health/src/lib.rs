//! consumer-health owns the `health_check` queue: it answers each health check with its
//! message, which proves the whole path from the producer through the broker to a
//! consumer and back. It needs no database.

use inventory::handler::{Failure, Handler, Message};
use protocol::{Operation, Reply, Request};

/// The health check: echo the message, name ourselves.
#[derive(Debug, Default)]
pub struct HealthCheck;

impl Handler for HealthCheck {
    const OPERATION: Operation = Operation::HealthCheck;
    /// The message.
    type Input = String;

    fn accept(request: Request) -> Result<String, Request> {
        match request {
            Request::HealthCheck { message } => Ok(message),
            other => Err(other),
        }
    }

    async fn handle(&self, message: &Message<String>) -> Result<Reply, Failure> {
        Ok(Reply::HealthOk {
            message: message.input.clone(),
            consumer: Self::OPERATION.consumer_name().into(),
        })
    }

    /// Nothing to wait for: as many at once as the prefetch delivers.
    fn concurrency(&self) -> usize {
        usize::MAX
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inventory::handler::Meta;

    #[tokio::test]
    async fn a_health_check_is_answered_with_its_message() {
        let message = Message {
            input: "hello".to_owned(),
            meta: Meta::with_id("r1"),
        };
        assert_eq!(
            HealthCheck.handle(&message).await,
            Ok(Reply::HealthOk {
                message: "hello".into(),
                consumer: "consumer-health".into()
            })
        );
    }

    #[test]
    fn only_health_checks_are_accepted() {
        assert!(HealthCheck::accept(Request::HealthCheck {
            message: "x".into()
        })
        .is_ok());
        let other = Request::DeleteRecord {
            srn: protocol::Srn::parse("A1").unwrap(),
        };
        assert_eq!(HealthCheck::accept(other.clone()), Err(other));
    }
}
