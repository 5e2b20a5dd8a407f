# shellcheck shell=bash
# Helpers of the multi-process Redis services (redis_sentinel.sh,
# redis_cluster.sh): the service's main process is spawned under its own name
# (SVC), its other redis-server / redis-sentinel processes ("nodes") as
# SVC-nPORT, each with its pid file and log in STATE_DIR. SVC_stop (asked
# first when the service stops) stops the nodes.

# rn_server SVC PORT ARGS...: a redis-server node of SVC on 127.0.0.1:PORT,
# with its data in SVC-data/nPORT; ARGS are more redis-server options.
rn_server() {
	local svc=$1 port=$2
	shift 2
	local dir="$STATE_DIR/$svc-data/n$port"
	mkdir -p "$dir"
	spawn "$svc-n$port" redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
		--save '' --appendonly no --repl-diskless-sync-delay 0 --dir "$dir" --daemonize no "$@"
}

# rn_ping PORT: a redis-server or redis-sentinel answers on PORT.
rn_ping() { [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

# rn_running SVC PORT: SVC's node on PORT runs.
rn_running() { [ -n "$(service_pid "$1-n$2")" ]; }

# rn_kill SVC PORT: SIGKILL SVC's node on PORT (a crash) and wait for it.
rn_kill() {
	local pid
	pid=$(service_pid "$1-n$2")
	[ -n "$pid" ] || die "$1: no node runs on port $2"
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	wait_gone 10 "$pid"
	rm -f "$STATE_DIR/$1-n$2.pid" "$STATE_DIR/$1-n$2.pidstart"
}

# rn_stop_all SVC: stop every node of SVC.
rn_stop_all() {
	local f name pid pids=""
	for f in "$STATE_DIR/$1"-n*.pid; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .pid)
		pid=$(service_pid "$name")
		if [ -n "$pid" ]; then pids="$pids $(term_tree "$pid")"; fi
	done
	# shellcheck disable=SC2086
	[ -z "$pids" ] || wait_gone 20 $pids
	rm -f "$STATE_DIR/$1"-n*.pid "$STATE_DIR/$1"-n*.pidstart
}

# rn_wait TIMEOUT_S CHECK_CMD...: poll CHECK_CMD until it succeeds; fail on timeout.
rn_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# rn_ctl_cmd ARGS...: shell command line running scripts/lib/redis_ctl.sh
# with ARGS against this state dir (for TEST_*_CMD variables).
rn_ctl_cmd() {
	printf 'TEST_SERVICES_DIR=%s TEAMTRACK_CACHE=%s %s %s' \
		"$(sq "$STATE_DIR")" "$(sq "$CACHE_DIR")" "$(sq "$TS_ROOT/scripts/lib/redis_ctl.sh")" "$*"
}
