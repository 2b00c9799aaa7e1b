//! What provisioning creates, derived from [`crate::topology`]: one broker user per
//! service with least-privilege permissions, the dead-letter policy and the topology
//! itself as one RabbitMQ definitions document, and one database account per consumer
//! that touches the table, plus the migration account. `scripts/stack` and
//! docker-compose's one-shot services apply what the `topology` binary renders from
//! here, so neither keeps its own copy of the names.
//!
//! Passwords are looked up by variable name ([`broker_password_variable`],
//! [`database_password_variable`]): `RABBITMQ_PRODUCER_PASSWORD`,
//! `MYSQL_INSERT_PASSWORD` and so on.

pub mod secrets;

use crate::topology::{
    queue_arguments, QueueType, DEAD_LETTER_EXCHANGE, DEAD_LETTER_POLICY_PATTERN,
    DEAD_LETTER_QUEUE, EXCHANGE,
};
use lapin::types::{AMQPValue, FieldTable};
use protocol::Operation;
use serde_json::{json, Value};

/// The producer's broker user (the binary's name, as the consumers' are).
pub const PRODUCER: &str = "producer";
/// The one virtual host everything lives in.
pub const VHOST: &str = "/";
/// The operator policy that sends rejected writes to [`DEAD_LETTER_EXCHANGE`].
pub const DEAD_LETTER_POLICY: &str = "dead-letter";
/// RabbitMQ's name for the default exchange in permissions: replies go through it.
const DEFAULT_EXCHANGE: &str = "amq.default";
/// The account that owns the schema; used only for the start-up migration.
pub const MIGRATION_ACCOUNT: &str = "records_migrate";

/// A password variable the caller did not provide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not set")]
pub struct MissingPassword(pub String);

/// Where passwords come from: variable name to value.
pub type Passwords<'a> = &'a dyn Fn(&str) -> Option<String>;

fn password(passwords: Passwords<'_>, variable: String) -> Result<String, MissingPassword> {
    passwords(&variable)
        .filter(|p| !p.is_empty())
        .ok_or(MissingPassword(variable))
}

/// A service's broker user and the three permission patterns RabbitMQ checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUser {
    pub name: &'static str,
    pub configure: String,
    pub write: String,
    pub read: String,
}

/// `^(a|b)$` for the names, each matched literally.
fn exactly(names: &[&str]) -> String {
    let escaped: Vec<String> = names.iter().map(|n| regex_escape(n)).collect();
    format!("^({})$", escaped.join("|"))
}

fn regex_escape(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

fn exchanges() -> [&'static str; 2] {
    [EXCHANGE, DEAD_LETTER_EXCHANGE]
}

fn queues() -> Vec<&'static str> {
    let mut queues: Vec<_> = Operation::ALL.iter().map(|op| op.queue()).collect();
    queues.push(DEAD_LETTER_QUEUE);
    queues
}

/// Every service may declare the whole topology (each declares it at start-up) and
/// nothing else. Binding a queue takes write on the queue and read on the exchange.
/// The producer publishes only to [`EXCHANGE`]; a consumer reads only its own queue and
/// publishes only replies (the default exchange) and dead letters.
pub fn broker_users() -> Vec<BrokerUser> {
    let names: Vec<&str> = exchanges().into_iter().chain(queues()).collect();
    let configure = exactly(&names);
    let read_exchanges = exactly(&exchanges());
    let producer_write: Vec<&str> = [EXCHANGE].into_iter().chain(queues()).collect();
    let consumer_write: Vec<&str> = [DEFAULT_EXCHANGE, DEAD_LETTER_EXCHANGE]
        .into_iter()
        .chain(queues())
        .collect();
    let mut users = vec![BrokerUser {
        name: PRODUCER,
        configure: configure.clone(),
        write: exactly(&producer_write),
        read: read_exchanges,
    }];
    for op in Operation::ALL {
        let read: Vec<&str> = exchanges().into_iter().chain([op.queue()]).collect();
        users.push(BrokerUser {
            name: op.consumer_name(),
            configure: configure.clone(),
            write: exactly(&consumer_write),
            read: exactly(&read),
        });
    }
    users
}

/// A database account and what it may do on the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatabaseAccount {
    pub name: &'static str,
    pub privileges: &'static str,
}

