//! From a request's fields to what its action needs: the one place each action's fields
//! are read and checked, whatever shape the request came in.

use crate::error::InputError;
use crate::fields::{Fields, Value};
use crate::record::{Srn, StudentRecord};
use crate::shapes::{Action, Family, AFTER, LIMIT, MESSAGE, NAME, SECTION, SRN};

/// Longest health-check message echoed, in characters.
pub const HEALTH_MESSAGE_MAX_CHARS: usize = 1024;
/// The health-check message when the client sends none.
pub const DEFAULT_HEALTH_MESSAGE: &str = "ping";
/// Largest page `limit` serves.
pub const PAGE_MAX: u32 = 1000;
/// The `/v1` list's page size when `limit` is not given (the assignment's read answers
/// everything instead).
pub const V1_DEFAULT_PAGE: u32 = 100;

/// What one request asks for, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    HealthCheck {
        message: String,
    },
    InsertRecord(StudentRecord),
    DeleteRecord(Srn),
    ReadDatabase {
        after: Option<Srn>,
        limit: Option<u32>,
    },
    ReadRecord(Srn),
}

/// Reads the fields `action` takes; any other field is refused.
pub fn read_input(action: Action, family: Family, mut fields: Fields) -> Result<Input, InputError> {
    Ok(match action {
        Action::HealthCheck => Input::HealthCheck {
            message: health_message(fields)?,
        },
        Action::InsertRecord => Input::InsertRecord(record(fields)?),
        Action::DeleteRecord => Input::DeleteRecord(srn(fields)?),
        Action::ReadRecord => Input::ReadRecord(srn(fields)?),
        Action::ReadDatabase => {
            let (after, limit) = page(&mut fields)?;
            fields.reject_unknown("limit and after")?;
            let limit = match family {
                Family::V1 => Some(limit.unwrap_or(V1_DEFAULT_PAGE)),
                Family::Assignment => limit,
            };
            Input::ReadDatabase { after, limit }
        }
    })
}

/// The message under its name or an alias; else the only field given (`?anything=hello`,
/// or a bare word, `?hello`); else `ping`.
fn health_message(mut fields: Fields) -> Result<String, InputError> {
    let message = match fields.take_text(&MESSAGE)? {
        Some(message) => message,
        None => match fields.only_one() {
            Some((key, Value::Text(value))) if value.is_empty() => key.clone(),
            Some((_, Value::Text(value))) => value.clone(),
            _ => {
                fields.reject_unknown(MESSAGE.name)?;
                DEFAULT_HEALTH_MESSAGE.to_owned()
            }
        },
    };
    if message.chars().count() > HEALTH_MESSAGE_MAX_CHARS {
        return Err(InputError::invalid(
            MESSAGE.name,
            format!("message is longer than {HEALTH_MESSAGE_MAX_CHARS} characters"),
        ));
    }
    if message.chars().any(char::is_control) {
        return Err(InputError::invalid(
            MESSAGE.name,
            "message must not contain control characters",
        ));
    }
    Ok(message)
}

/// A record's three fields, validated; any other field is refused first (`Sectoin` is
/// more likely a typo than a second mistake).
fn record(mut fields: Fields) -> Result<StudentRecord, InputError> {
    const ALL: &str = "Name, SRN and Section";
    if fields.is_empty() {
        return Err(InputError::invalid(
            NAME.name,
            format!("{ALL} are required (JSON body, form, query parameters or path)"),
        ));
    }
    let name = fields.take_text(&NAME)?;
    let srn = fields.take_text(&SRN)?;
    let section = fields.take_text(&SECTION)?;
    fields.reject_unknown(ALL)?;
    let required = |value: Option<String>, field: &str| {
        value.ok_or_else(|| InputError::invalid(field, format!("{field} is required")))
    };
    Ok(StudentRecord::new(
        &required(name, NAME.name)?,
        &required(srn, SRN.name)?,
        &required(section, SECTION.name)?,
    )?)
}

fn srn(mut fields: Fields) -> Result<Srn, InputError> {
    let srn = fields.require_text(&SRN)?;
    fields.reject_unknown(SRN.name)?;
    Ok(Srn::parse(&srn)?)
}

/// The optional `after` (an SRN) and `limit` (1 to [`PAGE_MAX`]) paging fields.
fn page(fields: &mut Fields) -> Result<(Option<Srn>, Option<u32>), InputError> {
    let after = fields
        .take_text(&AFTER)?
        .map(|s| {
            Srn::parse(&s).map_err(|e| {
                InputError::invalid(AFTER.name, e.to_string().replacen("SRN", "after", 1))
            })
        })
        .transpose()?;
    let limit = fields
        .take_text(&LIMIT)?
        .map(|s| match s.trim().parse::<u32>() {
            Ok(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
            _ => Err(InputError::invalid(
                LIMIT.name,
                format!("limit must be a whole number from 1 to {PAGE_MAX}"),
            )),
        })
        .transpose()?;
    Ok((after, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{read_path, read_query};

    fn query(action: Action, q: &str) -> Result<Input, InputError> {
        read_input(action, Family::Assignment, read_query(Some(q)).unwrap())
    }

    #[test]
    fn the_health_message_comes_from_a_name_an_alias_a_lone_field_or_a_bare_word() {
        for (q, expected) in [
            ("message=hi", "hi"),
            ("MSG=hi", "hi"),
            ("anything=hi", "hi"),
            ("hi", "hi"),
            ("", "ping"),
        ] {
            assert_eq!(
                query(Action::HealthCheck, q).unwrap(),
                Input::HealthCheck {
                    message: expected.into()
                },
                "{q}"
            );
        }
        assert!(query(Action::HealthCheck, "a=1&b=2").is_err());
        assert!(query(Action::HealthCheck, "message=%07").is_err());
        let long = "x".repeat(HEALTH_MESSAGE_MAX_CHARS + 1);
        assert!(query(Action::HealthCheck, &format!("message={long}")).is_err());
    }

    #[test]
    fn an_insert_reads_three_fields_from_anywhere_and_names_what_is_wrong() {
        let from_path = read_input(
            Action::InsertRecord,
            Family::Assignment,
            read_path(&[
                ("srn", "%22pes1%22"),
                ("name", "Ann%20Lee"),
                ("section", "A"),
            ])
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            from_path,
            Input::InsertRecord(StudentRecord::new("Ann Lee", "PES1", "A").unwrap())
        );
        let err = query(Action::InsertRecord, "name=a&srn=b&sectoin=c").unwrap_err();
        assert!(err.to_string().contains("sectoin"), "{err}");
        let err = query(Action::InsertRecord, "name=a&srn=b").unwrap_err();
        assert_eq!(err, InputError::invalid("Section", "Section is required"));
        assert!(query(Action::InsertRecord, "").is_err());
    }

    #[test]
    fn pages_are_bounded_and_v1_has_a_default() {
        assert_eq!(
            query(Action::ReadDatabase, "limit=5&after=b").unwrap(),
            Input::ReadDatabase {
                after: Some(Srn::parse("B").unwrap()),
                limit: Some(5)
            }
        );
        for bad in ["limit=0", "limit=1001", "limit=x", "after=a%20b", "page=2"] {
            assert!(query(Action::ReadDatabase, bad).is_err(), "{bad}");
        }
        let v1 = read_input(Action::ReadDatabase, Family::V1, Fields::default()).unwrap();
        assert_eq!(
            v1,
            Input::ReadDatabase {
                after: None,
                limit: Some(V1_DEFAULT_PAGE)
            }
        );
    }
}
