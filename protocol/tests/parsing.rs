//! Property tests for the request parsers: any body under any content type, any query
//! string and any path segment is read or refused with an error, never a panic; and
//! any text survives a form round trip. (Moved from the producer, whose parsers these
//! were.)

use proptest::prelude::*;
use protocol::body::{read_body, read_path, read_query};
use protocol::input::read_input;
use protocol::shapes::{Action, Family, NAME};

fn content_types() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json")),
        Just(Some("application/x-www-form-urlencoded")),
        Just(Some("text/plain")),
        Just(Some("multipart/form-data; boundary=b")),
        Just(Some("application/xml")),
    ]
}

const ACTIONS: [Action; 5] = [
    Action::HealthCheck,
    Action::InsertRecord,
    Action::DeleteRecord,
    Action::ReadDatabase,
    Action::ReadRecord,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn reading_any_body_never_panics(
        ct in content_types(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        action in 0..ACTIONS.len(),
    ) {
        if let Ok(fields) = read_body(ct, &body) {
            let _ = read_input(ACTIONS[action], Family::Assignment, fields);
        }
    }

    #[test]
    fn reading_any_query_or_path_never_panics(query in any::<String>(), action in 0..ACTIONS.len()) {
        if let Ok(fields) = read_query(Some(&query)) {
            let _ = read_input(ACTIONS[action], Family::V1, fields);
        }
        if let Ok(fields) = read_path(&[("srn", &query)]) {
            let _ = read_input(ACTIONS[action], Family::Assignment, fields);
        }
    }

    #[test]
    fn a_form_round_trips_any_text(name in any::<String>()) {
        let encoded = percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC);
        let mut fields = read_query(Some(&format!("Name={encoded}"))).unwrap();
        prop_assert_eq!(fields.take_text(&NAME).unwrap(), Some(name));
    }
}
