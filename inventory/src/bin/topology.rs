//! topology: prints what provisioning applies, rendered from the topology module
//! (`inventory::provision`), so that scripts/stack and docker-compose keep no copy of
//! the names.
//!
//! ```text
//! topology rabbitmq-definitions           RabbitMQ definitions (JSON)
//! topology mysql-accounts [DATABASE]      schema, accounts and grants (SQL)
//! topology init-secrets DIR               docker-compose's first step
//! topology service-env BROKERS DATABASE   every service's URLs, NAME_SERVICE=url
//!                                         lines (scripts/stack's stack.env)
//! ```
//!
//! Passwords come from `RABBITMQ_<USER>_PASSWORD` and `MYSQL_<ACCOUNT>_PASSWORD`;
//! `QUEUE_TYPE` picks the queues' type; `AMQP_TLS=1` makes the services' broker URLs
//! `amqps://` (port 5671 unless a broker address names one).
//!
//! `init-secrets DIR` resolves every secret (chosen in the environment, else kept in
//! `DIR/admin/passwords.env` from the first start, else generated) and writes:
//! `DIR/admin/` (RabbitMQ's and MySQL's administrator passwords, the cluster's Erlang
//! cookie, the definitions and the SQL, for the broker, the database and the
//! provisioning steps) and `DIR/<service>/` for the producer and each consumer (its
//! `amqp_url`, and `database_url` and `migration_database_url` for those with a
//! database account), owned by `SECRETS_OWNER` (uid:gid, default 10001:10001, the
//! image's user). It reads RABBITMQ_HOSTS (default `rabbitmq`; several, comma-separated,
//! for a cluster), MYSQL_HOST (`mysql`) and MYSQL_DATABASE (`inventory`).

use inventory::provision::secrets::{self, Addresses, Origin};
use inventory::provision::{mysql_accounts_sql, rabbitmq_definitions};
use inventory::topology::QueueType;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn queue_type() -> Result<QueueType, String> {
    env("QUEUE_TYPE").map_or(Ok(QueueType::Classic), |t| t.parse())
}

/// `AMQP_TLS=1`: the services' broker URLs are `amqps://` (port 5671 by default).
fn amqp_tls() -> Result<bool, String> {
    match env("AMQP_TLS").as_deref() {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(format!("AMQP_TLS={other:?}: use 0 or 1")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["rabbitmq-definitions"] => definitions(),
        ["mysql-accounts"] => accounts("inventory"),
        ["mysql-accounts", database] => accounts(database),
        ["init-secrets", dir] => init_secrets(Path::new(dir)),
        ["service-env", brokers, database] => service_env(brokers, database),
        _ => {
            eprintln!("usage: topology rabbitmq-definitions | mysql-accounts [DATABASE] | init-secrets DIR | service-env BROKERS DATABASE");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("topology: {e}");
            ExitCode::FAILURE
        }
    }
}

fn definitions() -> Result<(), String> {
    let defs = rabbitmq_definitions(queue_type()?, &env).map_err(|e| e.to_string())?;
    println!("{defs:#}");
    Ok(())
}

fn accounts(database: &str) -> Result<(), String> {
    print!(
        "{}",
        mysql_accounts_sql(database, &env).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn service_env(brokers: &str, database: &str) -> Result<(), String> {
    let addresses = Addresses {
        brokers: brokers.split(',').map(|h| h.trim().to_owned()).collect(),
        database: database.to_owned(),
        database_name: env("MYSQL_DATABASE").unwrap_or_else(|| "inventory".into()),
        amqp_tls: amqp_tls()?,
    };
    let missing = std::cell::RefCell::new(None);
    let password = |name: &str| {
        env(name).unwrap_or_else(|| {
            missing.borrow_mut().get_or_insert_with(|| name.to_owned());
            String::new()
        })
    };
    let text = secrets::service_env(&addresses, &password);
    if let Some(name) = missing.into_inner() {
        return Err(format!("{name} is not set"));
    }
    print!("{text}");
    Ok(())
}

/// Writes `contents` to `path` whole or not at all, readable by its owner only, ending
/// with a newline (so that `cat` shows it on a line of its own; whoever reads a value,
/// `X_FILE` or an image's entrypoint, drops it).
fn write_secret(path: &Path, contents: &str, owner: Option<(u32, u32)>) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let tmp = path.with_extension("tmp");
    let newline = if contents.ends_with('\n') { "" } else { "\n" };
    fs::write(&tmp, format!("{contents}{newline}")).map_err(fail)?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o400)).map_err(fail)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).map_err(fail)?;
    }
    fs::rename(&tmp, path).map_err(fail)
}

