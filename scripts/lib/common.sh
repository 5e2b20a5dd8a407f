# shellcheck shell=bash
# Shared helpers for scripts/test-services.sh (sourced), which sets TS_SCRIPT,
# STATE_DIR (per-run state) and CACHE_DIR (download/build cache).

log() { printf '[test-services] %s\n' "$*" >&2; }

die() { log "ERROR: $*"; exit 1; }

# sq STRING -> STRING single-quoted for POSIX sh (safe for `sh -c` and `.`).
sq() {
	local s=${1//\'/\'\\\'\'}
	case "$1" in
	'' | *[!A-Za-z0-9_./:=@%+,-]*) printf "'%s'" "$s" ;;
	*) printf '%s' "$1" ;;
	esac
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- apt

# apt_install PKG... : apt-get update, then install the packages
# non-interactively (as root or with sudo).
apt_install() {
	[ "$#" -gt 0 ] || return 0
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		have sudo || die "need root (or sudo) to apt-get install $*"
		sudo=(sudo -n)
	fi
	export DEBIAN_FRONTEND=noninteractive
	local apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	log "apt-get update"
	"${sudo[@]}" apt-get "${apt_opts[@]}" update >"$STATE_DIR/apt.log" 2>&1 ||
		{ tail -n 50 "$STATE_DIR/apt.log" >&2; die "apt-get update failed"; }
	log "apt-get install $*"
	# policy-rc.d keeps package scripts from starting services (redis on 6379).
	local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
	if [ ! -e "$policy" ] && [ "$(id -u)" -eq 0 ]; then
		printf '#!/bin/sh\n# temporary, from teamtrack scripts/test-services.sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		added_policy=1
	fi
	"${sudo[@]}" apt-get "${apt_opts[@]}" install --no-install-recommends "$@" >>"$STATE_DIR/apt.log" 2>&1 || rc=$?
	if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi
	[ "$rc" = 0 ] || { tail -n 50 "$STATE_DIR/apt.log" >&2; die "apt-get install $* failed"; }
}

# ---------------------------------------------------------------- ports

# Ports handed out during this invocation, so two picks never collide.
PICKED_PORTS=""

# free_ports N: set FREE_PORTS to N distinct ports that are free right now
# on 127.0.0.1 for TCP and UDP (consul's serf ports use both). Picked at
# random from 20000-32767, below Linux's ephemeral range, so an outgoing
# client connection cannot grab one between stop-one and start-one.
free_ports() {
	local py=/usr/bin/python3 out
	# The system python: the pyenv shim on PATH costs ~0.5s per call.
	[ -x "$py" ] || py=$(command -v python3) || die "python3 is needed to pick free ports"
	# Not in a subshell: PICKED_PORTS must remember the picks.
	# shellcheck disable=SC2086
	out=$("$py" - "$1" $PICKED_PORTS <<'PY'
import random, socket, sys
want, taken = int(sys.argv[1]), {int(p) for p in sys.argv[2:]}
def free(p):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        finally:
            s.close()
    return True
got = []
for _ in range(2000):
    p = random.randint(20000, 32767)
    if p not in taken and p not in got and free(p):
        got.append(p)
        if len(got) == want:
            break
if len(got) < want:
    sys.exit("no free ports")
print(" ".join(map(str, got)))
PY
	) || die "could not find $1 free TCP ports"
	read -r -a FREE_PORTS <<<"$out"
	[ "${#FREE_PORTS[@]}" = "$1" ] || die "could not pick $1 free ports (got '$out')"
	PICKED_PORTS="$PICKED_PORTS $out"
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# read_state NAME KEY -> value saved by save_state (empty when missing).
read_state() { cat "$STATE_DIR/$1.$2" 2>/dev/null || true; }

save_state() { printf '%s\n' "$3" >"$STATE_DIR/$1.$2"; }

# ---------------------------------------------------------------- processes

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pid_start PID -> the process's start time (clock ticks since boot), to
# tell our server from an unrelated process that reused its pid.
pid_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# Fields after "pid (comm) ": starttime is the 20th of them.
	stat=${stat##*) }
	echo "$stat" | cut -d' ' -f20
}

# pid_running PID: alive and not a zombie waiting to be reaped.
pid_running() {
	pid_alive "$1" && case "$(ps -o stat= -p "$1" 2>/dev/null)" in Z*) false ;; esac
}

# The pid recorded for service NAME, if that very process still runs.
service_pid() {
	local pid start
	pid=$(read_state "$1" pid)
	pid_running "$pid" || return 0
	start=$(read_state "$1" pidstart)
	if [ -z "$start" ] || [ "$start" = "$(pid_start "$pid")" ]; then echo "$pid"; fi
	return 0
}

# spawn NAME CMD... : start CMD in its own session/process group, detached
# from our stdin/stdout/stderr (so callers like Go's exec.Cmd never wait on
# it), output appended to NAME.log, pid saved to NAME.pid.
spawn() {
	local name=$1
	shift
	local pidfile="$STATE_DIR/$name.pid"
	rm -f "$pidfile" "$STATE_DIR/$name.pidstart"
	# The inner shell writes its pid, then execs the server (the group leader).
	# shellcheck disable=SC2016 # $$ and $@ are for the inner shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
		</dev/null >>"$STATE_DIR/$name.log" 2>&1 8>&- 9>&- &
	for _ in {1..100}; do
		if [ -s "$pidfile" ]; then
			save_state "$name" pidstart "$(pid_start "$(cat "$pidfile")")"
			return 0
		fi
		sleep 0.05
	done
	die "$name: process did not start (no pid file)"
}

