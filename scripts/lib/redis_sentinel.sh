# shellcheck shell=bash
# Redis with Sentinel: a master, one replica and three redis-sentinel
# processes (quorum 2, a master is down after 1s) on random loopback ports.
# The first Sentinel is the service's main process (never killed by the
# tests); the master, the replica and the other Sentinels are its nodes
# (redis_nodes.sh). TEST_REDIS_SENTINEL_KILL_MASTER_CMD crashes the current
# master (SIGKILL); TEST_REDIS_SENTINEL_HEAL_CMD starts a killed server again,
# as a replica of the current master. start-one/restart-one start it all anew.
# Both kinds of process ask for a password, each its own (as REDIS_PASSWORD
# and REDIS_SENTINEL_PASSWORD are set in production): the redis-servers
# RS_DATA_PASS, the Sentinels RS_SENTINEL_PASS.

# shellcheck source=scripts/lib/redis_nodes.sh
. "$TS_ROOT/scripts/lib/redis_nodes.sh"

svc_conf redis_sentinel port 60 20
REDIS_SENTINEL_MASTER=tt-master
RS_DATA_PASS=tt-data-secret
RS_SENTINEL_PASS=tt-sentinel-secret

# rs_cli PORT ARGS...: redis-cli to a redis-server node; rs_scli to a Sentinel.
rs_cli() {
	local p=$1
	shift
	REDISCLI_AUTH=$RS_DATA_PASS timeout 3 redis-cli -h 127.0.0.1 -p "$p" "$@"
}
rs_scli() {
	local p=$1
	shift
	REDISCLI_AUTH=$RS_SENTINEL_PASS timeout 3 redis-cli -h 127.0.0.1 -p "$p" "$@"
}
rs_ping() { [ "$(rs_cli "$1" ping 2>/dev/null)" = PONG ]; }

# rs_server PORT ARGS...: a redis-server node with the data password.
rs_server() {
	rn_server redis_sentinel "$@" --requirepass "$RS_DATA_PASS" --masterauth "$RS_DATA_PASS"
}

redis_sentinel_packages() {
	local pkgs=()
	have redis-server || pkgs+=(redis-server)
	have redis-cli || pkgs+=(redis-tools)
	have redis-sentinel || pkgs+=(redis-sentinel)
	echo "${pkgs[@]}"
}

redis_sentinel_install() { have redis-sentinel || die "redis-sentinel still missing after apt-get install"; }

redis_sentinel_prepare() {
	rn_stop_all redis_sentinel
	prepare_ports redis_sentinel port master-port replica-port s2-port s3-port
}

redis_sentinel_stop() { rn_stop_all redis_sentinel; }

# The ports of the two redis-servers and the three Sentinels.
rs_servers() { echo "$(read_state redis_sentinel master-port) $(read_state redis_sentinel replica-port)"; }
rs_sentinels() {
	echo "$(read_state redis_sentinel port) $(read_state redis_sentinel s2-port) $(read_state redis_sentinel s3-port)"
}

redis_sentinel_launch() {
	local m r s conf
	m=$(read_state redis_sentinel master-port)
	r=$(read_state redis_sentinel replica-port)
	rm -rf "${STATE_DIR:?}/redis_sentinel-data"
	mkdir -p "$STATE_DIR/redis_sentinel-data"
	log "starting redis master 127.0.0.1:$m, replica :$r, sentinels :$(rs_sentinels | tr ' ' ',')"
	rs_server "$m"
	rs_server "$r" --replicaof 127.0.0.1 "$m"
	for s in $(rs_sentinels); do
		conf="$STATE_DIR/redis_sentinel-data/sentinel-$s.conf"
		cat >"$conf" <<CONF
port $s
bind 127.0.0.1
daemonize no
dir $STATE_DIR/redis_sentinel-data
requirepass $RS_SENTINEL_PASS
sentinel sentinel-pass $RS_SENTINEL_PASS
sentinel monitor $REDIS_SENTINEL_MASTER 127.0.0.1 $m 2
sentinel auth-pass $REDIS_SENTINEL_MASTER $RS_DATA_PASS
sentinel down-after-milliseconds $REDIS_SENTINEL_MASTER 1000
sentinel failover-timeout $REDIS_SENTINEL_MASTER 10000
sentinel parallel-syncs $REDIS_SENTINEL_MASTER 1
CONF
		if [ "$s" = "$1" ]; then
			spawn redis_sentinel redis-sentinel "$conf"
		else
			spawn "redis_sentinel-n$s" redis-sentinel "$conf"
		fi
	done
}

