//! The domain: a student record and the rules its fields obey.
//!
//! Each field is a type that validates on construction (`Srn::parse`, `Name::parse`,
//! `Section::parse`) and on deserialisation, so an invalid value cannot travel into a
//! message or a query: a `StudentRecord` that exists is valid.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest accepted SRN, in characters.
pub const SRN_MAX_CHARS: usize = 32;
/// Longest accepted name, in Unicode scalar values (MySQL counts code points alike).
pub const NAME_MAX_CHARS: usize = 100;
/// Longest accepted section, in Unicode scalar values.
pub const SECTION_MAX_CHARS: usize = 32;

/// Why a field was refused. The message names the field, so it can go to the client as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("{field} must not be empty or only white space")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} may contain only letters A-Z, digits 0-9, '-' and '_' (got {found:?})")]
    BadSrnCharacter { field: &'static str, found: char },
    #[error("{field} must not contain control characters")]
    ControlCharacter { field: &'static str },
}

impl RecordError {
    /// The field the error is about, as clients spell it.
    pub fn field(&self) -> &'static str {
        match self {
            RecordError::Empty { field }
            | RecordError::TooLong { field, .. }
            | RecordError::BadSrnCharacter { field, .. }
            | RecordError::ControlCharacter { field } => field,
        }
    }
}

/// A student registration number: the key of a record.
///
/// Stored upper-case: `pes1ug21cs096` and `PES1UG21CS096` are the same student, as the
/// university prints them. Surrounding white space is dropped (copy-paste leaves it),
/// and so is one pair of quotes around it (`?srn="PES1UG21CS096"`, as clients that
/// quote every value send it): quotes can never be part of an SRN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(value_type = String, pattern = "^[A-Za-z0-9_-]{1,32}$", example = "PES1UG21CS096")
)]
#[serde(transparent)]
pub struct Srn(String);

