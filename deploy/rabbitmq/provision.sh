#!/bin/sh
# One-shot, once the broker is healthy (docker-compose's rabbitmq-provision): imports
# the definitions `topology init-secrets` rendered from the topology module (a user per
# service with its permissions, the dead-letter policy, the exchanges, queues and
# bindings) through the management API. The import creates what is missing and sets
# passwords and permissions again, so running it twice is harmless; it waits (bounded)
# for the API itself, so it is also safe to start early.
set -eu
secrets=/run/secrets/records
api=${RABBITMQ_API:-http://rabbitmq:15672/api}
# curl reads the credentials from a file rather than its command line.
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf 'user = "%s:%s"\n' "${RABBITMQ_ADMIN_USER:-admin}" "$(cat "$secrets/rabbitmq_admin_password")" > "$config"

echo "waiting for the management API at $api (up to 120 s)"
tries=0
while :; do
  status=$(curl -sS -K "$config" -o /dev/null -w '%{http_code}' "$api/overview" 2>/dev/null || true)
  case $status in
    200) break ;;
    401)
      echo "the broker refused ${RABBITMQ_ADMIN_USER:-admin}'s password: RabbitMQ keeps the" \
        "administrator it was first started with (see the README, Docker: passwords)" >&2
      exit 1 ;;
  esac
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then echo "the management API did not answer (last status: $status)" >&2; exit 1; fi
  sleep 2
done
curl -fsS -K "$config" -H 'content-type: application/json' -X POST \
  --data-binary @"$secrets/rabbitmq-definitions.json" "$api/definitions"
echo "broker users, permissions, dead-letter policy and topology provisioned"
