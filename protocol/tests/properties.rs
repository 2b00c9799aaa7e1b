//! Property tests for everything that reads untrusted bytes: message decoding and
//! record validation, beside the fuzz targets in fuzz/.

use proptest::prelude::*;
use protocol::message::{Reply, Request};
use protocol::record::{NAME_MAX_CHARS, SRN_MAX_CHARS};
use protocol::{Srn, StudentRecord};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(2_000)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Request::decode(&bytes);
        let _ = Reply::decode(&bytes);
    }

    #[test]
    fn decoding_json_shaped_garbage_never_panics(
        op in "[a-z_]{0,16}",
        field in "[a-zA-Z_]{0,8}",
        value in any::<String>(),
        v in any::<u16>(),
    ) {
        let text = format!(r#"{{"v":{v},"body":{{"op":"{op}","{field}":{}}}}}"#, serde_json::json!(value));
        let _ = Request::decode(text.as_bytes());
        let _ = Reply::decode(text.as_bytes());
    }

    #[test]
    fn a_parsed_srn_is_valid_normalised_and_stable(raw in any::<String>()) {
        if let Ok(srn) = Srn::parse(&raw) {
            let s = srn.as_str();
            prop_assert!(!s.is_empty() && s.chars().count() <= SRN_MAX_CHARS);
            prop_assert!(s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_'));
            prop_assert_eq!(Srn::parse(s).unwrap(), srn.clone());
        }
    }

    #[test]
    fn valid_records_round_trip_through_messages_exactly(
        name in "\\PC{1,100}",
        srn in "[A-Za-z0-9_-]{1,32}",
        section in "\\PC{1,32}",
    ) {
        prop_assume!(!name.trim().is_empty() && !section.trim().is_empty());
        let record = StudentRecord::new(&name, &srn, &section).unwrap();
        prop_assert_eq!(record.name.as_str(), name.as_str());
        prop_assert!(record.name.as_str().chars().count() <= NAME_MAX_CHARS);
        let request = Request::InsertRecord { record };
        prop_assert_eq!(Request::decode(&request.encode()).unwrap(), request);
    }

    #[test]
    fn record_validation_never_panics(name in any::<String>(), srn in any::<String>(), section in any::<String>()) {
        let _ = StudentRecord::new(&name, &srn, &section);
    }
}
