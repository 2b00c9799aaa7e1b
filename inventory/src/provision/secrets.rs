//! docker-compose's secrets (`topology init-secrets`): every password the deployment
//! needs, either chosen by the operator (`.env`) or generated on first start and kept,
//! and the files each service reads its own from (`AMQP_URL_FILE` and the like).
//! There are no default passwords: what is not chosen is random, and a placeholder
//! left from an example file is refused.

use super::{
    broker_password_variable, broker_users, database_account, database_password_variable,
    MIGRATION_ACCOUNT, PRODUCER,
};
use protocol::Operation;
use std::collections::BTreeMap;

pub const ADMIN_PASSWORD: &str = "RABBITMQ_ADMIN_PASSWORD";
pub const ROOT_PASSWORD: &str = "MYSQL_ROOT_PASSWORD";
/// The secret RabbitMQ nodes of one cluster share (docker-compose.cluster.yml).
pub const ERLANG_COOKIE: &str = "RABBITMQ_ERLANG_COOKIE";
/// Shortest password an operator may choose.
pub const MIN_LENGTH: usize = 12;

/// Every secret variable: the two administrators', the cluster cookie, then one per
/// broker user and database account.
pub fn variables() -> Vec<String> {
    let mut names = vec![
        ADMIN_PASSWORD.into(),
        ROOT_PASSWORD.into(),
        ERLANG_COOKIE.into(),
    ];
    names.extend(
        broker_users()
            .iter()
            .map(|u| broker_password_variable(u.name)),
    );
    names.extend(
        super::database_accounts()
            .iter()
            .map(|a| database_password_variable(a.name)),
    );
    names
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{0} is a placeholder: delete the line from .env to have it generated, \
         or choose a real one"
    )]
    Placeholder(String),
    #[error(
        "{0}: choose at least {MIN_LENGTH} letters and digits (passwords go into URLs), \
         or delete the line from .env to have it generated"
    )]
    Invalid(String),
}

/// Refuses what an example file suggests instead of a secret, and anything that
/// cannot go into a URL unencoded.
pub fn check_chosen(variable: &str, value: &str) -> Result<(), SecretError> {
    let lower = value.to_ascii_lowercase();
    let placeholders = [
        "change-me",
        "changeme",
        "change_me",
        "placeholder",
        "example",
        "<",
        ">",
    ];
    if placeholders.iter().any(|p| lower.contains(p)) {
        return Err(SecretError::Placeholder(variable.into()));
    }
    if value.len() < MIN_LENGTH || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(SecretError::Invalid(variable.into()));
    }
    Ok(())
}

/// 122 random bits as 32 letters and digits.
pub fn generate() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Where a secret's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Chosen,
    Kept,
    Generated,
}

