# shellcheck shell=bash
# Consul: the real agent, built once from the Go module pinned in
# scripts/consul-wrapper (no Debian package exists), run with -dev on
# random ports so a developer's own consul (8500/8300/8301/...) never clashes.

CONSUL_VERSION=1.22.5
CONSUL_WRAPPER_DIR="$TS_ROOT/scripts/consul-wrapper"
CONSUL_BIN="$CACHE_DIR/consul-$CONSUL_VERSION/consul"
svc_conf consul http-port 60 20

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

consul_prepare() { prepare_ports consul http-port serf-lan-port serf-wan-port server-port grpc-port; }

# consul_ping HTTP_PORT: the agent answers and has a leader (else it says `""`).
consul_ping() {
	local leader
	leader=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/v1/status/leader" 2>/dev/null) || return 1
	[ -n "$leader" ] && [ "$leader" != '""' ]
}

consul_launch() {
	local http=$1 serf_lan serf_wan server grpc
	serf_lan=$(read_state consul serf-lan-port)
	serf_wan=$(read_state consul serf-wan-port)
	server=$(read_state consul server-port)
	grpc=$(read_state consul grpc-port)
	# -dev keeps raft in memory: a stop-one/start-one cycle comes back empty,
	# like a fresh dev agent, on the same ports.
	rm -rf "$STATE_DIR/consul-data"
	mkdir -p "$STATE_DIR/consul-data"
	log "starting consul $CONSUL_VERSION on 127.0.0.1:$http (serf $serf_lan/$serf_wan, server $server, grpc $grpc)"
	CHECKPOINT_DISABLE=1 spawn consul "$CONSUL_BIN" agent -dev \
		-node teamtrack-test -bind 127.0.0.1 -client 127.0.0.1 -advertise 127.0.0.1 \
		-http-port "$http" -https-port -1 -grpc-port "$grpc" -grpc-tls-port -1 -dns-port -1 \
		-serf-lan-port "$serf_lan" -serf-wan-port "$serf_wan" -server-port "$server" \
		-data-dir "$STATE_DIR/consul-data" -log-level info -hcl 'disable_update_check = true'
}

consul_env() { env_line TEST_CONSUL_HTTP_ADDR "127.0.0.1:$1"; }
