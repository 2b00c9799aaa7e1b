//! The checks, in the order they run: what each observes, whether it is required (a
//! failure sets the exit status) or advice, and which actions it needs. `--help`, the
//! report and the README's table are all written from this one list.

use protocol::shapes::Action;

/// A check's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    Health,
    Read,
    Insert,
    Delete,
    ReadYourWrite,
    ReadAll,
    Duplicate,
    DeleteExact,
    DeleteMissing,
    BadInput,
    Parallel,
    Shapes,
    Alive,
    Latency,
}

/// What is known about a check before it runs.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    pub id: CheckId,
    /// The name in reports and JSON (`read-your-write`).
    pub key: &'static str,
    /// The column of the `--urls` summary it counts in.
    pub group: &'static str,
    pub required: bool,
    /// What it observes, in one sentence.
    pub meaning: &'static str,
    /// The actions it uses: it is skipped when one has no accepted shape or stopped
    /// working earlier in the run.
    pub needs: &'static [Action],
}

use Action::{DeleteRecord as D, InsertRecord as I, ReadDatabase as R};

/// Every check, in running order.
pub const CHECKS: &[CheckInfo] = &[
    CheckInfo {
        id: CheckId::Health,
        key: "health",
        group: "health",
        required: true,
        meaning: "a health-check request (the assignment's GET /health_check?message=…, or \
                  another accepted shape) answers 2xx; a reply carrying the message back is noted",
        needs: &[],
    },
    CheckInfo {
        id: CheckId::Read,
        key: "read",
        group: "read",
        required: true,
        meaning: "a read of the whole database (GET /read_database, or another accepted \
                  shape) answers 2xx",
        needs: &[],
    },
    CheckInfo {
        id: CheckId::Insert,
        key: "insert",
        group: "insert",
        required: true,
        meaning: "an insert (POST /insert_record with Name, SRN and Section, or another \
                  accepted shape) answers 2xx and its record then appears in a read",
        needs: &[R],
    },
    CheckInfo {
        id: CheckId::Delete,
        key: "delete",
        group: "delete",
        required: true,
        meaning: "a delete by SRN (GET /delete_record?SRN=…, or another accepted shape) \
                  answers 2xx and the record then disappears from the reads",
        needs: &[I, R],
    },
    CheckInfo {
        id: CheckId::ReadYourWrite,
        key: "read-your-write",
        group: "read",
        required: true,
        meaning: "three times, an inserted record is in the very next read after the \
                  insert answered (not only later, not one read behind)",
        needs: &[I, R],
    },
    CheckInfo {
        id: CheckId::ReadAll,
        key: "read-all",
        group: "read",
        required: true,
        meaning: "after 12 more inserts, a read returns every one of them (not the first \
                  10, not one page)",
        needs: &[I, R],
    },
    CheckInfo {
        id: CheckId::Duplicate,
        key: "duplicate",
        group: "insert",
        required: true,
        meaning: "inserting an SRN that exists does not create a second record with it",
        needs: &[I, R],
    },
    CheckInfo {
        id: CheckId::DeleteExact,
        key: "delete-exact",
        group: "delete",
        required: true,
        meaning: "deleting one SRN removes that record and keeps the others, including \
                  one whose SRN contains the deleted one",
        needs: &[I, R, D],
    },
    CheckInfo {
        id: CheckId::DeleteMissing,
        key: "delete-missing",
        group: "delete",
        required: true,
        meaning: "deleting an SRN that does not exist is reported: a 4xx, or a 2xx whose \
                  body says it was not found",
        needs: &[D],
    },
    CheckInfo {
        id: CheckId::BadInput,
        key: "bad-input",
        group: "input",
        required: true,
        meaning: "missing or malformed arguments (no fields, no SRN, no Name, broken JSON, \
                  a list as SRN, a delete without SRN) get a 4xx, not a 5xx, a 2xx or no answer",
        needs: &[I],
    },
    CheckInfo {
        id: CheckId::Parallel,
        key: "parallel",
        group: "insert",
        required: true,
        meaning: "32 inserts sent at once all answer 2xx and each record is then stored \
                  exactly once",
        needs: &[I, R],
    },
    CheckInfo {
        id: CheckId::Shapes,
        key: "shapes",
        group: "shapes",
        required: false,
        meaning: "which other request shapes of the table (paths, methods, JSON, form or \
                  multipart bodies, query or path fields) work; unsupported ones are listed, \
                  and only a 5xx, no answer, or a 2xx that did nothing counts against it",
        needs: &[],
    },
    CheckInfo {
        id: CheckId::Alive,
        key: "alive",
        group: "health",
        required: true,
        meaning: "after all of the above, the health check and the read still answer 2xx",
        needs: &[],
    },
    CheckInfo {
        id: CheckId::Latency,
        key: "latency",
        group: "latency",
        required: false,
        meaning: "p50, p90, p99 and max latency of every route used; advice fails when a \
                  route's p99 is over --slow-ms",
        needs: &[],
    },
];

pub fn info(id: CheckId) -> &'static CheckInfo {
    CHECKS
        .iter()
        .find(|c| c.id == id)
        .expect("every check is in the catalogue")
}

/// The summary's columns, in order.
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for c in CHECKS {
        if !out.contains(&c.group) {
            out.push(c.group);
        }
    }
    out
}

/// `--help`'s list of checks, each meaning wrapped under its own column.
pub fn help_text() -> String {
    const INDENT: usize = 28;
    const WIDTH: usize = 96;
    let mut out =
        String::from("Checks, in the order they run (REQUIRED ones set the exit status):\n");
    for c in CHECKS {
        let kind = if c.required { "REQUIRED" } else { "advice" };
        let mut line = format!("  {:<16} {kind:<8} ", c.key);
        for word in c.meaning.split_whitespace() {
            if line.chars().count() + word.chars().count() > WIDTH {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(INDENT);
            }
            line.push_str(word);
            line.push(' ');
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_help_names_every_check() {
        let help = help_text();
        assert!(help.lines().all(|l| l.chars().count() <= 96), "{help}");
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(CHECKS[i + 1..]
                .iter()
                .all(|d| d.key != c.key && d.id != c.id));
            assert!(help.contains(c.key));
        }
        assert_eq!(groups()[0], "health");
    }
}
