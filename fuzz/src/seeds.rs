//! The seed corpora, `fuzz/corpus/<target>/<name>`: the inputs of the unit tests in
//! `protocol/src`, of the producer's hostile-input and request-shape tests
//! (`producer/tests/api/hostile.rs`, `shapes.rs`) and the README's examples, written in
//! each target's input format (see [`crate::targets`]).
//!
//! The tests below check that every seed is committed as written here
//! (`UPDATE_SEEDS=1 scripts/fuzz seeds` rewrites them), that each one is read as meant,
//! and replay every file of every corpus through its target, so the fuzzer's finds
//! that were added to a corpus stay fixed.

use crate::targets::{selector, ContentType, CONTENT_TYPES};
use protocol::message::{Reply, Request, TableVersion};
use protocol::shapes::{Method, SHAPES};
use protocol::{Srn, StudentRecord};

/// One seed: the target's corpus it belongs to, its file name, its bytes.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    bodies(&mut seeds);
    queries(&mut seeds);
    paths(&mut seeds);
    messages(&mut seeds);
    records(&mut seeds);
    seeds
}

fn seed(seeds: &mut Vec<Seed>, target: &'static str, name: &str, bytes: impl Into<Vec<u8>>) {
    seeds.push(Seed {
        target,
        name: name.to_owned(),
        bytes: bytes.into(),
    });
}

