//! The last full list of records the producer served, with the table version it was
//! read at.
//!
//! Every read still goes through the broker to consumer-read, naming the version held
//! here; when the database says the table is still at that version, consumer-read
//! answers `unchanged`, and the read (the full list or a page of it) is answered from
//! here instead of the records being read, encoded and carried through the broker
//! again. The same version is the full list's `ETag`, so clients can ask
//! `If-None-Match` and get `304 Not Modified`.

use protocol::message::TableVersion;
use protocol::Srn;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::ops::Range;
use std::sync::{Arc, RwLock};

/// One full list, encoded as the client receives it.
#[derive(Debug)]
pub struct Snapshot {
    pub version: TableVersion,
    /// The JSON array of records, shared by every response that serves it.
    pub body: Arc<[u8]>,
    /// Where each record's object lies in `body`, in SRN order.
    records: Vec<Range<u32>>,
}

/// A page cut from a snapshot.
#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// The JSON array of the page's records.
    pub records: Vec<u8>,
    /// The last record's SRN, when more records follow.
    pub next_after: Option<Srn>,
}

impl Snapshot {
    /// Indexes `body`, a JSON array of records ordered by SRN. `None` if it is not one.
    fn new(version: TableVersion, body: Arc<[u8]>) -> Option<Snapshot> {
        let items: Vec<&RawValue> = serde_json::from_slice(&body).ok()?;
        let base = body.as_ptr() as usize;
        let records = items
            .iter()
            .map(|item| {
                let start = item.get().as_ptr() as usize - base;
                let end = start + item.get().len();
                Some(u32::try_from(start).ok()?..u32::try_from(end).ok()?)
            })
            .collect::<Option<Vec<_>>>()?;
        let snapshot = Snapshot {
            version,
            body,
            records,
        };
        // Pages are found by binary search: every record must name its SRN, in order.
        let srns: Option<Vec<&str>> = (0..snapshot.records.len())
            .map(|i| snapshot.srn(i))
            .collect();
        srns.filter(|s| s.windows(2).all(|w| w[0] < w[1]))?;
        Some(snapshot)
    }

    fn srn(&self, i: usize) -> Option<&str> {
        #[derive(Deserialize)]
        struct SrnOnly<'a> {
            #[serde(rename = "SRN")]
            srn: &'a str,
        }
        let range = &self.records[i];
        let text = &self.body[range.start as usize..range.end as usize];
        serde_json::from_slice::<SrnOnly<'_>>(text)
            .ok()
            .map(|r| r.srn)
    }

    /// The records after `after` (all, without it), at most `limit` (all, without it),
    /// exactly as the database would answer the same read at this version.
    pub fn page(&self, after: Option<&Srn>, limit: Option<u32>) -> Page {
        // SRNs are checked present and ordered when the snapshot is made.
        let first = after.map_or(0, |after| self.first_after(after.as_str()));
        let available = self.records.len() - first;
        let count = limit.map_or(available, |l| available.min(l as usize));
        let mut records = Vec::with_capacity(2);
        records.push(b'[');
        if count > 0 {
            let span =
                self.records[first].start as usize..self.records[first + count - 1].end as usize;
            records.extend_from_slice(&self.body[span]);
        }
        records.push(b']');
        let next_after = (count > 0 && count < available)
            .then(|| self.srn(first + count - 1))
            .flatten()
            .and_then(|srn| Srn::parse(srn).ok());
        Page {
            records,
            next_after,
        }
    }

    /// The index of the first record whose SRN sorts after `after`.
    fn first_after(&self, after: &str) -> usize {
        let (mut low, mut high) = (0, self.records.len());
        while low < high {
            let mid = (low + high) / 2;
            if self.srn(mid).is_some_and(|srn| srn <= after) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }
}

/// The entity tag of the full list at `version`.
pub fn etag(version: &TableVersion) -> String {
    format!("\"{version}\"")
}

/// The version an `If-None-Match` value names, if it is one of ours.
pub fn version_in(if_none_match: &str) -> Option<TableVersion> {
    if_none_match
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"'))
        .find_map(|tag| tag.parse().ok())
}

/// Holds at most one snapshot, the newest seen, up to `max_bytes`.
#[derive(Debug)]
pub struct Snapshots {
    current: RwLock<Option<Arc<Snapshot>>>,
    max_bytes: usize,
}

