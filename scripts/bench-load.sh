#!/usr/bin/env bash
# Runs one of the README's reference load shapes on this machine, Redis
# strategy: builds bin/tracking-redis and bin/team-simulator, starts a
# redis-server of its own on a free port, two tracking-redis replicas on
# 127.0.0.1:18081 (A: workers) and :18083 (B: managers), AUTH_MODE=jwt with a
# secret made for the run and shared with the simulator, runs
# `team-simulator load` with -pids A,B,redis and writes its JSON report;
# everything it started is stopped on exit (Ctrl-C too).
#
# Usage:
#   scripts/bench-load.sh a|b|c [options] [-- more team-simulator load flags]
#
#   a   2,000 workers, 200 teams, 1 manager per team, 10/s (20,000 in/s)
#   b   500 workers, 50 teams, 10 managers per team, 10/s (50,000 deliveries/s)
#       (a and b are fixed rates: their workers ignore the sampling advice)
#   c   2,000 workers, 200 teams, 20 of them (10 %) watched by a manager,
#       workers obeying the sampling advice (1s watched, 30s not) from their
#       default 550 ms; add `-- -ignore-advice` for the same run without it
#   f   fan-out figure (count mode): one team of 10,000 SSE managers on B,
#       spread over 127.0.0.2-127.0.0.41 and connected at 1,000/s, then 10
#       workers on A send 10 positions each at 10/s: 1,000,000 deliveries
#       (100 per manager), timed from the first send to the last receipt,
#       every manager's 100 accounted for (-positions; the report's fanout
#       and loss). Override with `-- -workers 1 -positions 100` etc.
#   m   message round trip (team-simulator roundtrip): 20 workers on A, 500
#       messages POSTed through B at 10/s, each timed from its POST to its
#       acked event on a manager stream on B; needs a history DSN (the
#       message store the replicas share)
#
# Options:
#   -geofences N       create N fences over the run's teams (team-simulator
#                      load -geofences); needs a history DSN
#   -keep-geofences    leave them in place after the run
#   -duration D        measurement window (default 30s)
#   -cluster           a Redis Cluster of three masters (redis-server
#                      --cluster-enabled yes, no replicas) instead of one
#                      redis-server; the replicas get REDIS_CLUSTER_ADDRS and
#                      the report's server CPU counts all three
#   -history-dsn DSN   HISTORY_DSN of both replicas: positions history and the
#                      fence store, shared by A and B (so PostgreSQL: with a
#                      sqlite: file each replica would have its own). Default
#                      $BENCH_HISTORY_DSN, else $TEST_POSTGRES_DSN, else none.
#                      Compare a fenced run with one without fences over the
#                      same DSN: HISTORY_DSN also turns the history on.
#   -report FILE       the JSON report (default .tmp/bench/<shape>[-fences<N>]-<time>.json)
#   -no-build          use bin/ as it is
#   -pprof             DEBUG_ADDR (net/http/pprof) on replica A at
#                      127.0.0.1:18082 and B at :18084, to profile a run:
#                      go tool pprof 'http://127.0.0.1:18082/debug/pprof/profile?seconds=10'
#   -h                 this help
#
# Shapes a, b, c and f give the simulator both replicas' /metrics
# (-metrics-url): its loss report attributes any position a manager did not
# get (conflation, slow drops, publish errors, rejections, shutdown).
#
# Environment: REDIS_SERVER (default redis-server on PATH); the replicas'
# logs and redis-server's go beside the report (<report>.d/).
#
# Example (PostgreSQL from scripts/test-services.sh):
#   TEST_SERVICES_DIR=/tmp/tt scripts/test-services.sh up postgres && . /tmp/tt/env
#   scripts/bench-load.sh a                      # baseline, history on
#   scripts/bench-load.sh a -geofences 10000     # the same with 10,000 fences
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"

say() { printf '[bench-load] %s\n' "$*" >&2; }
die() {
	say "ERROR: $*"
	exit 2
}
usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}

[ "$#" -ge 1 ] || usage
case "$1" in
a) shape=(-workers 2000 -teams 200 -managers-per-team 1 -rate 10 -ignore-advice) ;;
b) shape=(-workers 500 -teams 50 -managers-per-team 10 -rate 10 -ignore-advice) ;;
c) shape=(-workers 2000 -teams 200 -managers-per-team 1 -watched-teams 20 -rate 1.82) ;;
f) shape=(-workers 10 -teams 1 -managers-per-team 10000 -positions 10 -rate 10 -ignore-advice
	-manager-sources 127.0.0.2-127.0.0.41 -manager-rate 1000 -warmup 5s -drain 300s) ;;
