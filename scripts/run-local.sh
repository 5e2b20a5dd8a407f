#!/usr/bin/env bash
# Builds everything (the view included) and runs the whole platform on this
# machine: the gateway on :8080, two replicas of each strategy, the simulator.
# Embedded brokers stand in for Redis and Kafka unless REDIS_ADDR or
# KAFKA_BROKERS are set; a static instance list stands in for Consul unless
# CONSUL_HTTP_ADDR is set. Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

say() { printf '[build] %s\n' "$*"; }
if [ -x team-tracking-view/build.sh ]; then
	say "building the view (npm)"
	team-tracking-view/build.sh
fi
say "building the binaries into bin/"
mkdir -p bin
go build -o bin/ \
	./tracking-redis/cmd/tracking-redis \
	./tracking-kafka/cmd/tracking-kafka \
	./api-gateway/cmd/api-gateway \
	./team-simulator/cmd/team-simulator \
	./platform/cmd/platform
exec bin/platform
