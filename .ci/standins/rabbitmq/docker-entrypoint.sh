#!/usr/bin/env bash
# Stand-in for the official image's entrypoint: the server runs as the rabbitmq user,
# and RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS name the account created on the
# first start of an empty data folder (RabbitMQ 3.13 reads them itself; Debian's 3.10
# is given them through a configuration file).
set -euo pipefail
if [ "${1:-}" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  mkdir -p /var/lib/rabbitmq
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
    {
      echo "default_user = $RABBITMQ_DEFAULT_USER"
      echo "default_pass = ${RABBITMQ_DEFAULT_PASS:?RABBITMQ_DEFAULT_PASS goes with RABBITMQ_DEFAULT_USER}"
      echo "default_user_tags.administrator = true"
      echo "default_permissions.configure = .*"
      echo "default_permissions.read = .*"
      echo "default_permissions.write = .*"
    } > /etc/rabbitmq/conf.d/05-default-user.conf
    chmod 600 /etc/rabbitmq/conf.d/05-default-user.conf
    chown rabbitmq /etc/rabbitmq/conf.d/05-default-user.conf
  fi
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
exec "$@"
