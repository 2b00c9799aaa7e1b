//! What a read answered, and whether a record is in it.
//!
//! Deployments answer a read in many forms: this project's bare JSON array of
//! `{"Name","SRN","Section"}`, other keys (`srn`, `student_srn`), a wrapper object
//! (`{"data": [...]}`), rows as arrays (`[["Ann","PES1…","A"]]`, what `jsonify(
//! cursor.fetchall())` gives), a Python `repr` or an HTML table. A record is counted
//! as present by what every one of those has in common: its SRN, whole.
//!
//! In JSON, each object or array holding the SRN as one of its own values (or keys)
//! is one record. Anything else (plain text, HTML, JSON that holds no such value) is
//! searched as text for the SRN as a whole word: `CHK-1` does not match `CHK-10`.

use serde_json::Value;

/// One read's answer.
#[derive(Debug, Clone)]
pub struct Listing {
    pub body: String,
    json: Option<Value>,
}

impl Listing {
    pub fn new(body: String) -> Listing {
        let json = serde_json::from_str(&body).ok();
        Listing { body, json }
    }

    /// How many records carry this SRN (compared ignoring case).
    pub fn count(&self, srn: &str) -> usize {
        if let Some(json) = &self.json {
            let n = count_json(json, srn);
            if n > 0 {
                return n;
            }
        }
        count_words(&self.body, srn)
    }

    pub fn contains(&self, srn: &str) -> bool {
        self.count(srn) > 0
    }

    /// How many records the answer seems to hold: the length of its longest JSON
    /// array. For the report only.
    pub fn size_hint(&self) -> Option<usize> {
        fn longest(v: &Value) -> Option<usize> {
            match v {
                Value::Array(items) => {
                    let inner = items.iter().filter_map(longest).max();
                    Some(inner.map_or(items.len(), |i| i.max(items.len())))
                }
                Value::Object(map) => map.values().filter_map(longest).max(),
                _ => None,
            }
        }
        self.json.as_ref().and_then(longest)
    }

    /// Every whole word that starts with `prefix` (for finding records left behind).
    pub fn words_with_prefix(&self, prefix: &str) -> Vec<String> {
        let upper = prefix.to_ascii_uppercase();
        let mut found: Vec<String> = self
            .body
            .split(|c: char| !is_word(c))
            .filter(|w| w.to_ascii_uppercase().starts_with(&upper))
            .map(str::to_ascii_uppercase)
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

fn same(a: &str, srn: &str) -> bool {
    a.trim().eq_ignore_ascii_case(srn)
}

/// Records (objects or arrays) holding the SRN as one of their own values or keys.
fn count_json(v: &Value, srn: &str) -> usize {
    match v {
        Value::Object(map) => {
            let own = map
                .iter()
                .any(|(k, v)| same(k, srn) || v.as_str().is_some_and(|s| same(s, srn)));
            usize::from(own) + map.values().map(|v| count_json(v, srn)).sum::<usize>()
        }
        Value::Array(items) => {
            let own = items
                .iter()
                .any(|v| v.as_str().is_some_and(|s| same(s, srn)));
            usize::from(own) + items.iter().map(|v| count_json(v, srn)).sum::<usize>()
        }
        _ => 0,
    }
}

/// Characters an SRN may contain: what separates one from its surroundings.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn count_words(text: &str, srn: &str) -> usize {
    text.split(|c: char| !is_word(c))
        .filter(|w| w.eq_ignore_ascii_case(srn))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(body: &str, srn: &str) -> usize {
        Listing::new(body.to_string()).count(srn)
    }

    #[test]
    fn this_projects_array_and_other_keys() {
        let body = r#"[{"Name":"A","SRN":"CHK-1","Section":"A"},{"Name":"B","SRN":"CHK-10","Section":"A"}]"#;
        assert_eq!(count(body, "CHK-1"), 1);
        assert_eq!(count(body, "chk-10"), 1);
        assert_eq!(count(body, "CHK-2"), 0);
        let body = r#"{"data":[{"name":"A","srn":"chk-1"},{"name":"B","srn":"CHK-1"}]}"#;
        assert_eq!(count(body, "CHK-1"), 2, "a duplicate is two records");
        assert_eq!(Listing::new(body.into()).size_hint(), Some(2));
    }

    #[test]
    fn rows_as_arrays_and_objects_keyed_by_srn() {
        assert_eq!(
            count(r#"[["Ann","CHK-1","A"],["Bo","CHK-2","B"]]"#, "CHK-2"),
            1
        );
        assert_eq!(count(r#"{"CHK-1":{"name":"Ann"}}"#, "CHK-1"), 1);
    }

    #[test]
    fn text_and_html_match_whole_words() {
        assert_eq!(
            count("[('Ann', 'CHK-1', 'A'), ('Bo', 'CHK-10', 'B')]", "CHK-1"),
            1
        );
        assert_eq!(count("<td>CHK-1</td><td>CHK-1X</td>", "CHK-1"), 1);
        assert_eq!(count("\"Records: CHK-1, CHK-1\"", "CHK-1"), 2);
        assert_eq!(count("No records", "CHK-1"), 0);
    }

    #[test]
    fn leftovers_are_found_by_prefix() {
        let l =
            Listing::new(r#"[{"SRN":"CHK-AB-001"},{"SRN":"PES1"},{"SRN":"chk-ab-002x"}]"#.into());
        assert_eq!(
            l.words_with_prefix("CHK-AB-"),
            vec!["CHK-AB-001", "CHK-AB-002X"]
        );
    }
}
