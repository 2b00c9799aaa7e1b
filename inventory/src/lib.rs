//! The shared library of the student-records services: what all of them need and none
//! of them owns. The operations themselves live in their consumer crates
//! (`consumer-insert` inserts, `consumer-read` reads, ...); what travels on the wire is
//! in the I/O-free `protocol` crate.
//! - [`worker`]: the run loop every consumer shares, and [`handler`], the boundary a
//!   consumer implements (one operation, as a [`handler::Handler`]);
//! - [`topology`]: exchange, queue and routing-key names, declared idempotently;
//! - [`broker`]: connecting to RabbitMQ with bounded backoff;
//! - [`db`]: the database pool, and what its errors mean for a message;
//! - [`migrate`]: the schema, from the versioned files in `migrations/`;
//! - [`tls`]: TLS to the broker and the database, and the producer's HTTPS settings;
//! - [`secret`]: passwords and tokens that never print;
//! - [`settings`]: the one typed settings struct, read from the environment (and
//!   [`file_variables`]: `X_FILE` for an unset `X`);
//! - [`shutdown`]: one stop signal for every task;
//! - [`provision`]: the broker users, permissions and database accounts provisioning
//!   creates, rendered from the topology (the `topology` binary prints them);
//! - [`dead_letters`]: inspecting and replaying the dead-letter queue.

pub mod broker;
pub mod db;
pub mod dead_letters;
pub mod file_variables;
pub mod handler;
pub mod migrate;
pub mod provision;
pub mod secret;
pub mod settings;
pub mod shutdown;
pub mod tls;
pub mod topology;
pub mod worker;

pub use settings::Settings;
