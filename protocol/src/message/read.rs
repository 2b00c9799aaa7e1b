//! The table's version, and a reply to a read as the producer needs it.

use super::{DecodeError, Reply, MESSAGE_VERSION};
use crate::record::Srn;
use serde::{Deserialize, Serialize};

/// Identifies one committed state of the `students` table: every committed change moves
/// `counter` on, and `epoch` is drawn when the table is created, so a dropped and
/// re-created table never repeats an earlier version. Written as `epoch.counter`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableVersion {
    pub epoch: String,
    pub counter: u64,
}

impl TableVersion {
    /// Whether this is a later state of the same table than `other`.
    pub fn is_newer_than(&self, other: &TableVersion) -> bool {
        self.epoch != other.epoch || self.counter > other.counter
    }
}

impl std::fmt::Display for TableVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.epoch, self.counter)
    }
}

impl std::str::FromStr for TableVersion {
    type Err = ();

    /// Parses `epoch.counter`, as [`TableVersion`]'s `Display` writes it.
    fn from_str(s: &str) -> Result<TableVersion, ()> {
        let (epoch, counter) = s.rsplit_once('.').ok_or(())?;
        let valid_epoch = !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_alphanumeric());
        match (valid_epoch, counter.parse()) {
            (true, Ok(counter)) => Ok(TableVersion {
                epoch: epoch.to_owned(),
                counter,
            }),
            _ => Err(()),
        }
    }
}

/// A reply to a read as the producer needs it: the records left as the JSON array the
/// consumer wrote, so the producer can send them on without decoding and re-encoding
/// every record. Any other outcome is decoded in full.
#[derive(Debug)]
pub enum ReadReply<'a> {
    Records {
        /// `[{"Name":..,"SRN":..,"Section":..}, ...]`, exactly as the consumer encoded it.
        records: &'a [u8],
        next_after: Option<Srn>,
        version: Option<TableVersion>,
    },
    Other(Reply),
}

impl<'a> ReadReply<'a> {
    /// Fails when the bytes are not a reply of this version.
    pub fn decode(bytes: &'a [u8]) -> Result<ReadReply<'a>, DecodeError> {
        #[derive(Deserialize)]
        struct RawEnvelope<'a> {
            v: u16,
            #[serde(borrow)]
            body: &'a serde_json::value::RawValue,
        }
        #[derive(Deserialize)]
        struct Outcome<'a> {
            #[serde(borrow)]
            outcome: std::borrow::Cow<'a, str>,
        }
        #[derive(Deserialize)]
        struct RawRecords<'a> {
            #[serde(borrow)]
            records: &'a serde_json::value::RawValue,
            #[serde(default)]
            next_after: Option<Srn>,
            #[serde(default)]
            version: Option<TableVersion>,
        }
        let envelope: RawEnvelope<'a> = serde_json::from_slice(bytes)?;
        if envelope.v != MESSAGE_VERSION {
            return Err(DecodeError::Version(envelope.v));
        }
        let body = envelope.body.get();
        let Outcome { outcome } = serde_json::from_str(body)?;
        if outcome != "records" {
            return Ok(ReadReply::Other(serde_json::from_str(body)?));
        }
        let raw: RawRecords<'a> = serde_json::from_str(body)?;
        // Clients are promised an array: check the shape here. The records themselves
        // were encoded by the consumer from validated rows.
        let _: Vec<serde::de::IgnoredAny> = serde_json::from_str(raw.records.get())?;
        Ok(ReadReply::Records {
            records: raw.records.get().as_bytes(),
            next_after: raw.next_after,
            version: raw.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{record, version};
    use super::*;
    use crate::record::StudentRecord;

    #[test]
    fn a_read_reply_keeps_the_records_as_the_consumer_wrote_them() {
        let records = vec![record(), StudentRecord::new("Ann", "b2", "C").unwrap()];
        let reply = Reply::Records {
            records: records.clone(),
            next_after: Some(Srn::parse("B2").unwrap()),
            version: Some(version()),
        };
        let bytes = reply.encode();
        match ReadReply::decode(&bytes).unwrap() {
            ReadReply::Records {
                records: raw,
                next_after,
                version: v,
            } => {
                assert_eq!(raw, serde_json::to_vec(&records).unwrap().as_slice());
                assert_eq!(next_after.unwrap().as_str(), "B2");
                assert_eq!(v, Some(version()));
            }
            other => panic!("{other:?}"),
        }
        let unchanged = Reply::Unchanged { version: version() }.encode();
        assert!(matches!(
            ReadReply::decode(&unchanged).unwrap(),
            ReadReply::Other(Reply::Unchanged { .. })
        ));
        for bad in [
            &br#"{"v":2,"body":{"outcome":"records","records":[]}}"#[..],
            br#"{"v":1,"body":{"outcome":"records","records":[1,]}}"#,
            br#"{"v":1,"body":{"outcome":"records","records":{}}}"#,
            br#"{"v":1,"body":{"outcome":"nonsense"}}"#,
        ] {
            assert!(
                ReadReply::decode(bad).is_err(),
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
    }

    #[test]
    fn table_versions_print_and_parse_back() {
        let v = version();
        assert_eq!(v.to_string(), "3f2a9c.42");
        assert_eq!("3f2a9c.42".parse::<TableVersion>(), Ok(v.clone()));
        for bad in ["", "42", ".42", "3f2a9c.", "3f2a9c.x", "3f 2a.1", "a\"b.1"] {
            assert!(bad.parse::<TableVersion>().is_err(), "{bad:?}");
        }
        let later = TableVersion {
            counter: 43,
            ..v.clone()
        };
        assert!(later.is_newer_than(&v) && !v.is_newer_than(&later));
        let recreated = TableVersion {
            epoch: "77".into(),
            counter: 0,
        };
        assert!(recreated.is_newer_than(&v));
    }
}
