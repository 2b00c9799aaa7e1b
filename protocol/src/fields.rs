//! The fields of one request, from wherever they came (path, query, body), in one map.
//!
//! Field names are matched ignoring case, `_`, `-` and spaces, and through the aliases
//! the table of shapes gives ([`crate::shapes::FieldName`]). Unknown fields are refused,
//! so a typo (`Sectoin`) is reported instead of silently read as "Section is missing".

use crate::error::InputError;
use crate::shapes::FieldName;
use std::collections::HashSet;

/// A field's value before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    /// A JSON number, kept as written (`"Section": 5`).
    Number(String),
    /// Any other JSON type; named in the error.
    Other(&'static str),
}

/// Fields in arrival order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fields {
    entries: Vec<(String, Value)>,
}

/// Folds a field name for matching: `Student-Name`, `student_name` -> `studentname`.
pub fn fold(key: &str) -> String {
    #[cfg(test)]
    tests::FOLDS.with(|n| n.set(n.get() + 1));
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Fields {
    pub fn new(entries: Vec<(String, Value)>) -> Fields {
        Fields { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `other`'s fields whose names this map does not have (path, then body, then
    /// query). A name `other` gives twice is kept twice, so that [`Fields::take`] still
    /// reports it.
    ///
    /// Each name is folded once: comparing every pair made a 64 KiB form body and an
    /// 8 KiB query of distinct names cost seconds of CPU.
    pub fn fill_from(&mut self, other: Fields) {
        let had: HashSet<String> = self.entries.iter().map(|(k, _)| fold(k)).collect();
        self.entries.extend(
            other
                .entries
                .into_iter()
                .filter(|(key, _)| !had.contains(&fold(key))),
        );
    }

    /// Removes and returns the field, under its name or one of its aliases.
    ///
    /// Fails if it was given more than once.
    pub fn take(&mut self, field: &FieldName) -> Result<Option<Value>, InputError> {
        let wanted: Vec<String> = field.spellings().map(fold).collect();
        let (matching, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|(k, _)| wanted.contains(&fold(k)));
        self.entries = rest;
        let mut matching = matching.into_iter();
        let first = matching.next();
        if matching.next().is_some() {
            return Err(InputError::invalid(
                field.name,
                format!("{} is given more than once", field.name),
            ));
        }
        Ok(first.map(|(_, v)| v))
    }

    /// Removes the field and returns it as text; a JSON number is accepted where the
    /// field allows numbers. Fails on another type.
    pub fn take_text(&mut self, field: &FieldName) -> Result<Option<String>, InputError> {
        let type_error = |found: &str| {
            InputError::invalid(
                field.name,
                format!("{} must be a string, not {found}", field.name),
            )
        };
        match self.take(field)? {
            None => Ok(None),
            Some(Value::Text(s)) => Ok(Some(s)),
            Some(Value::Number(n)) if field.numbers => Ok(Some(n)),
            Some(Value::Number(_)) => Err(type_error("a number")),
            Some(Value::Other(kind)) => Err(type_error(kind)),
        }
    }

    /// Like [`Fields::take_text`], but the field must be present.
    pub fn require_text(&mut self, field: &FieldName) -> Result<String, InputError> {
        self.take_text(field)?
            .ok_or_else(|| InputError::invalid(field.name, format!("{} is required", field.name)))
    }

    /// Fails if any field is left that the route does not know.
    pub fn reject_unknown(&self, expected: &str) -> Result<(), InputError> {
        let Some((first, _)) = self.entries.first() else {
            return Ok(());
        };
        let names: Vec<String> = self.entries.iter().map(|(k, _)| format!("{k:?}")).collect();
        Err(InputError::invalid(
            first.clone(),
            format!("unknown field {}; expected {expected}", names.join(", ")),
        ))
    }

    /// The single remaining entry, if there is exactly one: `?hello` or `?x=hello`.
    pub fn only_one(&self) -> Option<&(String, Value)> {
        match self.entries.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::{MESSAGE, NAME, SECTION, SRN};
    use std::cell::Cell;

    thread_local! {
        /// How many times this thread called [`fold`].
        pub(super) static FOLDS: Cell<usize> = const { Cell::new(0) };
    }

    fn text(pairs: &[(&str, &str)]) -> Fields {
        Fields::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Text(v.to_string())))
                .collect(),
        )
    }

    #[test]
    fn names_match_ignoring_case_separators_and_through_aliases() {
        let mut f = text(&[("NAME", "a"), ("s-r-n", "b"), ("msg", "c")]);
        assert_eq!(f.require_text(&NAME).unwrap(), "a");
        assert_eq!(f.require_text(&SRN).unwrap(), "b");
        assert_eq!(f.require_text(&MESSAGE).unwrap(), "c");
        assert!(f.reject_unknown("").is_ok());
    }

    #[test]
    fn duplicates_unknown_fields_and_wrong_types_are_named() {
        let mut f = text(&[("name", "a"), ("Name", "b")]);
        assert!(f.take(&NAME).is_err());
        let err = text(&[("Sectoin", "A")])
            .reject_unknown("Section")
            .unwrap_err();
        assert!(err.to_string().contains("Sectoin"), "{err}");
        let mut f = Fields::new(vec![
            ("SRN".into(), Value::Number("5".into())),
            ("Section".into(), Value::Number("5".into())),
            ("Name".into(), Value::Other("an array")),
        ]);
        assert!(f
            .take_text(&SRN)
            .unwrap_err()
            .to_string()
            .contains("a number"));
        assert_eq!(f.take_text(&SECTION).unwrap().unwrap(), "5");
        assert!(f
            .take_text(&NAME)
            .unwrap_err()
            .to_string()
            .contains("an array"));
    }

    #[test]
    fn earlier_sources_win() {
        let mut f = text(&[("srn", "body")]);
        f.fill_from(text(&[("SRN", "query"), ("Name", "q")]));
        assert_eq!(f.require_text(&SRN).unwrap(), "body");
        assert_eq!(f.require_text(&NAME).unwrap(), "q");
    }

    #[test]
    fn a_field_repeated_within_one_source_is_still_refused() {
        let mut f = Fields::default();
        f.fill_from(text(&[("Name", "a"), ("name", "b")]));
        assert!(f.take(&NAME).is_err());
    }

    #[test]
    fn filling_folds_each_name_once() {
        let names = |prefix: &str, n: usize| {
            Fields::new(
                (0..n)
                    .map(|i| (format!("{prefix}{i}"), Value::Text(String::new())))
                    .collect(),
            )
        };
        let (mut body, query) = (names("b", 2000), names("q", 500));
        FOLDS.with(|n| n.set(0));
        body.fill_from(query);
        assert_eq!(FOLDS.with(Cell::get), 2500, "one fold per name");
        assert_eq!(body.entries.len(), 2500);
    }
}