/// The account a consumer connects as, holding only what its operation needs; none for
/// the health check. The writers hold EXECUTE to call `students_changed()`, which moves
/// the table version with the migration account's rights (no consumer may UPDATE).
pub fn database_account(op: Operation) -> Option<DatabaseAccount> {
    let (name, privileges) = match op {
        Operation::HealthCheck => return None,
        Operation::InsertRecord => ("records_insert", "INSERT, SELECT, EXECUTE"),
        Operation::DeleteRecord => ("records_delete", "DELETE, SELECT, EXECUTE"),
        Operation::ReadDatabase => ("records_read", "SELECT"),
    };
    Some(DatabaseAccount { name, privileges })
}

/// The migration account first, then one per consumer that has one.
pub fn database_accounts() -> Vec<DatabaseAccount> {
    let migrate = DatabaseAccount {
        name: MIGRATION_ACCOUNT,
        privileges: "ALL PRIVILEGES",
    };
    std::iter::once(migrate)
        .chain(Operation::ALL.into_iter().filter_map(database_account))
        .collect()
}

/// `RABBITMQ_<USER>_PASSWORD`, for example `RABBITMQ_CONSUMER_INSERT_PASSWORD`.
pub fn broker_password_variable(user: &str) -> String {
    format!("RABBITMQ_{}_PASSWORD", variable_part(user))
}

/// `MYSQL_<ACCOUNT>_PASSWORD` without the `records_` prefix: `MYSQL_INSERT_PASSWORD`.
pub fn database_password_variable(account: &str) -> String {
    let short = account.strip_prefix("records_").unwrap_or(account);
    format!("MYSQL_{}_PASSWORD", variable_part(short))
}

fn variable_part(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// The RabbitMQ definitions document: users, permissions, the dead-letter policy, the
/// exchanges, queues and bindings `declare_topology` declares. Importing it
/// (`rabbitmqctl import_definitions`, `POST /api/definitions`) creates what is missing
/// and sets users' passwords and permissions; it is safe to repeat.
pub fn rabbitmq_definitions(
    queue_type: QueueType,
    passwords: Passwords<'_>,
) -> Result<Value, MissingPassword> {
    let mut users = Vec::new();
    let mut permissions = Vec::new();
    for user in broker_users() {
        let secret = password(passwords, broker_password_variable(user.name))?;
        users.push(json!({"name": user.name, "password": secret, "tags": ""}));
        permissions.push(json!({
            "user": user.name, "vhost": VHOST,
            "configure": user.configure, "write": user.write, "read": user.read,
        }));
    }
    // declare_topology's kinds: the requests' exchange is direct (routing key = queue),
    // the dead-letter exchange fanout (one queue keeps every reason).
    let exchange = |name: &str, kind: &str| {
        json!({"name": name, "vhost": VHOST, "type": kind, "durable": true,
               "auto_delete": false, "internal": false, "arguments": {}})
    };
    let queue = |name: &str, write: bool| {
        json!({"name": name, "vhost": VHOST, "durable": true, "auto_delete": false,
               "arguments": table_json(&queue_arguments(queue_type, write))})
    };
    let binding = |exchange: &str, queue: &str, key: &str| {
        json!({"source": exchange, "vhost": VHOST, "destination": queue,
               "destination_type": "queue", "routing_key": key, "arguments": {}})
    };
    let mut queues = vec![queue(DEAD_LETTER_QUEUE, false)];
    let mut bindings = vec![binding(DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, "")];
    for op in Operation::ALL {
        queues.push(queue(op.queue(), op.is_write()));
        bindings.push(binding(EXCHANGE, op.queue(), op.routing_key()));
    }
    Ok(json!({
        "users": users,
        "vhosts": [{"name": VHOST}],
        "permissions": permissions,
        "policies": [{
            "vhost": VHOST, "name": DEAD_LETTER_POLICY, "pattern": DEAD_LETTER_POLICY_PATTERN,
            "apply-to": "queues", "priority": 0,
            "definition": {"dead-letter-exchange": DEAD_LETTER_EXCHANGE},
        }],
        "exchanges": [exchange(DEAD_LETTER_EXCHANGE, "fanout"), exchange(EXCHANGE, "direct")],
        "queues": queues,
        "bindings": bindings,
    }))
}

/// Queue arguments as the definitions document writes them.
fn table_json(table: &FieldTable) -> Value {
    let entries = table.inner().iter().map(|(key, value)| {
        let value = match value {
            AMQPValue::LongString(s) => json!(String::from_utf8_lossy(s.as_bytes())),
            AMQPValue::ShortString(s) => json!(s.as_str()),
            AMQPValue::LongLongInt(n) => json!(n),
            AMQPValue::LongInt(n) => json!(n),
            AMQPValue::Boolean(b) => json!(b),
            other => unreachable!("queue_arguments sets no {other:?}"),
        };
        (key.as_str().to_owned(), value)
    });
    Value::Object(entries.collect())
}

/// Why the database part cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountsError {
    #[error(transparent)]
    Missing(#[from] MissingPassword),
    #[error("database name {0:?}: use letters, digits and _")]
    BadDatabase(String),
}

/// SQL that creates the schema and every account with its grants, and sets each
/// account's password. Safe to run again: it creates only what is missing, and a
/// password changed since is set again. (Grants are added, never revoked.)
pub fn mysql_accounts_sql(
    database: &str,
    passwords: Passwords<'_>,
) -> Result<String, AccountsError> {
    let valid = !database.is_empty()
        && database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(AccountsError::BadDatabase(database.to_owned()));
    }
    let mut sql = format!(
        "CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
    );
    for account in database_accounts() {
        let secret = sql_string(&password(
            passwords,
            database_password_variable(account.name),
        )?);
        let user = format!("'{}'@'%'", account.name);
        sql.push_str(&format!(
            "CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {secret};\n\
             ALTER USER {user} IDENTIFIED BY {secret};\n\
             GRANT {} ON `{database}`.* TO {user};\n",
            account.privileges
        ));
    }
    Ok(sql)
}

