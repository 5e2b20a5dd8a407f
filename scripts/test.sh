#!/usr/bin/env bash
# Runs the static checks of scripts/lint.sh (LINT=0 skips them), then every
# test of the workspace (go vet, then go test -race on every module of
# go.work) against real servers: redis-server, Apache Kafka (KRaft; one node, and
# a three-node cluster for the broker loss test), Consul,
# PostgreSQL and headless Chromium, installed when missing and started on free loopback
# ports by scripts/test-services.sh, and stopped again at the end. Last, with
# the servers stopped, the benchmark regression gate: scripts/bench-compare.sh
# compares the hub and decoder micro-benchmarks with bench/baseline.txt and
# fails on a significant slow-down of more than 20 % (about 2 minutes;
# BENCH_GATE=0 skips it, e.g. on a machine busy with other builds; its own
# test, scripts/bench-compare-test.sh, runs either way).
#
# Usage: scripts/test.sh [extra go test flags]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

if [ "${LINT:-1}" != 0 ]; then
	echo "[test] static checks (scripts/lint.sh)"
	scripts/lint.sh
fi

# A state dir of this run's own, so that it never touches servers a developer
# started by hand with scripts/test-services.sh.
export TEST_SERVICES_DIR="${TEST_SERVICES_DIR:-$(mktemp -d /tmp/teamtrack-test-run.XXXXXX)}"
cleanup() { scripts/test-services.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

scripts/test-services.sh up redis kafka consul chromium postgres kafka3 redis_sentinel redis_cluster
# shellcheck disable=SC1091
. "$TEST_SERVICES_DIR/env"

if [ -x team-tracking-view/build.sh ]; then
	echo "[test] building the view"
	team-tracking-view/build.sh
fi

mapfile -t modules < <(go work edit -json | python3 -c 'import json,sys; [print(u["DiskPath"]) for u in json.load(sys.stdin)["Use"]]')
pkgs=()
for m in "${modules[@]}"; do pkgs+=("$m/..."); done

echo "[test] go vet"
go vet "${pkgs[@]}"
echo "[test] go test -race"
# -p 1: some tests stop and start the shared Consul or Kafka; packages run
# one at a time so that they never overlap.
go test -race -count=1 -p 1 -timeout 30m "$@" "${pkgs[@]}"

# A short fuzzing pass over the decoders that face untrusted input (the seed
# corpora and past findings also run above, as plain tests).
echo "[test] fuzzing the record decoders"
for target in FuzzDecodePosition FuzzRecordScanner; do
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZ_TIME:-10s}" ./tracking-core/wire/
done

echo "[test] the benchmark gate's own test"
scripts/bench-compare-test.sh
if [ "${BENCH_GATE:-1}" != 0 ]; then
	# After the servers are stopped: their idle CPU would count against the
	# benchmarks.
	cleanup
	echo "[test] benchmark gate (scripts/bench-compare.sh; BENCH_GATE=0 skips it)"
	scripts/bench-compare.sh
else
	echo "[test] benchmark gate skipped (BENCH_GATE=0)"
fi
