//! Integration tests: the real producer on a random port and the real consumers
//! against the real RabbitMQ and MariaDB (started by `make test`). Each test gets its
//! own vhost and database, so tests run in parallel without seeing each other.

mod helpers;

mod concurrency;
mod dead_letters;
mod delete;
mod failures;
mod health;
mod hostile;
mod insert;
mod metadata;
mod operations;
mod privileges;
mod promises;
mod read;
mod shapes;
mod slow_clients;
mod snapshot;
mod table;
mod tls;
mod v1;
