//! Why a request's input was refused. Each kind is one client mistake; the producer maps
//! kinds to HTTP statuses in its one error map, so nothing here knows about HTTP.

use crate::record::RecordError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The body or query cannot be read at all (not JSON, not a form, not UTF-8).
    #[error("{0}")]
    Unreadable(String),
    /// A field is missing, invalid, of the wrong type, repeated or unknown.
    #[error("{detail}")]
    InvalidField { field: String, detail: String },
    /// A body of a type this route does not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
}

impl InputError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> InputError {
        InputError::InvalidField {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl From<RecordError> for InputError {
    fn from(e: RecordError) -> Self {
        InputError::invalid(e.field(), e.to_string())
    }
}