/// One value per variable: the operator's choice (checked), else the one kept from an
/// earlier start, else a new random one.
pub fn resolve(
    chosen: &dyn Fn(&str) -> Option<String>,
    kept: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, (String, Origin)>, SecretError> {
    let mut out = BTreeMap::new();
    for variable in variables() {
        let value = match chosen(&variable).filter(|v| !v.is_empty()) {
            Some(value) => {
                check_chosen(&variable, &value)?;
                (value, Origin::Chosen)
            }
            None => match kept.get(&variable) {
                Some(value) => (value.clone(), Origin::Kept),
                None => (generate(), Origin::Generated),
            },
        };
        out.insert(variable, value);
    }
    Ok(out)
}

/// What to keep for the next start: a value kept before stays, whatever was chosen this
/// time, and new ones join it. So a password chosen in `.env` and then removed from it
/// goes back to the first one, which the broker's and the database's administrators
/// were created with.
pub fn to_keep(
    kept: &BTreeMap<String, String>,
    used: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = used.clone();
    out.extend(kept.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// `NAME=value` lines, the format the secrets are kept in.
pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

pub fn render_env(values: &BTreeMap<String, String>) -> String {
    values.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// Where the services find the broker and the database.
pub struct Addresses {
    /// One or more broker nodes, `host` or `host:port`.
    pub brokers: Vec<String>,
    /// `host` or `host:port`.
    pub database: String,
    pub database_name: String,
    /// `amqps://` to the brokers (default port 5671) instead of `amqp://` (5672).
    pub amqp_tls: bool,
}

fn with_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    }
}

/// The files of one service: name and contents. Each holds the value of the setting
/// of the same name in upper case (`amqp_url` for `AMQP_URL_FILE`).
pub fn service_files(
    service: &str,
    addresses: &Addresses,
    password: &dyn Fn(&str) -> String,
) -> Vec<(&'static str, String)> {
    let broker_password = password(&broker_password_variable(service));
    let (scheme, port) = if addresses.amqp_tls {
        ("amqps", 5671)
    } else {
        ("amqp", 5672)
    };
    let amqp_url = addresses
        .brokers
        .iter()
        .map(|h| {
            format!(
                "{scheme}://{service}:{broker_password}@{}/%2f",
                with_port(h, port)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut files = vec![("amqp_url", amqp_url)];
    let database_url = |account: &str| {
        let secret = password(&database_password_variable(account));
        let host = with_port(&addresses.database, 3306);
        format!(
            "mysql://{account}:{secret}@{host}/{}",
            addresses.database_name
        )
    };
    let op = Operation::ALL
        .into_iter()
        .find(|op| op.consumer_name() == service);
    if let Some(account) = op.and_then(database_account) {
        files.push(("database_url", database_url(account.name)));
        files.push(("migration_database_url", database_url(MIGRATION_ACCOUNT)));
    }
    files
}

/// The same settings as `NAME_SERVICE=value` lines for a process manager that starts
/// every service from one file (scripts/stack's `stack.env`): `AMQP_URL_PRODUCER`,
/// `DATABASE_URL_CONSUMER_INSERT`, ..., and `MIGRATION_DATABASE_URL` once.
pub fn service_env(addresses: &Addresses, password: &dyn Fn(&str) -> String) -> String {
    let mut lines = Vec::new();
    let mut migration = None;
    for service in services() {
        let suffix = service.to_ascii_uppercase().replace('-', "_");
        for (name, value) in service_files(service, addresses, password) {
            if name == "migration_database_url" {
                migration = Some(value);
            } else {
                lines.push(format!("{}_{suffix}={value}", name.to_ascii_uppercase()));
            }
        }
    }
    lines.extend(migration.map(|url| format!("MIGRATION_DATABASE_URL={url}")));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The services that get files of their own: the producer and the four consumers.
pub fn services() -> Vec<&'static str> {
    std::iter::once(PRODUCER)
        .chain(Operation::ALL.iter().map(|op| op.consumer_name()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_unusable_values_are_refused() {
        for value in [
            "change-me-admin",
            "CHANGEME12345678",
            "<your password>",
            "example123456",
        ] {
            assert_eq!(
                check_chosen("X", value),
                Err(SecretError::Placeholder("X".into())),
                "{value}"
            );
        }
        for value in [
            "short",
            "has space 123456",
            "pa$$word123456",
            "päss12345678",
        ] {
            assert_eq!(
                check_chosen("X", value),
                Err(SecretError::Invalid("X".into())),
                "{value}"
            );
        }
        assert_eq!(check_chosen("X", "Tr0ub4dor3xyz"), Ok(()));
        assert!(
            check_chosen("X", &generate()).is_ok(),
            "generated values pass the same check"
        );
    }

    #[test]
    fn chosen_beats_kept_beats_generated() {
        let kept = BTreeMap::from([
            (ADMIN_PASSWORD.to_owned(), "keptadmin12345".to_owned()),
            (ROOT_PASSWORD.to_owned(), "keptroot123456".to_owned()),
        ]);
        let chosen = |v: &str| (v == ROOT_PASSWORD).then(|| "chosenroot1234".to_owned());
        let values = resolve(&chosen, &kept).unwrap();
        assert_eq!(
            values[ADMIN_PASSWORD],
            ("keptadmin12345".into(), Origin::Kept)
        );
        assert_eq!(
            values[ROOT_PASSWORD],
            ("chosenroot1234".into(), Origin::Chosen)
        );
        let (generated, origin) = &values["RABBITMQ_PRODUCER_PASSWORD"];
        assert_eq!(*origin, Origin::Generated);
        assert_eq!(generated.len(), 32);
        assert_ne!(values["MYSQL_READ_PASSWORD"].0, *generated, "each its own");
        assert_eq!(values.len(), variables().len());
        // An empty value in .env means "not chosen".
        let empty = |_: &str| Some(String::new());
        assert_eq!(
            resolve(&empty, &kept).unwrap()[ADMIN_PASSWORD].1,
            Origin::Kept
        );
        let placeholder = |v: &str| (v == ADMIN_PASSWORD).then(|| "change-me-admin".to_owned());
        assert!(resolve(&placeholder, &kept).is_err());
    }

    #[test]
    fn one_file_for_every_service_names_each_setting_after_its_service() {
        let addresses = Addresses {
            brokers: vec!["127.0.0.1:5690".into()],
            database: "127.0.0.1:3320".into(),
            database_name: "inventory".into(),
            amqp_tls: false,
        };
        let password = |v: &str| format!("pw{}", v.len());
        let env = parse_env(&service_env(&addresses, &password));
        let p = password("RABBITMQ_PRODUCER_PASSWORD");
        assert_eq!(
            env["AMQP_URL_PRODUCER"],
            format!("amqp://producer:{p}@127.0.0.1:5690/%2f")
        );
        assert!(env["AMQP_URL_CONSUMER_HEALTH"].starts_with("amqp://consumer-health:"));
        assert!(env["DATABASE_URL_CONSUMER_DELETE"].starts_with("mysql://records_delete:"));
        assert!(env["MIGRATION_DATABASE_URL"].starts_with("mysql://records_migrate:"));
        assert!(!env.contains_key("DATABASE_URL_PRODUCER"));
        assert_eq!(env.len(), 5 + 3 + 1);
    }

    #[test]
    fn the_first_value_is_the_one_kept() {
        let kept = BTreeMap::from([(ADMIN_PASSWORD.to_owned(), "first1234567".to_owned())]);
        let used = BTreeMap::from([
            (ADMIN_PASSWORD.to_owned(), "chosenlater12".to_owned()),
            (ROOT_PASSWORD.to_owned(), "generatednow1".to_owned()),
        ]);
        let next = to_keep(&kept, &used);
        assert_eq!(next[ADMIN_PASSWORD], "first1234567");
        assert_eq!(next[ROOT_PASSWORD], "generatednow1");
    }

    #[test]
    fn kept_values_round_trip() {
        let values = BTreeMap::from([
            ("A".to_owned(), "x1".to_owned()),
            ("B".to_owned(), "y2".to_owned()),
        ]);
        assert_eq!(parse_env(&render_env(&values)), values);
    }

    #[test]
    fn each_service_gets_its_own_urls() {
        let addresses = Addresses {
            brokers: vec!["rabbitmq".into(), "rabbitmq-2:5673".into()],
            database: "mysql".into(),
            database_name: "inventory".into(),
            amqp_tls: false,
        };
        let password = |v: &str| format!("pw{}", v.len());
        let files: BTreeMap<_, _> = services()
            .into_iter()
            .map(|s| (s, service_files(s, &addresses, &password)))
            .collect();
        assert_eq!(files.len(), 5);
        let producer = &files[PRODUCER];
        assert_eq!(producer.len(), 1, "the producer has no database account");
        let p = password("RABBITMQ_PRODUCER_PASSWORD");
        assert_eq!(
            producer[0],
            (
                "amqp_url",
                format!(
                    "amqp://producer:{p}@rabbitmq:5672/%2f,amqp://producer:{p}@rabbitmq-2:5673/%2f"
                )
            )
        );
        assert_eq!(files["consumer-health"].len(), 1);
        let insert = &files["consumer-insert"];
        assert!(insert[0].1.starts_with("amqp://consumer-insert:"));
        let db = password("MYSQL_INSERT_PASSWORD");
        assert_eq!(
            insert[1],
            (
                "database_url",
                format!("mysql://records_insert:{db}@mysql:3306/inventory")
            )
        );
        assert!(insert[2].1.starts_with("mysql://records_migrate:"));
        assert!(files["consumer-read"][1]
            .1
            .starts_with("mysql://records_read:"));
    }

    #[test]
    fn tls_brokers_get_amqps_on_5671_unless_a_port_is_named() {
        let addresses = Addresses {
            brokers: vec!["rabbitmq".into(), "127.0.0.1:5690".into()],
            database: "mysql".into(),
            database_name: "inventory".into(),
            amqp_tls: true,
        };
        let password = |_: &str| "pw".to_owned();
        let health = service_files("consumer-health", &addresses, &password);
        assert_eq!(
            health,
            vec![(
                "amqp_url",
                "amqps://consumer-health:pw@rabbitmq:5671/%2f,\
                 amqps://consumer-health:pw@127.0.0.1:5690/%2f"
                    .to_owned()
            )]
        );
    }
}
