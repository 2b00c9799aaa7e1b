//! Shared core of the student-records system.
//!
//! Everything the producer and the four consumers agree on lives here, so that the
//! binaries stay thin and tests can drive the real logic:
//! - [`record`]: the domain (`StudentRecord`, `Srn`) and its validation;
//! - [`message`]: the versioned request and reply messages that travel through RabbitMQ;
//! - [`topology`]: exchange, queue and routing-key names, declared idempotently;
//! - [`settings`]: the one typed settings struct, read from the environment (and
//!   [`file_variables`]: `X_FILE` for an unset `X`);
//! - [`store`]: MySQL access through one bounded `mysql_async` pool;
//! - [`broker`]: connecting to RabbitMQ with bounded backoff;
//! - [`consumer`]: the run loop shared by the four consumers and the one step it repeats;
//! - [`provision`]: the broker users, permissions and database accounts provisioning
//!   creates, rendered from the topology (the `topology` binary prints them).

pub mod broker;
pub mod consumer;
pub mod dead_letters;
pub mod file_variables;
pub mod message;
pub mod provision;
pub mod record;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod topology;

pub use message::{Reply, Request};
pub use record::{RecordError, Srn, StudentRecord};
pub use settings::Settings;
pub use store::{RecordStore, StoreError};
pub use topology::Operation;