m) shape=(-workers 20 -messages 500 -rate 10 -timeout 10s -watch-transport sse) ;;
-h | --help) usage 0 ;;
*) die "unknown shape '$1': want a, b, c, f or m (-h for help)" ;;
esac
name=$1
shift

geofences="" keep=() duration=30s report="" build=1 extra=() cluster=0 pprof=0
dsn=${BENCH_HISTORY_DSN:-${TEST_POSTGRES_DSN:-}}
need_arg() {
	if [ "$#" -lt 2 ] || [ -z "$2" ]; then
		die "$1 needs a value"
	fi
}
while [ "$#" -gt 0 ]; do
	case "$1" in
	-geofences)
		need_arg "$@"
		[[ "$2" =~ ^[0-9]+$ ]] || die "-geofences: '$2' is not a number of fences"
		geofences=$2
		shift 2
		;;
	-keep-geofences) keep=(-keep-geofences) && shift ;;
	-cluster) cluster=1 && shift ;;
	-duration)
		need_arg "$@"
		duration=$2
		shift 2
		;;
	-history-dsn)
		need_arg "$@"
		dsn=$2
		shift 2
		;;
	-report)
		need_arg "$@"
		report=$2
		shift 2
		;;
	-no-build) build=0 && shift ;;
	-pprof) pprof=1 && shift ;;
	-h | --help) usage 0 ;;
	--)
		shift
		extra=("$@")
		break
		;;
	*) die "unknown option '$1' (-h for help; simulator flags go after --)" ;;
	esac
done
if [ "$name" = f ]; then
	# 10,000 manager streams on B and in the simulator: raise the soft limit
	# of open files to the hard one for everything started from here.
	ulimit -n "$(ulimit -Hn)" || true
	[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 12000 ] ||
		die "open files limited to $(ulimit -n) (hard $(ulimit -Hn)): shape f needs 12,000"
	[ "$duration" != 30s ] || duration=5m # count mode: the bound on sending, not a window
fi
if [ "$name" = m ] && [ -z "$dsn" ]; then
	die "shape m needs a message store: -history-dsn postgres://... (or BENCH_HISTORY_DSN, TEST_POSTGRES_DSN)"
fi
if [ -n "$geofences" ] && [ "$geofences" -gt 0 ] && [ -z "$dsn" ]; then
	die "-geofences needs a fence store: -history-dsn postgres://... (or BENCH_HISTORY_DSN, TEST_POSTGRES_DSN)"
fi
if [ -z "$report" ]; then
	mkdir -p .tmp/bench
	report=".tmp/bench/$name${geofences:+-fences$geofences}$([ "$cluster" = 0 ] || echo -cluster)-$(date +%Y%m%dT%H%M%S).json"
fi
logs="$report.d"
mkdir -p "$logs"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 18081 18083; do
	port_open "$p" && die "127.0.0.1:$p is in use: stop what listens there first"
done
redis_bin=${REDIS_SERVER:-redis-server}
command -v "$redis_bin" >/dev/null || die "$redis_bin not found (apt-get install redis-server, or set REDIS_SERVER)"

if [ "$build" = 1 ]; then
	say "building bin/tracking-redis and bin/team-simulator"
	mkdir -p bin
	go build -o bin/ ./tracking-redis/cmd/tracking-redis ./team-simulator/cmd/team-simulator
fi

# Everything started here, stopped on any exit, in reverse order.
started=()
stop_all() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#started[@]} - 1; i >= 0; i--)); do
		kill -TERM "${started[i]}" 2>/dev/null || true
	done
	for pid in "${started[@]}"; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	[ "${#started[@]}" -eq 0 ] || say "stopped ${started[*]}"
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# Free ports for redis-server(s), with their cluster bus port (port +
# 10000) below the ephemeral range too: an outgoing connection cannot take
# either between this check and the bind (it once took a bus port above it).
ephemeral_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local p span=$((ephemeral_lo - 10000 - 20000))
	[ "$span" -ge 100 ] || span=2768
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % span))
		if ! port_open "$p" && ! port_open "$((p + 10000))"; then # the cluster bus: port + 10000
			echo "$p"
			return 0
		fi
	done
	die "no free port for redis-server"
}
# setsid: a session of their own, so that Ctrl-C reaches only the simulator
# (which then writes its report and deletes its fences); the trap stops them.
start_redis() { # PORT LOG ARGS...
	local port=$1 log=$2
	shift 2
	setsid "$redis_bin" --bind 127.0.0.1 --port "$port" --save '' --appendonly no --protected-mode yes "$@" \
		>"$logs/$log" 2>&1 &
	started+=("$!")
}
redis_pids=() redis_ports=()
if [ "$cluster" = 1 ]; then
	for i in 1 2 3; do
		port=$(free_port)
		mkdir -p "$logs/cluster-$i"
		start_redis "$port" "redis-$i.log" --cluster-enabled yes --cluster-config-file nodes.conf \
			--cluster-node-timeout 5000 --dir "$logs/cluster-$i"
		redis_pids+=("$!") redis_ports+=("$port")
	done
