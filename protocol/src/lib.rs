//! What the student-records system says on the wire, with no I/O.
//!
//! Everything here is pure data and pure functions over bytes, with no HTTP server,
//! broker or database client behind it, so the producer, the consumers, the
//! conformance checker and the fuzz targets share one definition of each:
//! - [`record`]: a student record and the rules its fields obey;
//! - [`operation`]: the four operations and their queue and consumer names;
//! - [`message`]: the versioned request and reply messages carried by RabbitMQ;
//! - [`shapes`]: the table of request shapes the producer accepts;
//! - [`body`]: reading fields from a body, a query string or path segments;
//! - [`fields`]: those fields, matched by any spelling;
//! - [`input`]: from fields to what each action needs;
//! - [`error`]: why an input was refused.

pub mod body;
pub mod error;
pub mod fields;
pub mod input;
pub mod message;
pub mod operation;
pub mod record;
pub mod shapes;

pub use error::InputError;
pub use message::{Reply, Request, TableVersion};
pub use operation::Operation;
pub use record::{Name, RecordError, Section, Srn, StudentRecord};