impl Srn {
    /// Validates and normalises an SRN: 1 to 32 of `A-Z a-z 0-9 - _`, upper-cased.
    ///
    /// Fails with a [`RecordError`] naming the field `SRN`.
    pub fn parse(raw: &str) -> Result<Srn, RecordError> {
        const FIELD: &str = "SRN";
        let trimmed = unquote(raw.trim()).trim();
        if trimmed.is_empty() {
            return Err(RecordError::Empty { field: FIELD });
        }
        if trimmed.chars().count() > SRN_MAX_CHARS {
            return Err(RecordError::TooLong {
                field: FIELD,
                max: SRN_MAX_CHARS,
            });
        }
        if let Some(found) = trimmed
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(RecordError::BadSrnCharacter {
                field: FIELD,
                found,
            });
        }
        Ok(Srn(trimmed.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `"x"` or `'x'` -> `x`; anything else as it is.
fn unquote(s: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
            return inner;
        }
    }
    s
}

/// A text field's type: its rule (not blank, at most `$max` characters, no control
/// characters), its serde and its OpenAPI schema, one definition per type.
/// `$max_chars` is `$max` as a literal, for the schema (utoipa reads no constants);
/// the build fails if they differ.
macro_rules! text_field {
    ($(#[$doc:meta])* $type:ident, $field:literal, $max:ident = $max_chars:tt, example $example:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(
            feature = "openapi",
            schema(value_type = String, min_length = 1, max_length = $max_chars, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$", example = $example)
        )]
        #[serde(transparent)]
        pub struct $type(String);

        const _: () = assert!($max == $max_chars);

        impl $type {
            /// Fails with a [`RecordError`] naming the field.
            pub fn parse(raw: &str) -> Result<$type, RecordError> {
                check_text($field, raw, $max).map($type)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $type::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_field! {
    /// A student's name: 1 to 100 characters, any Unicode but control characters, not
    /// blank; stored exactly as given (inner and outer spaces kept).
    Name, "Name", NAME_MAX_CHARS = 100, example "Anshul Ranjan"
}

text_field! {
    /// A class section: 1 to 32 characters, with the same rules as a [`Name`].
    Section, "Section", SECTION_MAX_CHARS = 32, example "B"
}

impl fmt::Display for Srn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Srn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Srn::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One student, as clients see it: `{"Name": ..., "SRN": ..., "Section": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StudentRecord {
    #[serde(rename = "Name")]
    pub name: Name,
    /// The key: 1 to 32 of A-Z a-z 0-9 - _, stored upper-case.
    #[serde(rename = "SRN")]
    pub srn: Srn,
    #[serde(rename = "Section")]
    pub section: Section,
}

impl StudentRecord {
    /// Validates all three fields (see [`Name`], [`Srn`], [`Section`]).
    pub fn new(name: &str, srn: &str, section: &str) -> Result<StudentRecord, RecordError> {
        Ok(StudentRecord {
            name: Name::parse(name)?,
            srn: Srn::parse(srn)?,
            section: Section::parse(section)?,
        })
    }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<String, RecordError> {
    if value.trim().is_empty() {
        return Err(RecordError::Empty { field });
    }
    if value.chars().count() > max {
        return Err(RecordError::TooLong { field, max });
    }
    if value.chars().any(char::is_control) {
        return Err(RecordError::ControlCharacter { field });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srn_is_trimmed_unquoted_and_upper_cased() {
        for raw in [
            "  pes1ug21cs096 ",
            "\"PES1UG21CS096\"",
            "'pes1ug21cs096'",
            " \" PES1UG21CS096 \" ",
        ] {
            assert_eq!(Srn::parse(raw).unwrap().as_str(), "PES1UG21CS096", "{raw}");
        }
    }

    #[test]
    fn srn_rejects_bad_input_naming_the_field() {
        for bad in [
            "", "   ", "PES 1", "PES;DROP", "../etc", "PÉS1", "a'b", "\"\"", "\"PES1", "'a\"",
        ] {
            let err = Srn::parse(bad).unwrap_err();
            assert_eq!(err.field(), "SRN", "{bad:?}");
        }
        let long = "A".repeat(SRN_MAX_CHARS + 1);
        assert!(matches!(
            Srn::parse(&long),
            Err(RecordError::TooLong { .. })
        ));
        assert!(Srn::parse(&"A".repeat(SRN_MAX_CHARS)).is_ok());
    }

    #[test]
    fn names_keep_unicode_exactly() {
        let r = StudentRecord::new("  Zoë Ñúñez 李小龍 🚀", "x1", "A").unwrap();
        assert_eq!(r.name.as_str(), "  Zoë Ñúñez 李小龍 🚀");
    }

    #[test]
    fn name_and_section_bounds_count_characters_not_bytes() {
        let hundred = "é".repeat(NAME_MAX_CHARS);
        assert!(StudentRecord::new(&hundred, "S1", "A").is_ok());
        let err = StudentRecord::new(&format!("{hundred}é"), "S1", "A").unwrap_err();
        assert_eq!(err.field(), "Name");
        let err = StudentRecord::new("Ann", "S1", &"B".repeat(33)).unwrap_err();
        assert_eq!(err.field(), "Section");
    }

    #[test]
    fn blank_and_control_characters_are_refused() {
        assert_eq!(
            StudentRecord::new(" \t", "S1", "A").unwrap_err(),
            RecordError::Empty { field: "Name" }
        );
        assert_eq!(
            StudentRecord::new("Ann\u{0}", "S1", "A").unwrap_err(),
            RecordError::ControlCharacter { field: "Name" }
        );
        assert_eq!(
            StudentRecord::new("Ann", "S1", "A\nB").unwrap_err(),
            RecordError::ControlCharacter { field: "Section" }
        );
    }

    #[test]
    fn record_serialises_with_the_assignment_field_names() {
        let r = StudentRecord::new("Ann", "pes1", "A").unwrap();
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Name": "Ann", "SRN": "PES1", "Section": "A"})
        );
        let back: StudentRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn deserialising_validates_every_field() {
        for bad in [
            serde_json::json!({"Name": "Ann", "SRN": "no spaces", "Section": "A"}),
            serde_json::json!({"Name": " ", "SRN": "S1", "Section": "A"}),
            serde_json::json!({"Name": "Ann", "SRN": "S1", "Section": "A\u{7}"}),
            serde_json::json!({"Name": "Ann", "SRN": "S1", "Section": "x".repeat(33)}),
        ] {
            assert!(
                serde_json::from_value::<StudentRecord>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
