#!/bin/bash
# Runs once, when the MySQL container initialises its data: one account per consumer
# holding only what its operation needs, and a migration account that owns the schema.
# EXECUTE lets a writer call students_changed(), which bumps the table version with the
# migration account's rights (UPDATE is not granted).
set -euo pipefail
mysql -uroot -p"$MYSQL_ROOT_PASSWORD" <<SQL
CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER 'records_migrate'@'%' IDENTIFIED BY '$MYSQL_MIGRATE_PASSWORD';
GRANT ALL PRIVILEGES ON \`$MYSQL_DATABASE\`.* TO 'records_migrate'@'%';
CREATE USER 'records_insert'@'%' IDENTIFIED BY '$MYSQL_INSERT_PASSWORD';
GRANT INSERT, SELECT, EXECUTE ON \`$MYSQL_DATABASE\`.* TO 'records_insert'@'%';
CREATE USER 'records_delete'@'%' IDENTIFIED BY '$MYSQL_DELETE_PASSWORD';
GRANT DELETE, SELECT, EXECUTE ON \`$MYSQL_DATABASE\`.* TO 'records_delete'@'%';
CREATE USER 'records_read'@'%' IDENTIFIED BY '$MYSQL_READ_PASSWORD';
GRANT SELECT ON \`$MYSQL_DATABASE\`.* TO 'records_read'@'%';
SQL
