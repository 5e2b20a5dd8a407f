# shellcheck shell=bash
# A Redis Cluster of three masters, each with a replica (so a master can fail
# over), on random loopback ports; cluster-node-timeout 2s, and
# cluster-require-full-coverage off so that the other shards keep serving
# while one fails over. The node on the first port is the service's main
# process, the five others are its nodes (redis_nodes.sh). TEST_REDIS_CLUSTER_KILL_MASTER_CMD crashes (SIGKILL) a
# master (of a key's slot: append the key); TEST_REDIS_CLUSTER_HEAL_CMD waits
# for the failover and starts the killed nodes again, with their cluster
# config: they rejoin as replicas.
# start-one/restart-one make a new cluster.

# shellcheck source=scripts/lib/redis_nodes.sh
. "$TS_ROOT/scripts/lib/redis_nodes.sh"

svc_conf redis_cluster port 60 20

redis_cluster_packages() {
	local pkgs=()
	have redis-server || pkgs+=(redis-server)
	have redis-cli || pkgs+=(redis-tools)
	echo "${pkgs[@]}"
}

redis_cluster_install() { have redis-server || die "redis-server still missing after apt-get install"; }

redis_cluster_prepare() {
	rn_stop_all redis_cluster
	prepare_ports redis_cluster port p2-port p3-port p4-port p5-port p6-port
}

redis_cluster_stop() { rn_stop_all redis_cluster; }

rc_ports() {
	local k out
	out=$(read_state redis_cluster port)
	for k in p2-port p3-port p4-port p5-port p6-port; do out="$out $(read_state redis_cluster "$k")"; done
	echo "$out"
}

# rc_node PORT: start (or restart, with its nodes.conf) the cluster node on PORT.
rc_node() {
	local args=(--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
		--cluster-require-full-coverage no --cluster-replica-validity-factor 0
		--repl-diskless-sync-delay 0)
	if [ "$1" = "$(read_state redis_cluster port)" ]; then
		mkdir -p "$STATE_DIR/redis_cluster-data/n$1"
		spawn redis_cluster redis-server --bind 127.0.0.1 --port "$1" --protected-mode yes \
			--save '' --appendonly no --dir "$STATE_DIR/redis_cluster-data/n$1" --daemonize no "${args[@]}"
	else
		rn_server redis_cluster "$1" "${args[@]}"
	fi
}

redis_cluster_launch() {
	local p addrs=()
	rm -rf "${STATE_DIR:?}/redis_cluster-data"
	mkdir -p "$STATE_DIR/redis_cluster-data"
	log "starting a redis cluster on 127.0.0.1:$(rc_ports | tr ' ' ',')"
	for p in $(rc_ports); do
		rc_node "$p"
		addrs+=("127.0.0.1:$p")
	done
	for p in $(rc_ports); do rn_wait 20 rn_ping "$p" || die "redis_cluster: node :$p did not start"; done
	timeout 60 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
		>>"$STATE_DIR/redis_cluster.log" 2>&1 || die "redis_cluster: redis-cli --cluster create failed (see redis_cluster.log)"
}

# redis_cluster_ping PORT: the node says the cluster is ok.
redis_cluster_ping() {
	timeout 3 redis-cli -p "$1" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok'
}

# redis_cluster_ready PORT: every node says so and knows the five others.
redis_cluster_ready() {
	local p
	for p in $(rc_ports); do
		timeout 3 redis-cli -p "$p" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' || return 1
		timeout 3 redis-cli -p "$p" CLUSTER INFO 2>/dev/null | grep -q '^cluster_known_nodes:6' || return 1
	done
	[ "$(timeout 3 redis-cli -p "$1" CLUSTER NODES | awk '$3 ~ /slave/ && $3 !~ /fail/ && $8 == "connected"' | wc -l)" = 3 ] || return 1
	# Every master's replica is in sync (a replica promoted before its first
	# sync would come up empty).
	for p in $(timeout 3 redis-cli -p "$1" CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { split($2, a, "[:@]"); print a[2] }'); do
		timeout 3 redis-cli -p "$p" INFO replication | grep -q '^slave0:.*state=online' || return 1
	done
}

redis_cluster_env() {
	local p list=""
	for p in $(rc_ports); do list="$list${list:+,}127.0.0.1:$p"; done
	env_line TEST_REDIS_CLUSTER_ADDRS "$list"
	env_line TEST_REDIS_CLUSTER_KILL_MASTER_CMD "$(rn_ctl_cmd cluster-kill-master)"
	env_line TEST_REDIS_CLUSTER_HEAL_CMD "$(rn_ctl_cmd cluster-heal)"
}

# redis_cluster_kill_master [KEY]: crash (SIGKILL) the master serving KEY's
# slot, or any master; prints its port.
redis_cluster_kill_master() {
	local main p slot
	main=$(read_state redis_cluster port)
	if [ -n "${1:-}" ]; then
		slot=$(timeout 3 redis-cli -p "$main" CLUSTER KEYSLOT "$1")
		p=$(timeout 3 redis-cli -p "$main" CLUSTER NODES | awk -v slot="$slot" '
			$3 ~ /master/ && $3 !~ /fail/ { for (i = 9; i <= NF; i++) { n = split($i, r, "-"); if (n == 1) r[2] = r[1]
				if (r[1] ~ /^[0-9]+$/ && slot + 0 >= r[1] + 0 && slot + 0 <= r[2] + 0) { split($2, a, "[:@]"); print a[2] } } }' | head -n 1)
	else
		p=$(timeout 3 redis-cli -p "$main" CLUSTER NODES |
			awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9 { split($2, a, "[:@]"); print a[2] }' | head -n 1)
	fi
	[ -n "$p" ] || die "redis_cluster: no master to kill${1:+ for key $1}"
	if [ "$p" = "$main" ]; then
		# The main process: heal starts it again under its name.
		local pid
		pid=$(service_pid redis_cluster)
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait_gone 10 "$pid"
	else
		rn_kill redis_cluster "$p"
	fi
	log "redis_cluster: killed the master on port $p"
	echo "$p"
}

# redis_cluster_heal: start killed nodes again (they rejoin as replicas) and
# wait for every node to say the cluster is ok.
redis_cluster_heal() {
	local p main
	main=$(read_state redis_cluster port)
	# First the failover: no failed master serves slots any more (as a
	# running node sees it).
	local seer=""
	for p in $(rc_ports); do
		if rc_running "$p"; then seer=$p; break; fi
	done
	rn_wait 60 rc_failed_over "$seer" || die "redis_cluster: a failed master still holds slots after 60s"
	for p in $(rc_ports); do
		rc_running "$p" && continue
		log "redis_cluster: starting the node on :$p again"
		rc_node "$p"
	done
	rn_wait 60 redis_cluster_ready "$main" || die "redis_cluster: not ok 60s after the heal"
}

rc_running() {
	if [ "$1" = "$(read_state redis_cluster port)" ]; then [ -n "$(service_pid redis_cluster)" ]; else rn_running redis_cluster "$1"; fi
}

# rc_failed_over PORT: every master holding slots, as node PORT sees it,
# runs and is not failing.
rc_failed_over() {
	local nodes p
	redis_cluster_ping "$1" || return 1
	nodes=$(timeout 3 redis-cli -p "$1" CLUSTER NODES) || return 1
	! echo "$nodes" | awk '$3 ~ /master/ && $3 ~ /fail/ && NF >= 9' | grep -q . || return 1
	for p in $(echo "$nodes" | awk '$3 ~ /master/ && NF >= 9 { split($2, a, "[:@]"); print a[2] }'); do
		rc_running "$p" || return 1
	done
}
