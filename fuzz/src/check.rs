//! What must hold of whatever the parsers accept, asserted on every fuzz input: a panic
//! here is a crash libFuzzer reports, with the input that caused it.
//!
//! Cheap properties only, each a promise the README or a module's docs make: an accepted
//! SRN, record or message is valid by the same rules that built it (parsing it again
//! gives it back), survives its wire encoding exactly, and an SRN never keeps a quote.

use protocol::body::{declared, Declared};
use protocol::fields::Fields;
use protocol::input::{Input, HEALTH_MESSAGE_MAX_CHARS, PAGE_MAX};
use protocol::message::{ReadReply, Reply, Request, TableVersion};
use protocol::record::{NAME_MAX_CHARS, SECTION_MAX_CHARS, SRN_MAX_CHARS};
use protocol::shapes::{Action, Family};
use protocol::{InputError, Name, Section, Srn, StudentRecord};
use serde_json::json;

/// What `read_body` answered for `body` declared as `content_type`.
pub fn body(content_type: Option<&str>, body: &[u8], result: &Result<Fields, InputError>) {
    if body.iter().all(u8::is_ascii_whitespace) {
        assert!(
            matches!(result, Ok(f) if f.is_empty()),
            "blank body: {result:?}"
        );
        return;
    }
    match declared(content_type) {
        Declared::Other(_) => assert!(
            matches!(result, Err(InputError::UnsupportedMediaType(_))),
            "{content_type:?} read as {result:?}"
        ),
        _ => assert!(
            !matches!(result, Err(InputError::UnsupportedMediaType(_))),
            "{content_type:?} refused: {result:?}"
        ),
    }
}

/// An SRN that was accepted: 1 to 32 of `A-Z 0-9 - _` (no quotes, no spaces, nothing
/// lower-case), parsing to itself, and the same after a JSON round trip.
pub fn srn(srn: &Srn) {
    let s = srn.as_str();
    assert!(!s.contains(['"', '\'']), "an SRN kept a quote: {s:?}");
    assert!(
        !s.is_empty() && s.chars().count() <= SRN_MAX_CHARS,
        "SRN of {} characters: {s:?}",
        s.chars().count()
    );
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_'),
        "SRN outside A-Z 0-9 - _: {s:?}"
    );
    assert_eq!(
        Srn::parse(s).as_ref(),
        Ok(srn),
        "SRN does not parse to itself"
    );
    let wire = serde_json::to_string(srn).expect("an SRN serialises");
    assert_eq!(serde_json::from_str::<Srn>(&wire).ok().as_ref(), Some(srn));
}

/// A name or section that was accepted: not blank, at most `max` characters, no
/// control characters.
fn text(field: &str, value: &str, max: usize) {
    assert!(!value.trim().is_empty(), "blank {field}: {value:?}");
    assert!(value.chars().count() <= max, "{field} too long: {value:?}");
    assert!(
        !value.chars().any(char::is_control),
        "{field} with a control character: {value:?}"
    );
}

/// A record that was accepted: each field valid, the record rebuilt from its fields
/// equal to it, and the same after a JSON round trip.
pub fn record(record: &StudentRecord) {
    srn(&record.srn);
    text("Name", record.name.as_str(), NAME_MAX_CHARS);
    text("Section", record.section.as_str(), SECTION_MAX_CHARS);
    let rebuilt = StudentRecord::new(
        record.name.as_str(),
        record.srn.as_str(),
        record.section.as_str(),
    );
    assert_eq!(rebuilt.as_ref(), Ok(record), "record does not rebuild");
    let wire = serde_json::to_vec(record).expect("a record serialises");
    let back: StudentRecord = serde_json::from_slice(&wire).expect("a record deserialises");
    assert_eq!(&back, record);
}

/// What `read_input` accepted for `action` on a route of `family`: the input its action
/// reads, valid, and carried by the request it becomes exactly.
pub fn input(action: Action, family: Family, input: &Input) {
    let request = match (action, input) {
        (Action::HealthCheck, Input::HealthCheck { message }) => {
            assert!(
                message.chars().count() <= HEALTH_MESSAGE_MAX_CHARS,
                "{message:?}"
            );
            assert!(!message.chars().any(char::is_control), "{message:?}");
            Request::HealthCheck {
                message: message.clone(),
            }
        }
        (Action::InsertRecord, Input::InsertRecord(r)) => {
            Request::InsertRecord { record: r.clone() }
        }
        (Action::DeleteRecord, Input::DeleteRecord(s)) => Request::DeleteRecord { srn: s.clone() },
        (Action::ReadRecord, Input::ReadRecord(s)) => Request::ReadRecord { srn: s.clone() },
        (Action::ReadDatabase, Input::ReadDatabase { after, limit }) => {
            if let Some(limit) = limit {
                assert!((1..=PAGE_MAX).contains(limit), "limit {limit}");
            }
            assert!(
                family != Family::V1 || limit.is_some(),
                "a /v1 page without a limit"
            );
            Request::ReadDatabase {
                after: after.clone(),
                limit: *limit,
                known_version: None,
            }
        }
        _ => panic!("{action:?} read as {input:?}"),
    };
    self::request(&request);
}

