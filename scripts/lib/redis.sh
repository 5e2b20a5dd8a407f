# shellcheck shell=bash
# Redis: Debian's redis-server, run as our own daemon on a random port.
# The package's own service (port 6379, /etc/redis) is never used, so it
# does not matter whether systemd started it or not.

svc_conf redis port 30 20

redis_packages() {
	local pkgs=()
	have redis-server || pkgs+=(redis-server)
	have redis-cli || pkgs+=(redis-tools)
	echo "${pkgs[@]}"
}

redis_install() { have redis-server || die "redis-server still missing after apt-get install"; }

redis_prepare() { prepare_ports redis port; }

redis_ping() {
	[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

redis_launch() {
	mkdir -p "$STATE_DIR/redis-data"
	log "starting redis on 127.0.0.1:$1"
	# In the foreground under spawn (not --daemonize): a failed start is
	# noticed at once and the pid file names the live server.
	spawn redis redis-server --bind 127.0.0.1 --port "$1" --protected-mode yes \
		--save '' --appendonly no --dir "$STATE_DIR/redis-data" \
		--daemonize no --logfile "$STATE_DIR/redis.log"
}

redis_env() {
	env_line TEST_REDIS_ADDR "127.0.0.1:$1"
	env_line TEST_REDIS_PORT "$1"
}
