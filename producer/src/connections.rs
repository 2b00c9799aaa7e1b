//! Client connections: how many may be open at once, and how long each may take to
//! send its request. The limits are enforced by the patched Rocket
//! (`vendor/rocket-0.5.2`: hyper's header-read deadline and an accept-time cap) and by
//! [`crate::input`] for the body; this module sizes them from the settings and the
//! process's open-file limit, and hands them to Rocket's configuration.

use inventory::Settings;
use rocket::figment::Figment;
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept for everything but client connections: the broker connection,
/// the listener, the runtime's own (epoll, eventfd), logs, and room for a reconnect
/// while an old connection is still closing. A tenth of the limit, at least this.
pub const FD_RESERVE_MIN: u64 = 256;

/// Raises the soft open-file limit to the hard one (a service may use what the
/// administrator allows; distributions keep the soft limit low for old `select`
/// users). Returns the soft limit in force afterwards; if raising fails, the limit
/// as it was.
pub fn raise_fd_limit() -> u64 {
    let limit = getrlimit(Resource::Nofile);
    // No hard limit: the kernel still caps descriptors at fs.nr_open (2^20 by default).
    let hard = limit.maximum.unwrap_or(1 << 20);
    let soft = limit.current.unwrap_or(hard);
    if soft < hard {
        let raised = Rlimit {
            current: Some(hard),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return hard;
        }
    }
    soft
}

/// The default cap on open client connections under an open-file limit of
/// `fd_limit`: the limit less a reserve ([`FD_RESERVE_MIN`] or a tenth, whichever is
/// more), and at least 1.
pub fn default_max_connections(fd_limit: u64) -> usize {
    let reserve = (fd_limit / 10).max(FD_RESERVE_MIN);
    usize::try_from(fd_limit.saturating_sub(reserve).max(1)).unwrap_or(usize::MAX)
}

/// Raises the open-file limit, sizes the connection cap (`HTTP_MAX_CONNECTIONS`, or
/// from the limit), merges the cap and the header deadline into Rocket's
/// configuration, and logs the limits in force.
pub fn configure(figment: Figment, settings: &Settings) -> Figment {
    let fd_limit = raise_fd_limit();
    let max_connections = settings
        .http_max_connections
        .unwrap_or_else(|| default_max_connections(fd_limit));
    if max_connections as u64 >= fd_limit {
        log::warn!(
            "producer: HTTP_MAX_CONNECTIONS={max_connections} is not below the open-file limit ({fd_limit}): the broker connection can be starved of descriptors"
        );
    }
    // At least 1 ms: 0 would switch the patched Rocket's deadline off.
    let header_ms =
        u64::try_from(settings.http_header_timeout.as_millis().max(1)).unwrap_or(u64::MAX);
    log::info!(
        "producer: at most {max_connections} client connections (open-file limit {fd_limit}); {header_ms} ms for a request header, {} ms for a body",
        settings.http_body_timeout.as_millis()
    );
    figment
        .merge(("header_read_timeout_ms", header_ms))
        .merge(("max_connections", max_connections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_a_reserve_of_descriptors() {
        assert_eq!(default_max_connections(1024), 1024 - 256);
        assert_eq!(default_max_connections(20_000), 18_000);
        assert_eq!(default_max_connections(1 << 20), (1 << 20) - (1 << 20) / 10);
        assert_eq!(default_max_connections(100), 1);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let before = getrlimit(Resource::Nofile);
        let now = raise_fd_limit();
        let after = getrlimit(Resource::Nofile);
        assert_eq!(after.current, Some(now));
        if let Some(hard) = before.maximum {
            assert_eq!(now, hard);
        }
    }

    #[test]
    fn the_settings_reach_rockets_configuration() {
        let settings = Settings {
            http_header_timeout: std::time::Duration::from_millis(1500),
            http_max_connections: Some(42),
            ..Settings::default()
        };
        let config: rocket::Config = configure(rocket::Config::figment(), &settings)
            .extract()
            .unwrap();
        assert_eq!(config.header_read_timeout_ms, 1500);
        assert_eq!(config.max_connections, 42);
        let config: rocket::Config = configure(rocket::Config::figment(), &Settings::default())
            .extract()
            .unwrap();
        assert_eq!(config.header_read_timeout_ms, 10_000);
        assert_eq!(
            config.max_connections,
            default_max_connections(raise_fd_limit())
        );
    }
}
