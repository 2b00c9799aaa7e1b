//! The SRNs the checker makes up, so that it only ever touches its own records.
//!
//! Its own format is `CHK-<run>-<nnn>`: a prefix no real student has, six random
//! characters that tell two runs apart, and a counter of fixed width, so that no SRN
//! of a run contains another (the one exception is made on purpose, to see whether a
//! delete also removes records whose SRN merely contains the named one).
//!
//! A deployment whose validation refuses that format gets the assignment's sample
//! format instead, `PES1UG99CS<nnn>` (like `PES1UG21CS096`; year 99, which no current
//! student has), skipping every such SRN its reads already show.

use std::collections::BTreeSet;

/// Which format the run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `CHK-<run>-<nnn>`.
    Own,
    /// `PES1UG99CS<nnn>`, the assignment's sample format.
    Sample,
}

pub const SAMPLE_PREFIX: &str = "PES1UG99CS";

/// Hands out fresh SRNs and remembers which ones were sent in an insert.
#[derive(Debug)]
pub struct SrnPool {
    pub run: String,
    pub format: Format,
    next: u32,
    /// Sample-format SRNs that existed before the run: never used.
    taken: BTreeSet<String>,
}

impl SrnPool {
    pub fn new() -> SrnPool {
        let id = uuid::Uuid::new_v4().as_u128();
        let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let run = (0..6)
            .map(|i| alphabet[((id >> (5 * i)) & 31) as usize] as char)
            .collect();
        // Sample numbers start at a random point, so two runs rarely meet.
        let next = ((id >> 64) % 900) as u32;
        SrnPool {
            run,
            format: Format::Own,
            next,
            taken: BTreeSet::new(),
        }
    }

    /// What every SRN of this run starts with.
    pub fn prefix(&self) -> String {
        match self.format {
            Format::Own => format!("CHK-{}-", self.run),
            Format::Sample => SAMPLE_PREFIX.to_string(),
        }
    }

    /// Switches to the sample format; `existing` are the SRNs a read already shows.
    pub fn use_sample(&mut self, existing: impl IntoIterator<Item = String>) {
        self.format = Format::Sample;
        self.taken.extend(existing);
    }

    /// A fresh SRN in the current format.
    ///
    /// Panics if the sample format's 1000 numbers are all taken, which a run (about a
    /// hundred records) cannot reach.
    pub fn fresh(&mut self) -> String {
        for _ in 0..1000 {
            let n = self.next % 1000;
            self.next += 1;
            let srn = match self.format {
                Format::Own => format!("CHK-{}-{n:03}", self.run),
                Format::Sample => format!("{SAMPLE_PREFIX}{n:03}"),
            };
            if !self.taken.contains(&srn) {
                self.taken.insert(srn.clone());
                return srn;
            }
        }
        panic!("every sample-format SRN is taken");
    }

    /// An SRN that contains `srn` (so `LIKE '%srn%'` matches both), when the format
    /// allows one; otherwise another fresh one.
    pub fn containing(&mut self, srn: &str) -> String {
        match self.format {
            Format::Own => format!("{srn}X"),
            Format::Sample => self.fresh(),
        }
    }
}

impl Default for SrnPool {
    fn default() -> Self {
        SrnPool::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Srn;

    #[test]
    fn own_srns_are_valid_distinct_and_none_contains_another() {
        let mut pool = SrnPool::new();
        let srns: Vec<String> = (0..200).map(|_| pool.fresh()).collect();
        for (i, a) in srns.iter().enumerate() {
            assert_eq!(Srn::parse(a).unwrap().as_str(), a, "valid and upper case");
            assert!(a.starts_with(&pool.prefix()));
            for b in &srns[i + 1..] {
                assert!(
                    !a.contains(b.as_str()) && !b.contains(a.as_str()),
                    "{a} {b}"
                );
            }
        }
        let sibling = pool.containing(&srns[0]);
        assert!(sibling.contains(&srns[0]) && Srn::parse(&sibling).is_ok());
    }

    #[test]
    fn sample_srns_look_like_the_assignments_and_skip_existing_ones() {
        let mut pool = SrnPool::new();
        let first = {
            let mut probe = SrnPool {
                next: pool.next,
                ..SrnPool::new()
            };
            probe.format = Format::Sample;
            probe.fresh()
        };
        pool.use_sample([first.clone()]);
        let srn = pool.fresh();
        assert_ne!(srn, first);
        assert_eq!(srn.len(), "PES1UG21CS096".len());
        assert!(srn.starts_with("PES1UG99CS"));
        assert!(srn[10..].chars().all(|c| c.is_ascii_digit()));
    }
}
