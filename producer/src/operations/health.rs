//! The health check: the message travels through the `health_check` queue and back.

use super::{call, unexpected, Context};
use crate::body::HealthBody;
use crate::error::ApiError;
use protocol::{Reply, Request};

/// Sends `message` (already checked by `protocol::input`) and returns the echo.
pub async fn check(ctx: &Context<'_>, message: String) -> Result<HealthBody, ApiError> {
    let answer = call(ctx.gateway, Request::HealthCheck { message }, ctx.meta).await?;
    let round_trip_ms = answer.round_trip.as_secs_f64() * 1000.0;
    match answer.reply {
        Reply::HealthOk { message, consumer } => Ok(HealthBody {
            status: "ok".into(),
            message,
            consumer,
            round_trip_ms: (round_trip_ms * 1000.0).round() / 1000.0,
            request_id: answer.request_id,
        }),
        _ => Err(unexpected(answer)),
    }
}