/// A request that was decoded (or built from an input): its contents valid, and its
/// encoding decoding to it and encoding again to the same bytes.
pub fn request(request: &Request) {
    match request {
        Request::InsertRecord { record } => self::record(record),
        Request::DeleteRecord { srn } | Request::ReadRecord { srn } => self::srn(srn),
        Request::ReadDatabase { after, .. } => after.iter().for_each(self::srn),
        Request::HealthCheck { .. } => {}
    }
    let wire = request.encode();
    let back = Request::decode(&wire)
        .unwrap_or_else(|e| panic!("{request:?} encodes to {wire:?}, which does not decode: {e}"));
    assert_eq!(&back, request);
    assert_eq!(back.encode(), wire, "encoding is not stable");
}

/// A reply that was decoded: its records valid, and its encoding round trips exactly.
pub fn reply(reply: &Reply) {
    match reply {
        Reply::Inserted { record }
        | Reply::AlreadyExists { record }
        | Reply::Deleted { record }
        | Reply::Record { record } => self::record(record),
        Reply::NotFound { srn } => self::srn(srn),
        Reply::Records {
            records,
            next_after,
            ..
        } => {
            records.iter().for_each(self::record);
            next_after.iter().for_each(self::srn);
        }
        Reply::HealthOk { .. }
        | Reply::Unchanged { .. }
        | Reply::Invalid { .. }
        | Reply::Failed { .. } => {}
    }
    let wire = reply.encode();
    let back = Reply::decode(&wire)
        .unwrap_or_else(|e| panic!("{reply:?} encodes to {wire:?}, which does not decode: {e}"));
    assert_eq!(&back, reply);
    assert_eq!(back.encode(), wire, "encoding is not stable");
}

/// The producer reads replies to reads with `ReadReply::decode`, which leaves the
/// records undecoded: whatever it accepts has a JSON array for records, and a reply that
/// `Reply::decode` accepts from an object it accepts as the same reply.
pub fn read_reply(bytes: &[u8], reply: Option<&Reply>, read_reply: Option<&ReadReply<'_>>) {
    if let Some(ReadReply::Records { records, .. }) = read_reply {
        // Valid JSON, an array: what the producer passes on. Not `Value`, which refuses
        // numbers beyond f64 (`777e70777777`) that JSON itself allows.
        let array: Result<Vec<Box<serde_json::value::RawValue>>, _> =
            serde_json::from_slice(records);
        assert!(array.is_ok(), "records are not an array: {records:?}");
    }
    let Some(reply) = reply else {
        return;
    };
    // serde also reads a struct from a JSON array of its fields; replies are objects.
    let body_is_object = serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| v.get("body").is_some_and(serde_json::Value::is_object));
    if !body_is_object {
        return;
    }
    match (reply, read_reply) {
        (
            Reply::Records {
                records,
                next_after,
                version,
            },
            Some(ReadReply::Records {
                records: raw,
                next_after: raw_next,
                version: raw_version,
            }),
        ) => {
            let raw: Vec<StudentRecord> =
                serde_json::from_slice(raw).expect("the records Reply read");
            assert_eq!(&raw, records);
            assert_eq!(raw_next, next_after);
            assert_eq!(raw_version, version);
        }
        (reply, Some(ReadReply::Other(other))) => assert_eq!(other, reply),
        (reply, other) => panic!("Reply read {reply:?}, ReadReply read {other:?}"),
    }
}

/// A table version that parsed: printing it parses back to it.
pub fn table_version(version: &TableVersion) {
    let printed = version.to_string();
    assert_eq!(printed.parse::<TableVersion>().as_ref(), Ok(version));
}

/// A record's three fields from untrusted text: each type's `parse` and its JSON
/// deserialisation agree, accepted values are valid and kept as the rules say, and a
/// record is accepted exactly when its three fields are.
pub fn fields(name: &str, srn: &str, section: &str) {
    let parsed_srn = Srn::parse(srn);
    let from_json = serde_json::from_value::<Srn>(json!(srn));
    assert_eq!(parsed_srn.as_ref().ok(), from_json.as_ref().ok());
    if let Ok(s) = &parsed_srn {
        self::srn(s);
        // Case does not matter: the SRN is stored upper-case.
        assert_eq!(Srn::parse(&srn.to_lowercase()).as_ref(), Ok(s));
    }
    let parsed_name = Name::parse(name);
    assert_eq!(
        parsed_name.as_ref().ok(),
        serde_json::from_value::<Name>(json!(name)).as_ref().ok()
    );
    if let Ok(n) = &parsed_name {
        assert_eq!(n.as_str(), name, "a name is stored exactly as given");
        text("Name", n.as_str(), NAME_MAX_CHARS);
    }
    let parsed_section = Section::parse(section);
    assert_eq!(
        parsed_section.as_ref().ok(),
        serde_json::from_value::<Section>(json!(section))
            .as_ref()
            .ok()
    );
    if let Ok(s) = &parsed_section {
        assert_eq!(s.as_str(), section, "a section is stored exactly as given");
        text("Section", s.as_str(), SECTION_MAX_CHARS);
    }
    let built = StudentRecord::new(name, srn, section);
    let all_valid = parsed_name.is_ok() && parsed_srn.is_ok() && parsed_section.is_ok();
    assert_eq!(built.is_ok(), all_valid, "{built:?}");
    let deserialised = serde_json::from_value::<StudentRecord>(
        json!({"Name": name, "SRN": srn, "Section": section}),
    );
    assert_eq!(built.as_ref().ok(), deserialised.as_ref().ok());
    if let Ok(record) = &built {
        self::record(record);
    }
}