fn owner() -> Result<(u32, u32), String> {
    let text = env("SECRETS_OWNER").unwrap_or_else(|| "10001:10001".into());
    let parse = |s: &str| {
        s.parse::<u32>()
            .map_err(|_| format!("SECRETS_OWNER={text:?}: use uid:gid"))
    };
    let (uid, gid) = text.split_once(':').unwrap_or((&text, &text));
    Ok((parse(uid)?, parse(gid)?))
}

fn init_secrets(dir: &Path) -> Result<(), String> {
    let admin_dir = dir.join("admin");
    fs::create_dir_all(&admin_dir).map_err(|e| format!("{}: {e}", admin_dir.display()))?;
    let kept_file = admin_dir.join("passwords.env");
    let kept = secrets::parse_env(&fs::read_to_string(&kept_file).unwrap_or_default());
    let values = secrets::resolve(&env, &kept).map_err(|e| e.to_string())?;
    for (variable, (value, origin)) in &values {
        let said = match origin {
            Origin::Generated => "generated",
            Origin::Kept => "kept from the first start",
            Origin::Chosen => "chosen in the environment (.env)",
        };
        eprintln!("{variable}: {said}");
        let changed = kept.get(variable).is_some_and(|old| old != value);
        if changed && [secrets::ADMIN_PASSWORD, secrets::ROOT_PASSWORD].contains(&variable.as_str())
        {
            eprintln!(
                "warning: {variable} differs from the first start's: the broker and the \
                 database keep the password they were created with until it is changed there"
            );
        }
    }
    let plain: BTreeMap<String, String> = values.into_iter().map(|(k, (v, _))| (k, v)).collect();
    let lookup = |name: &str| plain.get(name).cloned();
    let password = |name: &str| plain[name].clone();

    let next = secrets::to_keep(&kept, &plain);
    write_secret(&kept_file, &secrets::render_env(&next), None)?;
    write_secret(
        &admin_dir.join("rabbitmq_admin_password"),
        &password(secrets::ADMIN_PASSWORD),
        None,
    )?;
    write_secret(
        &admin_dir.join("mysql_root_password"),
        &password(secrets::ROOT_PASSWORD),
        None,
    )?;
    write_secret(
        &admin_dir.join("rabbitmq_erlang_cookie"),
        &password(secrets::ERLANG_COOKIE),
        None,
    )?;
    let defs = rabbitmq_definitions(queue_type()?, &lookup).map_err(|e| e.to_string())?;
    write_secret(
        &admin_dir.join("rabbitmq-definitions.json"),
        &format!("{defs:#}\n"),
        None,
    )?;
    let database = env("MYSQL_DATABASE").unwrap_or_else(|| "inventory".into());
    let sql = mysql_accounts_sql(&database, &lookup).map_err(|e| e.to_string())?;
    write_secret(&admin_dir.join("mysql-accounts.sql"), &sql, None)?;

    let addresses = Addresses {
        brokers: env("RABBITMQ_HOSTS")
            .unwrap_or_else(|| "rabbitmq".into())
            .split(',')
            .map(|h| h.trim().to_owned())
            .collect(),
        database: env("MYSQL_HOST").unwrap_or_else(|| "mysql".into()),
        database_name: database,
        amqp_tls: amqp_tls()?,
    };
    let owner = owner()?;
    for service in secrets::services() {
        let service_dir = dir.join(service);
        fs::create_dir_all(&service_dir).map_err(|e| format!("{}: {e}", service_dir.display()))?;
        for (name, contents) in secrets::service_files(service, &addresses, &password) {
            write_secret(&service_dir.join(name), &contents, Some(owner))?;
        }
    }
    eprintln!("secrets ready in {}", dir.display());
    Ok(())
}
