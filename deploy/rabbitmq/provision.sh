#!/bin/sh
# One-shot: creates one broker user per service through the management API, with the
# same permissions as the local stack (scripts/stack provision_rabbitmq): every service
# may declare the topology; the producer may publish only to student_records; a consumer
# may read only its own queue. Idempotent (PUT).
set -eu
api="http://rabbitmq:15672/api"
auth="$RABBITMQ_ADMIN_USER:$RABBITMQ_ADMIN_PASSWORD"
queues='health_check|insert_record|delete_record|read_database|dead_letters'
exchanges='student_records|student_records\\.dead_letter'
configure="^($exchanges|$queues)\$"

put() { curl -fsS -u "$auth" -H 'content-type: application/json' -X PUT "$api/$1" -d "$2" >/dev/null; }
user() { # user NAME PASSWORD WRITE READ
  put "users/$1" "{\"password\":\"$2\",\"tags\":\"\"}"
  put "permissions/%2F/$1" "{\"configure\":\"$configure\",\"write\":\"$3\",\"read\":\"$4\"}"
}
# Single quotes keep `\\.` for JSON, where it decodes to the regex `\.`.
consumer_write='^(amq\\.default|student_records\\.dead_letter|'"$queues"')$'

user producer "$RABBITMQ_PRODUCER_PASSWORD" "^(student_records|$queues)\$" "^($exchanges)\$"
user consumer-health "$RABBITMQ_CONSUMER_HEALTH_PASSWORD" "$consumer_write" "^($exchanges|health_check)\$"
user consumer-insert "$RABBITMQ_CONSUMER_INSERT_PASSWORD" "$consumer_write" "^($exchanges|insert_record)\$"
user consumer-delete "$RABBITMQ_CONSUMER_DELETE_PASSWORD" "$consumer_write" "^($exchanges|delete_record)\$"
user consumer-read "$RABBITMQ_CONSUMER_READ_PASSWORD" "$consumer_write" "^($exchanges|read_database)\$"
# Broker-side dead-lettering by policy (inventory/src/topology.rs says why).
put "policies/%2F/dead-letter" '{"pattern":"^(insert_record|delete_record)$","apply-to":"queues","definition":{"dead-letter-exchange":"student_records.dead_letter"}}'
echo "broker users and dead-letter policy provisioned"
