# The README's commands. Everything runs on a fresh Debian machine as root: the scripts
# install RabbitMQ and MariaDB from Debian packages when they are missing.
.PHONY: run up down status test check chaos cluster-test compose-test bench fuzz lint

## make run: start everything in the foreground; Ctrl-C stops it all
run:
	scripts/stack run

## make up: start whatever is not running, in the background; returns once healthy
up:
	scripts/stack up

## make down: stop the five binaries, RabbitMQ and MariaDB
down:
	scripts/stack down

status:
	scripts/stack status

## make test: every test suite against the real broker and database
test:
	scripts/test

## make check URL=http://host:port: the conformance checker against a deployment
## (default: the one make up started); ARGS='--html report.html' and the like pass on
check:
	scripts/check $(URL) $(ARGS)

## make chaos: the fault-injection suite alone (make test runs it too)
chaos:
	scripts/chaos

## make cluster-test: three RabbitMQ nodes, quorum queues, replicas, node losses
cluster-test:
	scripts/cluster-test

## make compose-test: docker-compose.yml on a real Docker engine, as the README runs it
compose-test:
	scripts/compose-test

## make bench: throughput, latency and memory beside the broker's ceiling -> bench/RESULTS.md
bench:
	scripts/bench

## make fuzz: fuzz the protocol crate's parsers, each target FUZZ_SECONDS (default 60)
fuzz:
	scripts/fuzz

## make lint: formatting, clippy, cargo deny over the dependency tree, shellcheck
lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings
	scripts/fuzz lint
	scripts/deny
	scripts/shellcheck