impl Snapshots {
    /// `max_bytes` 0 keeps nothing: every full read then moves the whole list.
    pub fn new(max_bytes: usize) -> Snapshots {
        Snapshots {
            current: RwLock::new(None),
            max_bytes,
        }
    }

    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Keeps `body` as the list at `version`, unless it is too large, an even newer
    /// list is already held (replies to concurrent reads can arrive in any order), or
    /// it is not an SRN-ordered array of records. Returns the shared body either way.
    pub fn offer(&self, version: TableVersion, body: &[u8]) -> Arc<[u8]> {
        let body: Arc<[u8]> = Arc::from(body);
        let newer = |current: &Option<Arc<Snapshot>>| {
            current
                .as_ref()
                .is_none_or(|held| version.is_newer_than(&held.version))
        };
        if body.len() > self.max_bytes
            || !newer(&self.current.read().unwrap_or_else(|p| p.into_inner()))
        {
            return body;
        }
        // Indexed outside the lock: readers keep being served from the older list.
        let Some(snapshot) = Snapshot::new(version.clone(), body.clone()) else {
            log::warn!("producer: a full list at {version} is not an SRN-ordered array; not kept");
            return body;
        };
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if newer(&current) {
            *current = Some(Arc::new(snapshot));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(epoch: &str, counter: u64) -> TableVersion {
        TableVersion {
            epoch: epoch.into(),
            counter,
        }
    }

    #[test]
    fn keeps_the_newest_list_only() {
        let snapshots = Snapshots::new(1024);
        snapshots.offer(v("a", 2), &list(&["TWO"]));
        snapshots.offer(v("a", 1), &list(&["ONE"]));
        assert_eq!(
            srns_of(&snapshots.current().unwrap().page(None, None)),
            ["TWO"]
        );
        snapshots.offer(v("a", 3), &list(&["THREE"]));
        assert_eq!(snapshots.current().unwrap().version, v("a", 3));
        // A re-created table starts a new epoch at 0: still newer.
        snapshots.offer(v("b", 0), b"[]");
        assert_eq!(snapshots.current().unwrap().version, v("b", 0));
    }

    #[test]
    fn lists_over_the_bound_are_served_but_not_kept() {
        let snapshots = Snapshots::new(3);
        let body = list(&["A"]);
        assert_eq!(&*snapshots.offer(v("a", 1), &body), &body[..]);
        assert!(snapshots.current().is_none());
        assert!(Snapshots::new(0).offer(v("a", 1), b"[]").len() == 2);
    }

    fn list(srns: &[&str]) -> Vec<u8> {
        let records: Vec<_> = srns
            .iter()
            .map(|s| protocol::StudentRecord::new("N \"q\" ü", s, "A").unwrap())
            .collect();
        serde_json::to_vec(&records).unwrap()
    }

    fn srns_of(page: &Page) -> Vec<String> {
        let records: Vec<serde_json::Value> = serde_json::from_slice(&page.records).unwrap();
        records
            .iter()
            .map(|r| r["SRN"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn pages_are_cut_as_the_database_would_answer() {
        let snapshots = Snapshots::new(1 << 20);
        snapshots.offer(v("a", 1), &list(&["A1", "B2", "C3", "D4", "E5"]));
        let s = snapshots.current().unwrap();
        let srn = |x: &str| Srn::parse(x).unwrap();
        let page = s.page(None, Some(2));
        assert_eq!(
            (srns_of(&page), page.next_after),
            (vec!["A1".into(), "B2".into()], Some(srn("B2")))
        );
        let page = s.page(Some(&srn("B2")), Some(2));
        assert_eq!(
            (srns_of(&page), page.next_after),
            (vec!["C3".into(), "D4".into()], Some(srn("D4")))
        );
        // Between two SRNs, and the last page: no next.
        let page = s.page(Some(&srn("C")), Some(5));
        assert_eq!(
            (srns_of(&page), page.next_after),
            (vec!["C3".into(), "D4".into(), "E5".into()], None)
        );
        assert_eq!(s.page(Some(&srn("E5")), Some(3)).records, b"[]");
        assert_eq!(s.page(Some(&srn("Z")), None).records, b"[]");
        assert_eq!(s.page(None, None).records, &*s.body);
        assert_eq!(srns_of(&s.page(Some(&srn("0")), Some(1))), ["A1"]);
        let page = s.page(None, Some(5));
        assert_eq!((srns_of(&page).len(), page.next_after), (5, None));
        let empty = Snapshots::new(1 << 20);
        empty.offer(v("a", 1), b"[]");
        assert_eq!(
            empty.current().unwrap().page(None, Some(3)),
            Page {
                records: b"[]".to_vec(),
                next_after: None
            }
        );
    }

    #[test]
    fn lists_that_are_not_ordered_records_are_not_kept() {
        for body in [&b"{}"[..], b"[1]", br#"[{"Name":"x"}]"#] {
            let snapshots = Snapshots::new(1 << 20);
            snapshots.offer(v("a", 1), body);
            assert!(snapshots.current().is_none(), "{body:?}");
        }
        let snapshots = Snapshots::new(1 << 20);
        snapshots.offer(v("a", 1), &list(&["B", "A"]));
        assert!(snapshots.current().is_none());
    }

    #[test]
    fn if_none_match_names_a_version() {
        assert_eq!(version_in("\"ab12.7\""), Some(v("ab12", 7)));
        assert_eq!(version_in("W/\"ab12.7\""), Some(v("ab12", 7)));
        assert_eq!(version_in("\"x\", \"ab12.7\""), Some(v("ab12", 7)));
        assert_eq!(version_in("*"), None);
        assert_eq!(version_in("\"nonsense\""), None);
        assert_eq!(etag(&v("ab12", 7)), "\"ab12.7\"");
    }
}
