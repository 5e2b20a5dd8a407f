# shellcheck shell=bash
# PostgreSQL: Debian's postgresql (15), run as our own cluster on a random
# port with its data and unix socket in the state dir. The package's own
# cluster (port 5432, /etc/postgresql) is never used. PostgreSQL refuses to
# run as root, so initdb and the server run as the `postgres` user; the data
# dir is owned by it. Durability is switched off (fsync, synchronous commit,
# full page writes): a test server that loses its data on a crash is fine.
# Clients on 127.0.0.1 authenticate with a password (user teamtrack).

svc_conf postgres port 60 30

POSTGRES_USER=teamtrack
POSTGRES_PASSWORD=teamtrack-test
POSTGRES_DB=teamtrack

# postgres_bin NAME -> path of a PostgreSQL program (newest installed major).
postgres_bin() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/$1" ]; then echo "$d/$1"; fi
	done | sort -V | tail -n 1
}

postgres_packages() {
	if [ -z "$(postgres_bin initdb)" ]; then echo postgresql; fi
}

postgres_install() {
	[ -n "$(postgres_bin initdb)" ] || die "postgres: initdb still missing after apt-get install postgresql"
	id postgres >/dev/null 2>&1 || die "postgres: the 'postgres' user is missing (the Debian package creates it)"
}

# as_postgres CMD...: run CMD as the postgres user (from root), else as us.
as_postgres() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

postgres_prepare() {
	prepare_ports postgres port
	local data="$STATE_DIR/postgres-data" pwfile="$STATE_DIR/postgres.pwfile"
	mkdir -p "$STATE_DIR/postgres-run"
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$data" "$STATE_DIR/postgres-run" "$pwfile"
		# postgres must be able to reach its dirs through the state dir.
		chmod o+x "$STATE_DIR"
	fi
	chmod 700 "$data"
	log "initdb $data"
	as_postgres "$(postgres_bin initdb)" -D "$data" -U "$POSTGRES_USER" --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
		>>"$STATE_DIR/postgres.log" 2>&1 || {
		tail -n 30 "$STATE_DIR/postgres.log" >&2
		die "postgres: initdb failed"
	}
	rm -f "$pwfile"
}

postgres_ping() {
	timeout 3 "$(postgres_bin pg_isready)" -q -h 127.0.0.1 -p "$1" 2>/dev/null
}

# postgres_ready PORT: accepting connections and the test database exists.
postgres_ready() {
	postgres_ping "$1" || return 1
	as_postgres "$(postgres_bin psql)" -h "$STATE_DIR/postgres-run" -p "$1" -U "$POSTGRES_USER" \
		-d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$POSTGRES_DB'" 2>/dev/null | grep -q 1 && return 0
	as_postgres "$(postgres_bin createdb)" -h "$STATE_DIR/postgres-run" -p "$1" -U "$POSTGRES_USER" \
		"$POSTGRES_DB" >>"$STATE_DIR/postgres.log" 2>&1
}

postgres_launch() {
	log "starting postgres on 127.0.0.1:$1"
	# The server itself in the foreground under spawn (not pg_ctl start): the
	# pid file names the postmaster, whose SIGTERM is a clean "smart" stop.
	if [ "$(id -u)" -eq 0 ]; then
		spawn postgres runuser -u postgres -- "$(postgres_bin postgres)" -D "$STATE_DIR/postgres-data" \
			-c listen_addresses=127.0.0.1 -p "$1" -k "$STATE_DIR/postgres-run" \
			-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200
	else
		spawn postgres "$(postgres_bin postgres)" -D "$STATE_DIR/postgres-data" \
			-c listen_addresses=127.0.0.1 -p "$1" -k "$STATE_DIR/postgres-run" \
			-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200
	fi
}

postgres_env() {
	env_line TEST_POSTGRES_DSN "postgres://$POSTGRES_USER:$POSTGRES_PASSWORD@127.0.0.1:$1/$POSTGRES_DB?sslmode=disable"
	env_line TEST_POSTGRES_PORT "$1"
}

# postgres_stop PORT: a "fast" shutdown (SIGTERM alone is "smart": it would
# wait for every client connection to end, and a test's pool never does).
postgres_stop() {
	as_postgres "$(postgres_bin pg_ctl)" stop -D "$STATE_DIR/postgres-data" -m fast -w -t 20 \
		>>"$STATE_DIR/postgres.log" 2>&1
}
