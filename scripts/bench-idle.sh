#!/usr/bin/env bash
# Memory per idle connection: starts a redis-server of its own and one
# tracking-redis replica (AUTH_MODE=jwt with a secret of the run, its hard
# open-file limit raised), opens N idle connections of one kind with
# `team-simulator idle` (several processes, each under the box's 20,000
# open files per process, each from its own 127.0.0.x source addresses),
# and reports the replica's memory before and with them: RSS (from /proc)
# and the Go runtime's heap and stacks in use (from /metrics), per
# connection. Everything it started is stopped on exit.
#
# Usage: scripts/bench-idle.sh [-kind worker-ws|manager-sse|manager-ws] [-conns N]
#                              [-per-process N] [-rate N] [-first-position] [-replica-env K=V]...
#                              [-history-dsn DSN] [-no-build]
#
#   -kind          connection kind (default worker-ws)
#   -conns         connections in all (default 10000)
#   -per-process   connections per client process (default 18000)
#   -rate          new connections per second, per client process (default 3000)
#   -settle        wait this long with all open before measuring (default 10s)
#   -first-position  worker-ws: each worker sends one position once connected,
#                  then nothing (a worker between positions rather than one
#                  that never sent)
#   -replica-env   K=V set in the replica's environment only (repeatable), e.g.
#                  GOMEMLIMIT=200MiB or GOGC=50
#   -history-dsn   HISTORY_DSN of the replica (turns on messages to workers:
#                  an inbox per worker connection). Default none.
#   -no-build      use bin/ as it is
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

say() { printf '[bench-idle] %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 2
}
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}

kind=worker-ws conns=10000 per=18000 settle=10 dsn="" build=1 rate=3000 first=()
renv=()
while [ "$#" -gt 0 ]; do
	case "$1" in
	-kind) kind=${2:?-kind needs a value} && shift 2 ;;
	-conns) conns=${2:?-conns needs a value} && shift 2 ;;
	-per-process) per=${2:?-per-process needs a value} && shift 2 ;;
	-settle) settle=${2:?-settle needs seconds} && shift 2 ;;
	-rate) rate=${2:?-rate needs a value} && shift 2 ;;
	-replica-env)
		[[ "${2:-}" =~ ^[A-Z_][A-Z0-9_]*=.*$ ]] || die "-replica-env takes K=V, got '${2:-}'"
		renv+=("$2") && shift 2
		;;
	-history-dsn) dsn=${2:?-history-dsn needs a value} && shift 2 ;;
	-no-build) build=0 && shift ;;
	-first-position) first=(-first-position) && shift ;;
	-h | --help) usage 0 ;;
	*) die "unknown option '$1' (-h for help)" ;;
	esac
done
[[ "$conns" =~ ^[0-9]+$ && "$per" =~ ^[0-9]+$ && "$per" -gt 0 ]] || die "-conns and -per-process take numbers"
[[ "$settle" =~ ^[0-9]+$ ]] || die "-settle takes whole seconds"
[[ "$rate" =~ ^[0-9]+$ && "$rate" -gt 0 ]] || die "-rate takes a number above 0"

out=".tmp/bench/idle-$kind-$conns-$(date +%Y%m%dT%H%M%S)"
mkdir -p "$out"
if [ "$build" = 1 ]; then
	say "building bin/tracking-redis and bin/team-simulator"
	mkdir -p bin
	go build -o bin/ ./tracking-redis/cmd/tracking-redis ./team-simulator/cmd/team-simulator
fi

