#!/usr/bin/env bash
# Stand-in for the official mysql image's entrypoint, for the parts docker-compose.yml
# uses: MYSQL_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD_FILE) and MYSQL_DATABASE on the first
# start of an empty data folder, /docker-entrypoint-initdb.d/*.sh and *.sql run once,
# during that first start by a temporary server that does not listen on TCP (so a
# healthcheck over TCP passes only once the real server is up), and root@'%' with the
# password. Options after the command go to the server, as with the official image.
set -euo pipefail
if [ "${1:0:1}" = - ]; then set -- mysqld "$@"; fi
if [ "$1" != mysqld ]; then exec "$@"; fi
shift # the server's options remain

if [ -n "${MYSQL_ROOT_PASSWORD_FILE:-}" ]; then
  [ -z "${MYSQL_ROOT_PASSWORD:-}" ] || { echo "both MYSQL_ROOT_PASSWORD and MYSQL_ROOT_PASSWORD_FILE are set" >&2; exit 1; }
  MYSQL_ROOT_PASSWORD=$(cat "$MYSQL_ROOT_PASSWORD_FILE")
fi
socket=/run/mysqld/mysqld.sock
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld /var/lib/mysql

if [ ! -d /var/lib/mysql/mysql ]; then
  : "${MYSQL_ROOT_PASSWORD:?the database is uninitialised: set MYSQL_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD_FILE}"
  echo "[entrypoint] initialising the data folder"
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
    --auth-root-authentication-method=normal >/dev/null
  mariadbd --user=mysql --skip-networking --socket="$socket" "$@" &
  temp=$!
  for _ in $(seq 1 300); do mariadb --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.2; done
  mysql=(mariadb --socket="$socket" -uroot)
  "${mysql[@]}" <<SQL
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
CREATE USER 'root'@'%' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  mysql+=(-p"$MYSQL_ROOT_PASSWORD")
  if [ -n "${MYSQL_DATABASE:-}" ]; then
    "${mysql[@]}" -e "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`"
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh) echo "[entrypoint] running $f"
        # shellcheck disable=SC1090 # the scripts the user mounts
        . "$f" ;;
      *.sql) echo "[entrypoint] running $f"; "${mysql[@]}" ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} < "$f" ;;
      *) ;;
    esac
  done
  kill -TERM "$temp"
  wait "$temp" || true
  echo "[entrypoint] initialised"
fi
exec mariadbd --user=mysql "$@"
