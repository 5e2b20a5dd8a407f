# shellcheck shell=bash
# Consul: the real agent, built once from the Go module pinned in
# scripts/consul-wrapper (no Debian package exists), run with -dev on
# random ports so a developer's own consul (8500/8300/8301/...) never clashes.

CONSUL_VERSION=1.22.5
CONSUL_WRAPPER_DIR="$TS_ROOT/scripts/consul-wrapper"
CONSUL_BIN="$CACHE_DIR/consul-$CONSUL_VERSION/consul"

consul_install() {
	if [ -x "$CONSUL_BIN" ]; then return 0; fi
	have go || die "consul: 'go' is needed to build the consul agent"
	grep -q "github.com/hashicorp/consul v$CONSUL_VERSION" "$CONSUL_WRAPPER_DIR/go.mod" ||
		die "consul: $CONSUL_WRAPPER_DIR/go.mod does not pin consul v$CONSUL_VERSION"
	mkdir -p "$(dirname "$CONSUL_BIN")"
	local build_log
	build_log="$(dirname "$CONSUL_BIN")/build.log"
	log "building consul v$CONSUL_VERSION from source into $CONSUL_BIN"
	log "  (one time; a cold build takes ~10 minutes on 2 cores, log: $build_log)"
	local start=$SECONDS
	# GOWORK=off: the wrapper module is deliberately not part of the repo's go.work.
	if ! (cd "$CONSUL_WRAPPER_DIR" &&
		GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=readonly" \
			go build -trimpath -o "$CONSUL_BIN.tmp.$$" github.com/hashicorp/consul) >"$build_log" 2>&1 9>&-; then
		rm -f "$CONSUL_BIN.tmp.$$"
		tail -n 50 "$build_log" >&2
		die "consul: go build failed (log: $build_log)"
	fi
	mv -f "$CONSUL_BIN.tmp.$$" "$CONSUL_BIN"
	log "consul built in $((SECONDS - start))s"
}

# New ports + empty data dir; called by `up` before the first start.
consul_prepare() {
	free_ports 5
	save_state consul http-port "${FREE_PORTS[0]}"
	save_state consul serf-lan-port "${FREE_PORTS[1]}"
	save_state consul serf-wan-port "${FREE_PORTS[2]}"
	save_state consul server-port "${FREE_PORTS[3]}"
	save_state consul grpc-port "${FREE_PORTS[4]}"
	rm -rf "$STATE_DIR/consul-data"
	mkdir -p "$STATE_DIR/consul-data"
}

consul_has_leader() {
	local leader
	leader=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/v1/status/leader" 2>/dev/null) || return 1
	# An agent without a leader answers `""`.
	[ -n "$leader" ] && [ "$leader" != '""' ]
}

consul_healthy() {
	local port
	port=$(read_state consul http-port)
	[ -n "$port" ] && [ -n "$(service_pid consul)" ] && consul_has_leader "$port"
}

consul_launch() {
	local http serf_lan serf_wan server grpc
	http=$(read_state consul http-port)
	serf_lan=$(read_state consul serf-lan-port)
	serf_wan=$(read_state consul serf-wan-port)
	server=$(read_state consul server-port)
	grpc=$(read_state consul grpc-port)
	[ -n "$http" ] || die "consul: not configured; run '$TS_SCRIPT up consul' first"
	# -dev keeps raft in memory: a stop-one/start-one cycle comes back empty,
	# like a fresh dev agent, on the same ports.
	rm -rf "$STATE_DIR/consul-data"
	mkdir -p "$STATE_DIR/consul-data"
	log "starting consul $CONSUL_VERSION on 127.0.0.1:$http (serf $serf_lan/$serf_wan, server $server, grpc $grpc)"
	CHECKPOINT_DISABLE=1 spawn consul "$CONSUL_BIN" agent -dev \
		-node teamtrack-test \
		-bind 127.0.0.1 -client 127.0.0.1 -advertise 127.0.0.1 \
		-http-port "$http" -https-port -1 \
		-grpc-port "$grpc" -grpc-tls-port -1 \
		-dns-port -1 \
		-serf-lan-port "$serf_lan" -serf-wan-port "$serf_wan" \
		-server-port "$server" \
		-data-dir "$STATE_DIR/consul-data" \
		-log-level info \
		-hcl 'disable_update_check = true'
}

consul_wait() {
	local http
	http=$(read_state consul http-port)
	wait_ready consul 60 consul_has_leader "$http"
	log "consul ready on 127.0.0.1:$http"
}

consul_stop() {
	stop_service consul 20
}

consul_env() {
	local port
	port=$(read_state consul http-port)
	[ -n "$port" ] || return 0
	env_line TEST_CONSUL_HTTP_ADDR "127.0.0.1:$port"
	env_line TEST_CONSUL_STOP_CMD "$(ts_cmd stop-one consul)"
	env_line TEST_CONSUL_START_CMD "$(ts_cmd start-one consul)"
	env_line TEST_CONSUL_RESTART_CMD "$(ts_cmd restart-one consul)"
}