started=()
stop_all() {
	local rc=$? i pid
	trap - EXIT INT TERM
	for ((i = ${#started[@]} - 1; i >= 0; i--)); do
		kill -TERM "${started[i]}" 2>/dev/null || true
	done
	for pid in "${started[@]}"; do
		for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		port_open "$p" || {
			echo "$p"
			return 0
		}
	done
	die "no free port"
}
redis_port=$(free_port)
setsid redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >"$out/redis.log" 2>&1 &
started+=("$!")
for _ in $(seq 100); do port_open "$redis_port" && break; sleep 0.1; done

http_port=$(free_port)
debug_port=$(free_port)
secret=$(openssl rand -base64 48)
export AUTH_MODE=jwt AUTH_JWT_SECRET="$secret"
# The replica's hard limit raised past the box's default (root may); it
# raises its soft limit to it and logs how many connections it can take.
nofile=$((conns + 4096))
[ "$nofile" -ge 20000 ] || nofile=20000
if ! prlimit --nofile="$nofile:$nofile" true 2>/dev/null; then
	hard=$(ulimit -Hn)
	# The hard limit as it is, if the connections fit under it.
	[ "$((conns + 300))" -gt "$hard" ] || nofile=$hard
fi
if ! prlimit --nofile="$nofile:$nofile" true 2>/dev/null; then
	die "cannot raise the replica's open-file limit to $nofile: the hard limit here is $hard and raising it needs CAP_SYS_RESOURCE (root in a container usually lacks it); one replica can hold about $((hard - 300)) connections on this box (-conns $((hard - 1000)) fits)"
fi
HTTP_ADDR=127.0.0.1:$http_port DEBUG_ADDR=127.0.0.1:$debug_port REDIS_ADDR=127.0.0.1:$redis_port \
	HISTORY_DSN=$dsn LOG_LEVEL=info setsid env ${renv[@]+"${renv[@]}"} prlimit --nofile="$nofile:$nofile" bin/tracking-redis >"$out/replica.log" 2>&1 &
replica=$!
started+=("$replica")
for _ in $(seq 300); do
	curl -fsS -o /dev/null "http://127.0.0.1:$http_port/readyz" 2>/dev/null && break
	kill -0 "$replica" 2>/dev/null || die "the replica exited: $(tail -n 5 "$out/replica.log")"
	sleep 0.1
done
grep -o '"open-file limit".*' "$out/replica.log" >&2 || grep 'open-file limit' "$out/replica.log" >&2 || true

# sample LABEL: RSS (kB) and the Go runtime's figures, as "rss heap stack goroutines".
# Three collections first: each halves the stacks of goroutines that use
# under a quarter of theirs (what the runtime's own collections, at least
# one every two minutes, do to a replica that holds its connections).
sample() {
	local rss m heap stack gr
	for _ in 1 2 3; do
		curl -fsS -o /dev/null "http://127.0.0.1:$debug_port/debug/pprof/heap?gc=1" || true
	done
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$replica/status")
	m=$(curl -fsS "http://127.0.0.1:$http_port/metrics")
	heap=$(awk '$1 == "go_memstats_heap_inuse_bytes" {printf "%d", $2}' <<<"$m")
	stack=$(awk '$1 == "go_memstats_stack_inuse_bytes" {printf "%d", $2}' <<<"$m")
	gr=$(awk '$1 == "go_goroutines" {printf "%d", $2}' <<<"$m")
	echo "$((rss * 1024)) $heap $stack $gr"
}
sleep 2
read -r rss0 heap0 stack0 gr0 < <(sample)
say "before: RSS $((rss0 >> 20)) MiB, heap $((heap0 >> 20)) MiB, stacks $((stack0 >> 20)) MiB, $gr0 goroutines"

procs=$(((conns + per - 1) / per))
clients=()
for ((k = 0; k < procs; k++)); do
	n=$per
	[ $((k * per + n)) -le "$conns" ] || n=$((conns - k * per))
	# 16 source addresses a process: 16 x 28,000 ephemeral ports.
	lo=$((16 * k + 2))
	hi=$((lo + 15))
	[ "$hi" -le 254 ] || die "too many client processes for 127.0.0.2-254"
	rm -f "$out/ready-$k.json"
	setsid bin/team-simulator idle -kind "$kind" -conns "$n" -url "http://127.0.0.1:$http_port/tracking/" \
		-sources "127.0.0.$lo-127.0.0.$hi" -id-prefix "p$k" -teams 100 -rate "$rate" "${first[@]}" \
		-ready-file "$out/ready-$k.json" -report "$out/client-$k.json" >"$out/client-$k.log" 2>&1 &
	clients+=("$!")
	started+=("$!")
done
say "$procs client process(es) opening $conns $kind connections"
for ((k = 0; k < procs; k++)); do
	until [ -s "$out/ready-$k.json" ]; do
		kill -0 "${clients[k]}" 2>/dev/null || die "client $k exited: $(tail -n 5 "$out/client-$k.log")"
		sleep 0.5
	done
done
open=0 failed=0
for ((k = 0; k < procs; k++)); do
	open=$((open + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["open"])' "$out/ready-$k.json")))
	failed=$((failed + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["failed"])' "$out/ready-$k.json")))
done
say "open: $open, failed: $failed; settling ${settle}s"
sleep "$settle"
read -r rss1 heap1 stack1 gr1 < <(sample)
curl -fsS -o "$out/heap.pprof" "http://127.0.0.1:$debug_port/debug/pprof/heap" || true
curl -fsS -o "$out/goroutine.txt" "http://127.0.0.1:$debug_port/debug/pprof/goroutine?debug=1" || true
curl -fsS -o "$out/metrics.txt" "http://127.0.0.1:$http_port/metrics" || true
[ "$open" -gt 0 ] || die "no connection open"
per_conn() { echo "scale=1; ($1 - $2) / $open / 1024" | bc; }
cat <<REPORT | tee "$out/summary.txt"
kind $kind${first:+ (one position each first)}, $open open ($failed failed), $procs client process(es), HISTORY_DSN ${dsn:+set}${dsn:-unset}, replica env: ${renv[*]:-none}
replica RSS        $((rss0 >> 20)) -> $((rss1 >> 20)) MiB: $(per_conn "$rss1" "$rss0") KiB per connection
Go heap in use     $((heap0 >> 20)) -> $((heap1 >> 20)) MiB: $(per_conn "$heap1" "$heap0") KiB per connection
Go stacks in use   $((stack0 >> 20)) -> $((stack1 >> 20)) MiB: $(per_conn "$stack1" "$stack0") KiB per connection
goroutines         $gr0 -> $gr1: $(echo "scale=2; ($gr1 - $gr0) / $open" | bc) per connection
profiles in $out (heap.pprof, goroutine.txt, metrics.txt)
REPORT