/// A single-quoted SQL string literal.
fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn user(name: &str) -> BrokerUser {
        broker_users().into_iter().find(|u| u.name == name).unwrap()
    }

    fn matches(pattern: &str, name: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(name)
    }

    fn any_password(variable: &str) -> Option<String> {
        Some(format!("pw-of-{variable}"))
    }

    #[test]
    fn every_service_may_declare_the_whole_topology_and_nothing_else() {
        let users = broker_users();
        assert_eq!(users.len(), 1 + Operation::ALL.len());
        for u in &users {
            for name in exchanges().into_iter().chain(queues()) {
                assert!(
                    matches(&u.configure, name),
                    "{} cannot declare {name}",
                    u.name
                );
                // Binding: write on the queue, read on the exchange.
            }
            for queue in queues() {
                assert!(matches(&u.write, queue), "{} cannot bind {queue}", u.name);
            }
            for exchange in exchanges() {
                assert!(
                    matches(&u.read, exchange),
                    "{} cannot bind from {exchange}",
                    u.name
                );
            }
            assert!(!matches(&u.configure, "other_queue"));
            assert!(!matches(&u.configure, "xstudent_records"), "anchored");
            assert!(
                !matches(&u.configure, "student_recordsXdead_letter"),
                "dot is literal"
            );
        }
    }

    #[test]
    fn the_producer_publishes_only_requests() {
        let producer = user(PRODUCER);
        assert!(matches(&producer.write, EXCHANGE));
        assert!(!matches(&producer.write, DEFAULT_EXCHANGE));
        assert!(!matches(&producer.write, DEAD_LETTER_EXCHANGE));
        for op in Operation::ALL {
            assert!(
                !matches(&producer.read, op.queue()),
                "producer consumes {op}"
            );
        }
    }

    #[test]
    fn each_consumer_reads_only_its_own_queue_and_replies() {
        for op in Operation::ALL {
            let consumer = user(op.consumer_name());
            for other in Operation::ALL {
                assert_eq!(
                    matches(&consumer.read, other.queue()),
                    op == other,
                    "{op} reads {other}"
                );
            }
            assert!(!matches(&consumer.read, DEAD_LETTER_QUEUE));
            assert!(matches(&consumer.write, DEFAULT_EXCHANGE));
            assert!(matches(&consumer.write, DEAD_LETTER_EXCHANGE));
            assert!(
                !matches(&consumer.write, EXCHANGE),
                "{op} may publish requests"
            );
        }
    }

    #[test]
    fn definitions_cover_every_queue_binding_and_user() {
        let defs = rabbitmq_definitions(QueueType::Classic, &any_password).unwrap();
        let names = |key: &str, field: &str| -> Vec<String> {
            defs[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v[field].as_str().unwrap().to_owned())
                .collect()
        };
        let queue_names = names("queues", "name");
        assert_eq!(queue_names.len(), queues().len());
        for queue in queues() {
            assert!(queue_names.iter().any(|q| q == queue), "{queue} missing");
        }
        for op in Operation::ALL {
            let bound = defs["bindings"].as_array().unwrap().iter().any(|b| {
                b["source"] == EXCHANGE
                    && b["destination"] == op.queue()
                    && b["routing_key"] == op.routing_key()
            });
            assert!(bound, "{op} not bound");
        }
        assert!(defs["bindings"].as_array().unwrap().iter().any(|b| {
            b["source"] == DEAD_LETTER_EXCHANGE && b["destination"] == DEAD_LETTER_QUEUE
        }));
        assert_eq!(names("users", "name"), names("permissions", "user"));
        assert_eq!(
            defs["users"][0]["password"],
            "pw-of-RABBITMQ_PRODUCER_PASSWORD"
        );
        let policy = &defs["policies"][0];
        assert!(matches(
            policy["pattern"].as_str().unwrap(),
            "insert_record"
        ));
        assert!(!matches(
            policy["pattern"].as_str().unwrap(),
            "read_database"
        ));
        assert_eq!(
            policy["definition"]["dead-letter-exchange"],
            DEAD_LETTER_EXCHANGE
        );
    }

    #[test]
    fn quorum_definitions_carry_the_queue_type_and_the_delivery_limit() {
        let defs = rabbitmq_definitions(QueueType::Quorum, &any_password).unwrap();
        let insert = defs["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == "insert_record")
            .unwrap();
        assert_eq!(insert["arguments"]["x-queue-type"], "quorum");
        assert_eq!(
            insert["arguments"]["x-delivery-limit"],
            crate::topology::QUORUM_DELIVERY_LIMIT
        );
        let classic = rabbitmq_definitions(QueueType::Classic, &any_password).unwrap();
        assert_eq!(classic["queues"][1]["arguments"], json!({}));
    }

    #[test]
    fn a_missing_password_is_named() {
        let none = |_: &str| None;
        let err = rabbitmq_definitions(QueueType::Classic, &none).unwrap_err();
        assert_eq!(err.0, "RABBITMQ_PRODUCER_PASSWORD");
        let err = mysql_accounts_sql("inventory", &none).unwrap_err();
        assert_eq!(
            err,
            AccountsError::Missing(MissingPassword("MYSQL_MIGRATE_PASSWORD".into()))
        );
    }

    #[test]
    fn database_accounts_match_the_consumers() {
        let sql = mysql_accounts_sql("inventory", &any_password).unwrap();
        assert!(sql.contains("GRANT ALL PRIVILEGES ON `inventory`.* TO 'records_migrate'@'%';"));
        assert!(
            sql.contains("GRANT INSERT, SELECT, EXECUTE ON `inventory`.* TO 'records_insert'@'%';")
        );
        assert!(
            sql.contains("GRANT DELETE, SELECT, EXECUTE ON `inventory`.* TO 'records_delete'@'%';")
        );
        assert!(sql.contains("GRANT SELECT ON `inventory`.* TO 'records_read'@'%';"));
        assert!(sql.contains("IDENTIFIED BY 'pw-of-MYSQL_INSERT_PASSWORD'"));
        assert!(database_account(Operation::HealthCheck).is_none());
        // Only the writers may call the version procedure; nobody but migrate may UPDATE.
        for account in database_accounts().iter().skip(1) {
            assert!(!account.privileges.contains("UPDATE"), "{}", account.name);
        }
    }

    #[test]
    fn sql_strings_and_names_cannot_break_out() {
        let quote = |_: &str| Some("it's\\".to_owned());
        let sql = mysql_accounts_sql("inventory", &quote).unwrap();
        assert!(sql.contains(r"IDENTIFIED BY 'it\'s\\'"));
        assert!(matches!(
            mysql_accounts_sql("x`; DROP", &any_password),
            Err(AccountsError::BadDatabase(_))
        ));
    }

    #[test]
    fn password_variables_follow_the_names() {
        assert_eq!(
            broker_password_variable("consumer-insert"),
            "RABBITMQ_CONSUMER_INSERT_PASSWORD"
        );
        assert_eq!(
            broker_password_variable(PRODUCER),
            "RABBITMQ_PRODUCER_PASSWORD"
        );
        assert_eq!(
            database_password_variable("records_read"),
            "MYSQL_READ_PASSWORD"
        );
        assert_eq!(
            database_password_variable(MIGRATION_ACCOUNT),
            "MYSQL_MIGRATE_PASSWORD"
        );
    }
}
