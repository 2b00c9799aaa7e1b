#!/bin/sh
# One-shot, once MySQL is healthy (docker-compose's mysql-provision): runs the SQL
# `topology init-secrets` rendered from the topology module (the schema, an account per
# consumer with only its grants, the migration account). The SQL creates what is
# missing and sets each password again, so running it twice is harmless; it waits
# (bounded) for root's login itself.
set -eu
secrets=/run/secrets/records
host=${MYSQL_HOST:-mysql}
# The client reads root's password from a file rather than its command line.
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf '[client]\nuser=root\nhost=%s\npassword="%s"\n' "$host" "$(cat "$secrets/mysql_root_password")" > "$config"
# MYSQL_SSL_CA (docker-compose.tls.yml): TLS, verifying the server against that CA.
if [ -n "${MYSQL_SSL_CA:-}" ]; then printf 'ssl-ca=%s\n' "$MYSQL_SSL_CA" >> "$config"; fi

echo "waiting for MySQL at $host to accept root's login (up to 120 s)"
tries=0
until output=$(mysql --defaults-extra-file="$config" -e 'SELECT 1' 2>&1); do
  case $output in
    *"Access denied"*)
      echo "MySQL refused root's password: the database keeps the root password it was" \
        "created with (see the README, Docker: passwords)" >&2
      exit 1 ;;
  esac
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then echo "MySQL did not answer: $output" >&2; exit 1; fi
  sleep 2
done
mysql --defaults-extra-file="$config" < "$secrets/mysql-accounts.sql"
echo "database accounts provisioned"
