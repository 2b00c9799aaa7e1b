//! The four operations and the names that go with each: its routing key (which is also
//! its queue's name) and the consumer that owns it. Names only: declaring them on a
//! broker is the `inventory` library's job.

use std::fmt;

/// The four operations; each has one queue, bound with a routing key of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    HealthCheck,
    InsertRecord,
    DeleteRecord,
    ReadDatabase,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::HealthCheck,
        Operation::InsertRecord,
        Operation::DeleteRecord,
        Operation::ReadDatabase,
    ];

    /// The routing key, which is also the queue name.
    pub fn routing_key(self) -> &'static str {
        match self {
            Operation::HealthCheck => "health_check",
            Operation::InsertRecord => "insert_record",
            Operation::DeleteRecord => "delete_record",
            Operation::ReadDatabase => "read_database",
        }
    }

    pub fn queue(self) -> &'static str {
        self.routing_key()
    }

    /// The binary that consumes this queue; used in replies and log lines.
    pub fn consumer_name(self) -> &'static str {
        match self {
            Operation::HealthCheck => "consumer-health",
            Operation::InsertRecord => "consumer-insert",
            Operation::DeleteRecord => "consumer-delete",
            Operation::ReadDatabase => "consumer-read",
        }
    }

    /// Whether the operation changes data. Reads and health checks are worthless once
    /// their caller has given up, so they expire in the queue; writes never do.
    pub fn is_write(self) -> bool {
        matches!(self, Operation::InsertRecord | Operation::DeleteRecord)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.routing_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_the_assignments() {
        let names: Vec<_> = Operation::ALL.iter().map(|op| op.queue()).collect();
        assert_eq!(
            names,
            [
                "health_check",
                "insert_record",
                "delete_record",
                "read_database"
            ]
        );
        for op in Operation::ALL {
            assert_eq!(op.queue(), op.routing_key());
        }
    }
}
