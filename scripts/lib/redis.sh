# shellcheck shell=bash
# Redis: Debian's redis-server, run as our own daemon on a random port.
# The package's own service (port 6379, /etc/redis) is never used, so it
# does not matter whether systemd started it or not.

redis_packages() {
	local pkgs=()
	have redis-server || pkgs+=(redis-server)
	have redis-cli || pkgs+=(redis-tools)
	echo "${pkgs[@]}"
}

redis_install() {
	local pkgs
	pkgs=$(redis_packages)
	# shellcheck disable=SC2086
	[ -z "$pkgs" ] || apt_install $pkgs
	have redis-server || die "redis-server still missing after apt-get install"
}

# New ports + empty data dir; called by `up` before the first start.
redis_prepare() {
	free_ports 1
	save_state redis port "${FREE_PORTS[0]}"
	rm -rf "$STATE_DIR/redis-data"
	mkdir -p "$STATE_DIR/redis-data"
}

redis_ping() {
	[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

redis_healthy() {
	local port
	port=$(read_state redis port)
	[ -n "$port" ] && [ -n "$(service_pid redis)" ] && redis_ping "$port"
}

redis_launch() {
	local port
	port=$(read_state redis port)
	[ -n "$port" ] || die "redis: no port recorded; run '$TS_SCRIPT up redis' first"
	mkdir -p "$STATE_DIR/redis-data"
	log "starting redis on 127.0.0.1:$port"
	# Run in the foreground under spawn (not --daemonize) so a failed start
	# is noticed at once and the pid file always names the live server.
	spawn redis redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
		--save '' --appendonly no \
		--dir "$STATE_DIR/redis-data" \
		--daemonize no \
		--logfile "$STATE_DIR/redis.log"
}

redis_wait() {
	local port
	port=$(read_state redis port)
	wait_ready redis 30 redis_ping "$port"
	log "redis ready on 127.0.0.1:$port"
}

redis_stop() {
	stop_service redis 20
}

redis_env() {
	local port
	port=$(read_state redis port)
	[ -n "$port" ] || return 0
	env_line TEST_REDIS_ADDR "127.0.0.1:$port"
	env_line TEST_REDIS_PORT "$port"
	env_line TEST_REDIS_STOP_CMD "$(ts_cmd stop-one redis)"
	env_line TEST_REDIS_START_CMD "$(ts_cmd start-one redis)"
	env_line TEST_REDIS_RESTART_CMD "$(ts_cmd restart-one redis)"
}
