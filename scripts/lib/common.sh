# shellcheck shell=bash
# Shared helpers for scripts/test-services.sh. Sourced, not executed.
#
# Expects these globals from the main script:
#   TS_SCRIPT   absolute path of test-services.sh
#   STATE_DIR   per-run state (pids, ports, data, logs, env file)
#   CACHE_DIR   long-lived download/build cache

log() { printf '[test-services] %s\n' "$*" >&2; }

die() {
	log "ERROR: $*"
	exit 1
}

# sq STRING -> STRING single-quoted for POSIX sh (safe for `sh -c` and `.`).
sq() {
	case "$1" in
	'' | *[!A-Za-z0-9_./:=@%+,-]*) ;;
	*)
		printf '%s' "$1"
		return 0
		;;
	esac
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- apt

APT_UPDATED=0

# apt_install PKG... : install Debian packages non-interactively (root only).
apt_install() {
	[ "$#" -gt 0 ] || return 0
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		have sudo || die "need root (or sudo) to apt-get install $*"
		sudo=(sudo -n)
	fi
	export DEBIAN_FRONTEND=noninteractive
	local apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	if [ "$APT_UPDATED" -eq 0 ]; then
		log "apt-get update"
		"${sudo[@]}" apt-get "${apt_opts[@]}" update >"$STATE_DIR/apt.log" 2>&1 ||
			{ tail -n 50 "$STATE_DIR/apt.log" >&2; die "apt-get update failed"; }
		APT_UPDATED=1
	fi
	log "apt-get install $*"
	"${sudo[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "$@" >>"$STATE_DIR/apt.log" 2>&1 ||
		{ tail -n 50 "$STATE_DIR/apt.log" >&2; die "apt-get install $* failed"; }
}

# ---------------------------------------------------------------- ports

# Ports handed out during this invocation, so two picks never collide.
PICKED_PORTS=" "

# free_port -> prints a TCP port on 127.0.0.1 that is free right now.
# Picks from 20000-32767, below Linux's ephemeral range, so an outgoing
# client connection cannot grab it between stop-one and start-one.
free_port() {
	local p i
	for i in $(seq 1 200); do
		: "$i"
		p=$((20000 + RANDOM % 12768))
		case "$PICKED_PORTS" in *" $p "*) continue ;; esac
		if port_is_free "$p"; then
			PICKED_PORTS="$PICKED_PORTS$p "
			echo "$p"
			return 0
		fi
	done
	die "could not find a free TCP port"
}

# port_is_free PORT: true when nothing listens on / is bound to 127.0.0.1:PORT
# (TCP, and UDP too since consul's serf ports use both).
port_is_free() {
	if have python3; then
		python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
p = int(sys.argv[1])
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
	else
		! port_open "$1"
	fi
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# read_state NAME KEY -> value saved by save_state (empty when missing).
read_state() {
	local f="$STATE_DIR/$1.$2"
	[ -f "$f" ] && cat "$f"
	return 0
}

save_state() { printf '%s\n' "$3" >"$STATE_DIR/$1.$2"; }

# ---------------------------------------------------------------- processes

pid_alive() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

# The pid recorded for service NAME, if that process is still alive.
service_pid() {
	local pid
	pid=$(read_state "$1" pid)
	if pid_alive "$pid"; then echo "$pid"; fi
	return 0
}

# spawn NAME CMD... : start CMD in its own session/process group, detached
# from our stdin/stdout/stderr (so callers like Go's exec.Cmd never wait on
# it), output appended to NAME.log, pid saved to NAME.pid.
spawn() {
	local name=$1
	shift
	local pidfile="$STATE_DIR/$name.pid"
	rm -f "$pidfile"
	# The inner shell writes its own pid and then execs the server, so the
	# pid file holds the server's pid (= its process group id).
	# shellcheck disable=SC2016 # $$ and $@ are for the inner shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
		</dev/null >>"$STATE_DIR/$name.log" 2>&1 9>&- &
	local i
	for i in $(seq 1 50); do
		[ -s "$pidfile" ] && return 0
		: "$i"
		sleep 0.1
	done
	die "$name: process did not start (no pid file)"
}

# kill_tree PID [TIMEOUT_S]: SIGTERM the process group PID leads and all
# descendants of PID, wait for them to exit, SIGKILL after TIMEOUT_S.
kill_tree() {
	local pid=$1 timeout=${2:-30}
	pid_alive "$pid" || return 0
	local pids
	pids="$pid $(descendants "$pid")"
	# shellcheck disable=SC2086
	kill -TERM -- "-$pid" 2>/dev/null || true
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	local deadline=$((SECONDS + timeout)) p alive
	while :; do
		alive=""
		for p in $pids; do
			if pid_alive "$p" && ! is_zombie "$p"; then alive="$alive $p"; fi
		done
		[ -z "$alive" ] && return 0
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "still running after ${timeout}s, sending SIGKILL to$alive"
			kill -KILL -- "-$pid" 2>/dev/null || true
			# shellcheck disable=SC2086
			kill -KILL $alive 2>/dev/null || true
			sleep 0.5
			return 0
		fi
		sleep 0.2
	done
}

descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

is_zombie() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$st" in Z*) return 0 ;; *) return 1 ;; esac
}

# stop_service NAME [TIMEOUT_S]: stop the process recorded in NAME.pid.
stop_service() {
	local name=$1 pid
	pid=$(read_state "$name" pid)
	if pid_alive "$pid"; then
		log "stopping $name (pid $pid)"
		kill_tree "$pid" "${2:-30}"
	fi
	rm -f "$STATE_DIR/$name.pid"
}

# ---------------------------------------------------------------- waiting

# log_size FILE -> current size in bytes (0 if missing); used to only look
# at log output written after a (re)start.
log_size() {
	if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi
}

# fail_start NAME MESSAGE: print the end of the service log and exit.
fail_start() {
	local name=$1
	shift
	log "ERROR: $name: $*"
	if [ -f "$STATE_DIR/$name.log" ]; then
		log "---- last 50 lines of $STATE_DIR/$name.log ----"
		tail -n 50 "$STATE_DIR/$name.log" >&2
		log "---- end of $name.log ----"
	fi
	exit 1
}

# wait_ready NAME TIMEOUT_S CHECK_CMD...: poll CHECK_CMD until it succeeds.
# Fails early (with the log tail) when the server process dies.
wait_ready() {
	local name=$1 timeout=$2
	shift 2
	local deadline=$((SECONDS + timeout)) pid
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		pid=$(read_state "$name" pid)
		if [ -n "$pid" ] && ! pid_alive "$pid"; then
			fail_start "$name" "server process $pid exited during startup"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail_start "$name" "not ready after ${timeout}s"
		fi
		sleep 0.2
	done
}