/// A `body` seed: the selector of `content_type` (its own first line when it is not in
/// [`CONTENT_TYPES`]), then the body.
fn body(seeds: &mut Vec<Seed>, name: &str, content_type: Option<&str>, body: impl AsRef<[u8]>) {
    let wanted = match content_type {
        None => ContentType::Absent,
        Some(value) => CONTENT_TYPES
            .iter()
            .copied()
            .find(|c| matches!(c, ContentType::Fixed(fixed) if *fixed == value))
            .unwrap_or(ContentType::FirstLine),
    };
    let index = CONTENT_TYPES.iter().position(|c| *c == wanted).unwrap();
    let mut bytes = vec![selector(index)];
    if wanted == ContentType::FirstLine {
        bytes.extend_from_slice(content_type.unwrap_or_default().as_bytes());
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(body.as_ref());
    seed(seeds, "body", name, bytes);
}

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const MULTIPART: Option<&str> = Some("multipart/form-data; boundary=XyZ");
const CURL: Option<&str> =
    Some("multipart/form-data; boundary=------------------------d74496d66958873e");

fn bodies(s: &mut Vec<Seed>) {
    // README and producer/tests/api/shapes.rs: the shapes an insert comes in.
    let ann = r#"{"Name":"Anshul Ranjan","SRN":"PES1UG21CS096","Section":"B"}"#;
    body(s, "insert-json", JSON, ann);
    body(
        s,
        "insert-json-lower-case",
        JSON,
        r#"{"name":"A","srn":"s1","section":"A"}"#,
    );
    body(
        s,
        "insert-json-upper-case",
        JSON,
        r#"{"NAME":"A","SRN":"S2","SECTION":"A"}"#,
    );
    body(s, "insert-json-no-type", None, ann);
    body(s, "insert-json-text-plain", Some("text/plain"), ann);
    body(
        s,
        "insert-json-section-number",
        JSON,
        r#"{"Name":"Ann","SRN":"b2","Section":5}"#,
    );
    body(
        s,
        "insert-form",
        FORM,
        "Name=Ann&SRN=PES1UG21CS001&Section=A",
    );
    body(
        s,
        "insert-form-untyped",
        None,
        "Name=Ann&SRN=PES1UG21CS001&Section=A",
    );
    body(
        s,
        "insert-multipart",
        MULTIPART,
        "--XyZ\r\nContent-Disposition: form-data; name=\"Name\"\r\n\r\nAnn\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"SRN\"\r\n\r\nPES1UG21CS001\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"Section\"\r\n\r\nA\r\n--XyZ--\r\n",
    );
    body(
        s,
        "insert-multipart-curl",
        CURL,
        "--------------------------d74496d66958873e\r\n\
         Content-Disposition: form-data; name=\"SRN\"\r\n\r\n\"pes1\"\r\n\
         --------------------------d74496d66958873e--\r\n",
    );
    body(s, "health-json", JSON, r#"{"message": "hello"}"#);
    body(s, "delete-json", JSON, r#"{"SRN": "PES1UG21CS096"}"#);
    body(s, "delete-form", FORM, "srn=%22PES1UG21CS096%22");
    body(s, "read-page-json", JSON, r#"{"limit": 100, "after": "b"}"#);
    // protocol/src/body.rs
    body(s, "form-plus-and-percent", FORM, "Name=Zo%C3%AB+Li&SRN=x");
    body(s, "form-invalid-utf8", FORM, "Name=%FF");
    body(s, "untyped-json-leading-space", None, r#" {"srn":"a"}"#);
    body(s, "text-plain-form", Some("text/plain"), "srn=a");
    body(s, "untyped-words", None, "hello");
    body(s, "json-blank", JSON, "  \n");
    body(s, "json-array", JSON, "[1]");
    body(s, "json-open-brace", JSON, "{");
    body(s, "json-string", JSON, "\"x\"");
    body(s, "xml", Some("text/xml"), "<a/>");
    body(
        s,
        "multipart-no-boundary",
        Some("multipart/form-data"),
        "--XyZ\r\n",
    );
    body(s, "multipart-broken", MULTIPART, "--XyZ\r\nbroken");
    // producer/tests/api/hostile.rs
    let hostile = [
        (
            "name-number",
            r#"{"Name":1,"SRN":"HOSTILE1","Section":"A"}"#,
        ),
        (
            "name-boolean",
            r#"{"Name":true,"SRN":"HOSTILE1","Section":"A"}"#,
        ),
        (
            "name-null",
            r#"{"Name":null,"SRN":"HOSTILE1","Section":"A"}"#,
        ),
        (
            "name-array",
            r#"{"Name":["a"],"SRN":"HOSTILE1","Section":"A"}"#,
        ),
        (
            "name-object",
            r#"{"Name":{"first":"a"},"SRN":"H1","Section":"A"}"#,
        ),
        ("srn-number", r#"{"Name":"a","SRN":96,"Section":"A"}"#),
        (
            "body-array",
            r#"[{"Name":"a","SRN":"HOSTILE1","Section":"A"}]"#,
        ),
        ("empty-object", "{}"),
        (
            "extra-field",
            r#"{"Name":"a","SRN":"H1","Section":"A","admin":true}"#,
        ),
        ("misspelt-field", r#"{"Name":"a","SRN":"H1","Sectoin":"A"}"#),
        (
            "name-twice",
            r#"{"Name":"a","name":"b","SRN":"H1","Section":"A"}"#,
        ),
        ("blank-srn", r#"{"Name":"a","SRN":"   ","Section":"A"}"#),
        (
            "sql-in-srn",
            r#"{"Name":"a","SRN":"1' OR '1'='1","Section":"A"}"#,
        ),
        (
            "nul-in-name",
            r#"{"Name":"a\u0000b","SRN":"H1","Section":"A"}"#,
        ),
        (
            "newline-in-section",
            r#"{"Name":"a","SRN":"H1","Section":"A\r\nB"}"#,
        ),
        ("trailing-comma", r#"{"Name": "a",}"#),
        ("single-quotes", "{'Name': 'a'}"),
        ("number-out-of-range", r#"{"Section": 1e400}"#),
    ];
    for (name, json) in hostile {
        body(s, &format!("hostile-{name}"), JSON, json);
    }
    let nested = format!("{}{}", "[".repeat(200), "]".repeat(200));
    body(s, "hostile-deeply-nested", JSON, nested);
    body(s, "hostile-bom", JSON, b"\xef\xbb\xbf{}");
    body(
        s,
        "hostile-invalid-utf8-json",
        JSON,
        b"{\"Name\": \"\xff\xfe\"}",
    );
    body(
        s,
        "hostile-raw-invalid-utf8-form",
        FORM,
        b"Name=\xff&SRN=A&Section=A",
    );
    body(
        s,
        "hostile-octet-stream",
        Some("application/octet-stream"),
        "Name=a",
    );
    body(
        s,
        "hostile-garbage-multipart",
        Some("multipart/form-data; boundary=zz"),
        "garbage",
    );
    // A content type of the input's own choosing.
    body(
        s,
        "own-type-json-suffix",
        Some("application/vnd.api+json"),
        "{\"msg\":\"x\"}",
    );
}

fn queries(s: &mut Vec<Seed>) {
    let cases = [
        // README
        ("health", "message=hello"),
        ("delete", "SRN=PES1UG21CS096"),
        ("delete-quoted", "srn=\"PES1UG21CS096\""),
        ("delete-percent-quoted", "srn=%22PES1UG21CS096%22"),
        ("insert", "Name=Ann&SRN=PES1UG21CS001&Section=A"),
        ("insert-separators", "n_a_m_e=Ann&S-R-N=pes1&SECTION=A"),
        ("read-page", "limit=100&after=PES1UG21CS001"),
        // protocol/src/input.rs
        ("health-alias", "MSG=hi"),
        ("health-any-field", "anything=hi"),
        ("health-bare-word", "hi"),
        ("empty", ""),
        ("health-two-fields", "a=1&b=2"),
        ("health-bell", "message=%07"),
        ("insert-misspelt", "name=a&srn=b&sectoin=c"),
        ("insert-no-section", "name=a&srn=b"),
        ("page-zero", "limit=0"),
        ("page-too-big", "limit=1001"),
        ("page-words", "limit=x"),
        ("after-space", "after=a%20b"),
        ("unknown-page", "page=2"),
        // producer/tests/api/hostile.rs
        ("hostile-sql", "SRN=x%27%20OR%201%3D1%20--"),
        ("hostile-wildcard", "SRN=%25"),
        ("hostile-crlf", "SRN=A%0D%0ASet-Cookie:x"),
        ("hostile-newline", "message=a%0Ab"),
        ("hostile-negative-limit", "limit=-1"),
        ("hostile-huge-limit", "limit=99999999999999999999"),
        ("hostile-fractional-limit", "limit=1.5"),
        ("hostile-script", "after=%3Cscript%3E"),
        ("hostile-unknown", "drop=1"),
        ("hostile-invalid-utf8", "SRN=%ff"),
    ];
    for (name, query) in cases {
        seed(s, "query", name, query);
    }
}

/// A `path` seed: the selector of the row `method path`, then its segments.
fn path(seeds: &mut Vec<Seed>, name: &str, method: Method, path: &str, segments: &[&str]) {
    let row = SHAPES
        .iter()
        .position(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no row {method:?} {path}"));
    let mut bytes = vec![selector(row)];
    bytes.extend_from_slice(segments.join("/").as_bytes());
    seed(seeds, "path", name, bytes);
}

fn paths(s: &mut Vec<Seed>) {
    use Method::{Delete, Get, Post};
    let insert = "/insert_record/<srn>/<name>/<section>";
    path(s, "insert", Post, insert, &["%22pes1%22", "Ann%20Lee", "A"]);
    path(
        s,
        "insert-unicode",
        Get,
        insert,
        &["PES1", "Zo%C3%AB%20Li", "A"],
    );
    path(
        s,
        "insert-invalid-utf8",
        Post,
        insert,
        &["PES1", "%FF", "A"],
    );
    path(s, "health", Get, "/health_check/<message>", &["hello"]);
    path(
        s,
        "health-newline",
        Get,
        "/healthcheck/<message>",
        &["a%0Ab"],
    );
    path(s, "delete", Get, "/delete_record/<srn>", &["PES1UG21CS096"]);
    path(
        s,
        "delete-traversal",
        Get,
        "/delete_record/<srn>",
        &["..%2F..%2Fetc%2Fpasswd"],
    );
    path(s, "delete-dots", Delete, "/delete_record/<srn>", &["a..b"]);
    path(s, "v1-read", Get, "/v1/records/<srn>", &["PES1UG21CS001"]);
    path(
        s,
        "v1-delete-quoted",
        Delete,
        "/v1/records/<srn>",
        &["'pes1'"],
    );
    path(s, "v1-health", Get, "/v1/health", &[]);
}

fn messages(s: &mut Vec<Seed>) {
    let record = StudentRecord::new("Zoë 李", "PES1UG21CS096", "A").unwrap();
    let srn = |raw: &str| Srn::parse(raw).unwrap();
    let version = TableVersion {
        epoch: "3f2a9c".into(),
        counter: 42,
    };
    let requests = [
        (
            "health",
            Request::HealthCheck {
                message: "hi".into(),
            },
        ),
        (
            "insert",
            Request::InsertRecord {
                record: record.clone(),
            },
        ),
        ("delete", Request::DeleteRecord { srn: srn("PES1") }),
        ("read-record", Request::ReadRecord { srn: srn("C") }),
        (
            "read-page",
            Request::ReadDatabase {
                after: Some(srn("B")),
                limit: Some(100),
                known_version: Some(version.clone()),
            },
        ),
    ];
    for (name, request) in requests {
        seed(s, "message", &format!("request-{name}"), request.encode());
    }
    let replies = [
        (
            "health-ok",
            Reply::HealthOk {
                message: "hi".into(),
                consumer: "consumer-health".into(),
            },
        ),
        (
            "inserted",
            Reply::Inserted {
                record: record.clone(),
            },
        ),
        (
            "already-exists",
            Reply::AlreadyExists {
                record: record.clone(),
            },
        ),
        (
            "deleted",
            Reply::Deleted {
                record: record.clone(),
            },
        ),
        ("not-found", Reply::NotFound { srn: srn("X") }),
        (
            "record",
            Reply::Record {
                record: record.clone(),
            },
        ),
        (
            "records",
            Reply::Records {
                records: vec![
                    record.clone(),
                    StudentRecord::new("Ann", "b2", "C").unwrap(),
                ],
                next_after: Some(srn("B2")),
                version: Some(version.clone()),
            },
        ),
        ("unchanged", Reply::Unchanged { version }),
        (
            "invalid",
            Reply::Invalid {
                detail: "bad".into(),
            },
        ),
        (
            "failed",
            Reply::Failed {
                detail: "worse".into(),
            },
        ),
    ];
    for (name, reply) in replies {
        seed(s, "message", &format!("reply-{name}"), reply.encode());
    }
    // protocol/src/message.rs: refused messages, and table versions.
    let refused = [
        (
            "future-version",
            r#"{"v":2,"body":{"op":"health_check","message":"x"}}"#,
        ),
        (
            "records-trailing-comma",
            r#"{"v":1,"body":{"outcome":"records","records":[1,]}}"#,
        ),
        (
            "records-object",
            r#"{"v":1,"body":{"outcome":"records","records":{}}}"#,
        ),
        (
            "unknown-outcome",
            r#"{"v":1,"body":{"outcome":"nonsense"}}"#,
        ),
        ("unknown-op", r#"{"v":1,"body":{"op":"drop_table"}}"#),
        (
            "bad-srn",
            r#"{"v":1,"body":{"op":"delete_record","srn":"has space"}}"#,
        ),
        ("no-body", r#"{"v":1}"#),
        // Found by the fuzzer: a number JSON allows and f64 cannot hold, kept as sent.
        (
            "records-huge-number",
            r#"{"v":1,"body":{"outcome":"records","records":[777e70777777]}}"#,
        ),
        ("table-version", "3f2a9c.42"),
        ("table-version-bad", "3f 2a.1"),
    ];
    for (name, text) in refused {
        seed(s, "message", name, text);
    }
}

/// A `record` seed: `name \n srn \n section`.
fn record(seeds: &mut Vec<Seed>, name: &str, [student, srn, section]: [&str; 3]) {
    seed(seeds, "record", name, [student, srn, section].join("\n"));
}

fn records(s: &mut Vec<Seed>) {
    // protocol/src/record.rs: name, SRN, section.
    let cases = [
        ("valid", ["Anshul Ranjan", "PES1UG21CS096", "B"]),
        ("srn-trimmed", ["Ann", "  pes1ug21cs096 ", "A"]),
        ("srn-double-quoted", ["Ann", "\"PES1UG21CS096\"", "A"]),
        ("srn-single-quoted", ["Ann", "'pes1ug21cs096'", "A"]),
        ("srn-quoted-spaces", ["Ann", " \" PES1UG21CS096 \" ", "A"]),
        ("srn-space", ["Ann", "PES 1", "A"]),
        ("srn-semicolon", ["Ann", "PES;DROP", "A"]),
        ("srn-accent", ["Ann", "PÉS1", "A"]),
        ("srn-lone-quote", ["Ann", "\"PES1", "A"]),
        ("srn-mixed-quotes", ["Ann", "'a\"", "A"]),
        ("srn-empty-quotes", ["Ann", "\"\"", "A"]),
        ("name-unicode", ["  Zoë Ñúñez 李小龍 🚀", "x1", "A"]),
        ("name-blank", [" \t", "S1", "A"]),
        ("name-nul", ["Ann\0", "S1", "A"]),
        ("section-newline", ["Ann", "S1", "A\nB"]),
        (
            "sql",
            ["Robert'); DROP TABLE students;-- \"%_\\", "S1", "'; --"],
        ),
    ];
    for (name, fields) in cases {
        record(s, name, fields);
    }
    record(s, "srn-33-characters", ["Ann", &"A".repeat(33), "A"]);
    record(s, "name-101-characters", [&"é".repeat(101), "S1", "A"]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{self, body_input, path_input, TARGETS};
    use protocol::body::read_body;
    use protocol::input::{read_input, Input};
    use protocol::shapes::{Action, Family};
    use std::path::{Path, PathBuf};

    fn corpus(target: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target)
    }

    #[test]
    fn every_seed_is_committed_as_written_here() {
        let update = std::env::var_os("UPDATE_SEEDS").is_some();
        let mut stale = Vec::new();
        for seed in all() {
            let file = corpus(seed.target).join(&seed.name);
            if update {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, &seed.bytes).unwrap();
            } else if std::fs::read(&file).ok().as_ref() != Some(&seed.bytes) {
                stale.push(file.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "missing or different (UPDATE_SEEDS=1 scripts/fuzz seeds rewrites them): {stale:?}"
        );
    }

    #[test]
    fn seed_names_are_unique_files() {
        let mut names: Vec<(&str, &str)> = Vec::new();
        let seeds = all();
        for seed in &seeds {
            assert!(!names.contains(&(seed.target, &seed.name)), "{}", seed.name);
            assert!(seed
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            names.push((seed.target, &seed.name));
        }
        let total: usize = seeds.iter().map(|s| s.bytes.len()).sum();
        assert!(total < 64 * 1024, "the seeds are {total} bytes");
    }

    #[test]
    fn every_committed_input_runs_through_its_target() {
        for target in TARGETS {
            let files = std::fs::read_dir(corpus(target)).unwrap();
            let mut count = 0;
            for file in files {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                targets::run(target, &bytes);
                count += 1;
            }
            assert!(count > 0, "no corpus for {target}");
        }
    }

    #[test]
    fn body_seeds_declare_the_type_they_were_written_with() {
        let (ct, body) = body_input(b"b{}").unwrap();
        assert_eq!(
            (ct.as_deref(), body),
            (Some("application/json"), &b"{}"[..])
        );
        let (ct, body) = body_input(b"atext").unwrap();
        assert_eq!((ct, body), (None, &b"text"[..]));
        let own = all()
            .into_iter()
            .find(|s| s.name == "own-type-json-suffix")
            .unwrap();
        let (ct, body) = body_input(&own.bytes).unwrap();
        assert_eq!(ct.as_deref(), Some("application/vnd.api+json"));
        assert_eq!(body, b"{\"msg\":\"x\"}");
    }

    /// The corpus reaches every action's accepted input, through every body kind.
    #[test]
    fn body_seeds_reach_every_action_and_body_kind() {
        let mut reached: Vec<(Action, &str)> = Vec::new();
        for seed in all().iter().filter(|s| s.target == "body") {
            let (ct, body) = body_input(&seed.bytes).unwrap();
            let Ok(fields) = read_body(ct.as_deref(), body) else {
                continue;
            };
            let kind = protocol::body::declared(ct.as_deref());
            let kind = match kind {
                protocol::body::Declared::Kind(k) => k.content_type(),
                _ => "untyped",
            };
            for action in [
                Action::HealthCheck,
                Action::InsertRecord,
                Action::DeleteRecord,
                Action::ReadDatabase,
            ] {
                if read_input(action, Family::Assignment, fields.clone()).is_ok() {
                    reached.push((action, kind));
                }
            }
        }
        for kind in ["application/json", "application/x-www-form-urlencoded"] {
            for action in [Action::InsertRecord, Action::DeleteRecord] {
                assert!(reached.contains(&(action, kind)), "{action:?} {kind}");
            }
        }
        assert!(reached.contains(&(Action::InsertRecord, "multipart/form-data")));
        assert!(reached.contains(&(Action::InsertRecord, "untyped")));
        assert!(reached.iter().any(|(a, _)| *a == Action::HealthCheck));
        assert!(reached.iter().any(|(a, _)| *a == Action::ReadDatabase));
    }

    #[test]
    fn path_seeds_pick_their_row_and_fill_its_parameters() {
        let seeds = all();
        let insert = seeds
            .iter()
            .find(|s| s.name == "insert" && s.target == "path");
        let (row, segments) = path_input(&insert.unwrap().bytes).unwrap();
        assert_eq!(SHAPES[row].path, "/insert_record/<srn>/<name>/<section>");
        assert_eq!(segments, ["%22pes1%22", "Ann%20Lee", "A"]);
        let fields = protocol::body::read_path(
            &SHAPES[row]
                .path_params()
                .zip(segments.iter().map(String::as_str))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let input = read_input(SHAPES[row].action, SHAPES[row].family, fields).unwrap();
        assert_eq!(
            input,
            Input::InsertRecord(StudentRecord::new("Ann Lee", "PES1", "A").unwrap())
        );
        assert!(path_input(b"").is_none());
    }
}
