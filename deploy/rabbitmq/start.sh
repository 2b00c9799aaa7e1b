#!/bin/sh
# docker-compose starts RabbitMQ through this: the administrator's password and the
# cluster's Erlang cookie come from the secrets volume (chosen in .env, or generated on
# the first start by `topology init-secrets`) rather than from the compose file, then
# the image's own entrypoint starts the server as PID 1's successor (exec), so that a
# crash of the server is the container's exit and its restart policy applies.
set -eu
secrets=/run/secrets/records
RABBITMQ_DEFAULT_PASS=$(cat "$secrets/rabbitmq_admin_password")
export RABBITMQ_DEFAULT_PASS
cookie=/var/lib/rabbitmq/.erlang.cookie
if ! cmp -s "$secrets/rabbitmq_erlang_cookie" "$cookie"; then
  install -m 400 -o rabbitmq -g rabbitmq "$secrets/rabbitmq_erlang_cookie" "$cookie"
fi
exec docker-entrypoint.sh rabbitmq-server
