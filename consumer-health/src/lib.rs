//! consumer-health owns the `health_check` queue: it answers each health check with its
//! message, which proves the whole path from the producer through the broker to a
//! consumer and back. It needs no database.

use inventory::handler::{Failure, Handler, Message};
use protocol::message::{HealthCheckRequest, QueueRequest};
use protocol::Reply;

/// The health check: echo the message, name ourselves.
#[derive(Debug, Default)]
pub struct HealthCheck;

impl Handler for HealthCheck {
    type Input = HealthCheckRequest;

    async fn handle(&self, message: &Message<HealthCheckRequest>) -> Result<Reply, Failure> {
        Ok(Reply::HealthOk {
            message: message.input.message.clone(),
            consumer: HealthCheckRequest::OPERATION.consumer_name().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inventory::handler::Meta;

    #[tokio::test]
    async fn a_health_check_is_answered_with_its_message() {
        let message = Message {
            input: HealthCheckRequest {
                message: "hello".to_owned(),
            },
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
}