# term_tree PID: SIGTERM PID's process group and descendants; prints the
# pids to wait for.
term_tree() {
	local pids
	pids="$1 $(descendants "$1")"
	kill -TERM -- "-$1" 2>/dev/null || true
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	echo "$pids"
}

# wait_gone TIMEOUT_S PID...: wait until all PIDs exited; SIGKILL (their
# groups too) after TIMEOUT_S.
wait_gone() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout)) p alive
	while :; do
		alive=""
		for p in "$@"; do
			if pid_running "$p"; then alive="$alive $p"; fi
		done
		[ -n "$alive" ] || break
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "still running after ${timeout}s, sending SIGKILL to$alive"
			for p in $alive; do kill -KILL -- "-$p" 2>/dev/null || true; done
			# shellcheck disable=SC2086
			kill -KILL $alive 2>/dev/null || true
			sleep 0.5
			break
		fi
		sleep 0.1
	done
	# Exited. For `down`, give the parent (init, for servers of an earlier
	# run) a moment to reap the zombies, so `pgrep` is clean afterwards.
	if [ "${REAP_WAIT:-0}" = 1 ]; then
		local zdeadline=$((SECONDS + 3))
		for p in "$@"; do
			while pid_alive "$p" && [ "$SECONDS" -lt "$zdeadline" ]; do sleep 0.1; done
		done
	fi
	return 0
}

descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# stop_services TIMEOUT_S NAME...: SIGTERM all the servers' process trees,
# then wait for all; SIGKILL after TIMEOUT_S.
stop_services() {
	local timeout=$1 name pid pids=""
	shift
	for name in "$@"; do
		pid=$(service_pid "$name")
		if [ -n "$pid" ]; then
			log "stopping $name (pid $pid)"
			# NAME_stop PORT (optional): a server's own quick stop, tried
			# first (PostgreSQL's SIGTERM waits for every client to leave).
			if declare -F "${name}_stop" >/dev/null; then "${name}_stop" "$(svc_port "$name")" || true; fi
			pids="$pids $(term_tree "$pid")"
		fi
	done
	# shellcheck disable=SC2086
	[ -z "$pids" ] || wait_gone "$timeout" $pids
	for name in "$@"; do rm -f "$STATE_DIR/$name.pid" "$STATE_DIR/$name.pidstart"; done
}

# ---------------------------------------------------------------- waiting

# wait_ready NAME TIMEOUT_S CHECK_CMD...: poll CHECK_CMD until it succeeds;
# on timeout, or at once when the server process dies, show its log and exit.
wait_ready() {
	local name=$1 timeout=$2 pid err="" lf="$STATE_DIR/$1.log"
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || err="not ready after ${timeout}s"
		pid=$(read_state "$name" pid)
		[ -z "$pid" ] || [ -n "$(service_pid "$name")" ] || err="server process $pid exited during startup"
		if [ -n "$err" ]; then
			log "ERROR: $name: $err"
			[ ! -f "$lf" ] || { log "---- last 50 lines of $lf ----"; tail -n 50 "$lf" >&2; log "---- end of $name.log ----"; }
			exit 1
		fi
		sleep 0.2
	done
}

# ---------------------------------------------------------------- servers

# Each server NAME (lib/NAME.sh) calls svc_conf and defines NAME_prepare
# (new ports + data for `up`), NAME_launch PORT, NAME_ping PORT (answers?),
# NAME_ready PORT (optional: startup done; default NAME_ping), NAME_env PORT,
# NAME_stop PORT (optional: asked first when stopping, before SIGTERM).
declare -A PORT_KEY START_TIMEOUT STOP_TIMEOUT

# svc_conf NAME PORT_KEY START_TIMEOUT_S STOP_TIMEOUT_S (PORT_KEY: the state
# key of the main port)
svc_conf() { PORT_KEY[$1]=$2 START_TIMEOUT[$1]=$3 STOP_TIMEOUT[$1]=$4; }

svc_port() { read_state "$1" "${PORT_KEY[$1]}"; }

# prepare_ports NAME KEY...: save a new free port under each KEY and empty
# NAME's data dir.
prepare_ports() {
	local name=$1 i
	shift
	free_ports "$#"
	for ((i = 1; i <= $#; i++)); do save_state "$name" "${!i}" "${FREE_PORTS[i - 1]}"; done
	rm -rf "${STATE_DIR:?}/$name-data"
	mkdir -p "$STATE_DIR/$name-data"
}

svc_healthy() {
	local port
	port=$(svc_port "$1")
	[ -n "$port" ] && [ -n "$(service_pid "$1")" ] && "$1_ping" "$port"
}

svc_launch() {
	local port
	port=$(svc_port "$1")
	[ -n "$port" ] || die "$1: not configured; run '$TS_SCRIPT up $1' first"
	"$1_launch" "$port"
}

svc_wait() {
	local port check=$1_ready
	port=$(svc_port "$1")
	declare -F "$check" >/dev/null || check=$1_ping
	wait_ready "$1" "${START_TIMEOUT[$1]}" "$check" "$port"
	log "$1 ready on 127.0.0.1:$port"
}

svc_stop() { stop_services "${STOP_TIMEOUT[$1]}" "$1"; }

svc_env() {
	local port a
	port=$(svc_port "$1")
	[ -n "$port" ] || return 0
	"$1_env" "$port"
	for a in STOP START RESTART; do env_line "TEST_${1^^}_${a}_CMD" "$(ts_cmd "${a,,}-one" "$1")"; done
}