# rs_master -> the port of the master the first Sentinel names.
rs_master() {
	rs_scli "$(read_state redis_sentinel port)" SENTINEL get-master-addr-by-name "$REDIS_SENTINEL_MASTER" 2>/dev/null | sed -n 2p
}

# redis_sentinel_ping PORT: the Sentinels reach a quorum and the master answers.
redis_sentinel_ping() {
	local m
	[[ "$(rs_scli "$1" SENTINEL ckquorum "$REDIS_SENTINEL_MASTER" 2>/dev/null)" == OK* ]] || return 1
	m=$(rs_master) && [ -n "$m" ] && rs_ping "$m"
}

# redis_sentinel_ready PORT: besides, all three Sentinels know each other
# and the replica (else a failover could not happen).
redis_sentinel_ready() {
	local s
	redis_sentinel_ping "$1" || return 1
	for s in $(rs_sentinels); do
		[[ "$(rs_scli "$s" SENTINEL ckquorum "$REDIS_SENTINEL_MASTER" 2>/dev/null)" == "OK 3 "* ]] || return 1
		[ "$(rs_scli "$s" SENTINEL replicas "$REDIS_SENTINEL_MASTER" 2>/dev/null | grep -c '^flags$')" -ge 1 ] || return 1
	done
}

redis_sentinel_env() {
	local s addrs=""
	for s in $(rs_sentinels); do addrs="$addrs${addrs:+,}127.0.0.1:$s"; done
	env_line TEST_REDIS_SENTINEL_ADDRS "$addrs"
	env_line TEST_REDIS_MASTER_NAME "$REDIS_SENTINEL_MASTER"
	env_line TEST_REDIS_SENTINEL_PASSWORD "$RS_SENTINEL_PASS"
	env_line TEST_REDIS_SENTINEL_DATA_PASSWORD "$RS_DATA_PASS"
	env_line TEST_REDIS_SENTINEL_KILL_MASTER_CMD "$(rn_ctl_cmd sentinel-kill-master)"
	env_line TEST_REDIS_SENTINEL_HEAL_CMD "$(rn_ctl_cmd sentinel-heal)"
}

# redis_sentinel_kill_master: crash the current master; prints its port.
redis_sentinel_kill_master() {
	local m
	m=$(rs_master)
	[ -n "$m" ] || die "redis_sentinel: the Sentinels name no master"
	rn_kill redis_sentinel "$m"
	log "redis_sentinel: killed the master on port $m"
	echo "$m"
}

# redis_sentinel_heal: start the killed servers again as replicas of the
# current master; wait until the Sentinels see them.
redis_sentinel_heal() {
	local p m
	# First the failover: the Sentinels name a master that runs.
	rn_wait 60 rs_master_runs || die "redis_sentinel: no running master named after 60s"
	m=$(rs_master)
	for p in $(rs_servers); do
		rn_running redis_sentinel "$p" && continue
		log "redis_sentinel: starting 127.0.0.1:$p again as a replica of :$m"
		rs_server "$p" --replicaof 127.0.0.1 "$m"
		rn_wait 20 rs_ping "$p" || die "redis_sentinel: server on :$p did not come back"
	done
	rn_wait 30 rs_healed "$m" || die "redis_sentinel: the master :$m has no replica in sync after 30s"
}

rs_master_runs() {
	local m
	m=$(rs_master) && [ -n "$m" ] && rn_running redis_sentinel "$m" && rs_ping "$m"
}

# rs_healed MASTER_PORT: the master has its replica online and Sentinels know it.
rs_healed() {
	rs_cli "$1" INFO replication | grep -q '^slave0:.*state=online' &&
		[ "$(rs_scli "$(read_state redis_sentinel port)" SENTINEL replicas "$REDIS_SENTINEL_MASTER" |
			grep -A1 '^flags$' | grep -c '^slave$')" -ge 1 ]
}