else
	port=$(free_port)
	start_redis "$port" redis.log
	redis_pids+=("$!") redis_ports+=("$port")
fi
for port in "${redis_ports[@]}"; do
	for _ in $(seq 100); do port_open "$port" && break; sleep 0.1; done
	port_open "$port" || die "redis-server on :$port did not start: $(tail -n 5 "$logs"/redis*.log)"
done
redis_env=(REDIS_ADDR="127.0.0.1:${redis_ports[0]}")
if [ "$cluster" = 1 ]; then
	nodes=() addrs=""
	for port in "${redis_ports[@]}"; do
		nodes+=("127.0.0.1:$port") addrs="$addrs${addrs:+,}127.0.0.1:$port"
	done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$logs/cluster-create.log" 2>&1 ||
		die "redis-cli --cluster create failed: $(tail -n 5 "$logs/cluster-create.log")"
	for _ in $(seq 100); do
		redis-cli -p "${redis_ports[0]}" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' && break
		sleep 0.1
	done
	redis-cli -p "${redis_ports[0]}" CLUSTER INFO | grep -q '^cluster_state:ok' || die "the cluster is not ok after 10s"
	redis_env=(REDIS_CLUSTER_ADDRS="$addrs")
fi
redis_pid_list=$(
	IFS=,
	echo "${redis_pids[*]}"
)

secret=$(openssl rand -base64 48)
export AUTH_MODE=jwt AUTH_JWT_SECRET="$secret"
start_replica() { # NAME ADDR DEBUG_ADDR
	debug=()
	[ "$pprof" = 0 ] || debug=(DEBUG_ADDR="$3")
	env HTTP_ADDR="$2" "${redis_env[@]}" "${debug[@]}" HISTORY_DSN="$dsn" LOG_LEVEL=warn \
		setsid bin/tracking-redis >"$logs/replica-$1.log" 2>&1 &
	started+=("$!")
}
start_replica a 127.0.0.1:18081 127.0.0.1:18082
a_pid=$!
start_replica b 127.0.0.1:18083 127.0.0.1:18084
b_pid=$!

wait_ready() { # URL PID WHAT
	for _ in $(seq 300); do
		kill -0 "$2" 2>/dev/null || die "$3 exited; its log: $(tail -n 5 "$logs/$4" 2>/dev/null)"
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	die "$3 not ready after 30s ($1)"
}
wait_ready http://127.0.0.1:18081/readyz "$a_pid" "replica A" replica-a.log
wait_ready http://127.0.0.1:18083/readyz "$b_pid" "replica B" replica-b.log
history=off
[ -z "$dsn" ] || history="on, both replicas"
say "redis-server ${redis_pids[*]} on :${redis_ports[*]}, replica A $a_pid on :18081, B $b_pid on :18083" \
	"(HISTORY_DSN: $history); logs in $logs"

if [ "$name" = m ]; then
	sim=(bin/team-simulator roundtrip "${shape[@]}" -worker-url http://127.0.0.1:18081/tracking/
		-send-url http://127.0.0.1:18083/tracking/ -watch-url http://127.0.0.1:18083/tracking/ -report "$report")
else
	sim=(bin/team-simulator load "${shape[@]}" -duration "$duration" -strategy redis
		-worker-url http://127.0.0.1:18081/tracking/ -manager-url http://127.0.0.1:18083/tracking/
		-pids "$a_pid,$b_pid,$redis_pid_list" -report "$report"
		-metrics-url http://127.0.0.1:18081/metrics -metrics-url http://127.0.0.1:18083/metrics)
fi
[ -z "$geofences" ] || sim+=(-geofences "$geofences" "${keep[@]}")
sim+=("${extra[@]}")
say "${sim[*]}"
# The simulator reads AUTH_JWT_SECRET from the environment (a flag would show in ps).
"${sim[@]}"
say "report: $report"
