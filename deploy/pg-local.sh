#!/usr/bin/env bash
# pg-local.sh — a private PostgreSQL cluster for development and tests.
#
#   deploy/pg-local.sh start   initialise (first time) and start; prints DATABASE_URL=... last
#   deploy/pg-local.sh stop    stop it
#   deploy/pg-local.sh url     print the URL of the running cluster
#   deploy/pg-local.sh status  exit 0 when it is running
#
# It uses the machine's PostgreSQL server binaries (initdb, pg_ctl, postgres).
# The cluster lives in $CITYCODE_DATA_DIR/pg (default .data/pg), listens on
# 127.0.0.1:$CITYCODE_PG_PORT (default 55432, or the next free port) only, and requires a password
# (scram-sha-256) generated at initialisation and kept in $CITYCODE_DATA_DIR/pg.pass.
# PostgreSQL refuses to run as root, so when invoked as root the cluster runs
# as the unprivileged user $CITYCODE_PG_USER (default: postgres if it exists,
# else a system user "citycode" created here).
set -euo pipefail

DATA_DIR=${CITYCODE_DATA_DIR:-.data}
DB=${CITYCODE_PG_DB:-citycode}
ROLE=citycode

log() { echo "pg-local: $*" >&2; }

mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
PGDIR=$DATA_DIR/pg
PASSFILE=$DATA_DIR/pg.pass
PORTFILE=$DATA_DIR/pg.port
# The port: as asked, else the one this cluster used last, else 55432.
PORT=${CITYCODE_PG_PORT:-$(cat "$PORTFILE" 2>/dev/null || echo 55432)}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

find_bindir() {
	local d
	if [ -n "${CITYCODE_PG_BINDIR:-}" ]; then echo "$CITYCODE_PG_BINDIR"; return 0; fi
	# Debian/Ubuntu keep server binaries per major version; take the newest.
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	for d in /usr/pgsql-*/bin /usr/local/pgsql/bin /opt/homebrew/bin /usr/local/bin /usr/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
	return 1
}

install_hint() {
	cat >&2 <<'MSG'
pg-local: no PostgreSQL server binaries (initdb, pg_ctl, postgres) on this machine.
  Debian/Ubuntu:  sudo apt-get install -y postgresql
  Fedora/RHEL:    sudo dnf install -y postgresql-server
  macOS:          brew install postgresql@16
Or point DATABASE_URL at a running server: DATABASE_URL=postgres://user:pass@host:5432/db make run
MSG
}

ensure_binaries() {
	if BINDIR=$(find_bindir); then return 0; fi
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing PostgreSQL server binaries with apt-get"
		# The package's own service is not needed; policy-rc.d keeps it from starting where supported.
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
		BINDIR=$(find_bindir) && return 0
	fi
	install_hint
	exit 3
}

# run_pg CMD... runs a server binary as the cluster's OS user.
run_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PGUSER_OS" -- "$@"
	else
		"$@"
	fi
}

pick_user() {
	PGUSER_OS=$(id -un)
	[ "$(id -u)" = 0 ] || return 0
	PGUSER_OS=${CITYCODE_PG_USER:-}
	if [ -z "$PGUSER_OS" ]; then
		if id postgres >/dev/null 2>&1; then PGUSER_OS=postgres; else PGUSER_OS=citycode; fi
	fi
	if ! id "$PGUSER_OS" >/dev/null 2>&1; then
		log "creating system user $PGUSER_OS to run PostgreSQL (it refuses to run as root)"
		useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS"
	fi
}

# The cluster's user must be able to reach the data directory. Under a
# private home (mode 700) it cannot, so the cluster then lives in /var/tmp
# and .data/pg is a link to it.
place_cluster() {
	[ "$(id -u)" = 0 ] || return 0
	if [ -L "$PGDIR" ]; then PGDIR=$(readlink -f "$PGDIR"); return 0; fi
	if [ -d "$PGDIR" ]; then return 0; fi
	if runuser -u "$PGUSER_OS" -- test -x "$DATA_DIR"; then
		return 0
	fi
	local alt
	alt=/var/tmp/citycode-pg-$(echo -n "$DATA_DIR" | sha256sum | cut -c1-12)
	log "$DATA_DIR is not reachable by $PGUSER_OS; keeping the cluster in $alt (linked from $PGDIR)"
	mkdir -p "$alt"
	chown "$PGUSER_OS" "$alt"
	chmod 700 "$alt"
	ln -s "$alt" "$PGDIR"
	# The server must be given the real path: it cannot pass through $DATA_DIR.
	PGDIR=$alt
}

url() {
	local pass
	pass=$(cat "$PASSFILE")
	echo "postgres://$ROLE:$pass@127.0.0.1:$PORT/$DB?sslmode=disable"
}

running() {
	[ -f "$PGDIR/PG_VERSION" ] && run_pg "$BINDIR/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1
}

start() {
	ensure_binaries
	pick_user
	place_cluster
	if [ ! -f "$PGDIR/PG_VERSION" ]; then
		log "initialising a private cluster in $PGDIR with $BINDIR"
		mkdir -p "$PGDIR"
		umask 077
		head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PASSFILE"
		local pwfile
		pwfile=$(mktemp)
		cp "$PASSFILE" "$pwfile"
		if [ "$(id -u)" = 0 ]; then chown "$PGUSER_OS" "$PGDIR" "$pwfile"; fi
		run_pg "$BINDIR/initdb" -D "$PGDIR" -U "$ROLE" --pwfile="$pwfile" \
			--auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >&2 ||
			run_pg "$BINDIR/initdb" -D "$PGDIR" -U "$ROLE" --pwfile="$pwfile" \
				--auth=scram-sha-256 --encoding=UTF8 --no-locale >&2
		rm -f "$pwfile"
		cat >>"$PGDIR/postgresql.conf" <<CONF
# citycode private cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
fsync = on
CONF
	fi
	if ! running; then
		# Another server (another checkout's cluster, say) may hold the port:
		# move to the next free one unless a port was asked for explicitly.
		if [ -z "${CITYCODE_PG_PORT:-}" ]; then
			local tries=0
			while port_busy "$PORT" && [ $tries -lt 100 ]; do
				PORT=$((PORT + 1))
				tries=$((tries + 1))
			done
		fi
		echo "$PORT" >"$PORTFILE"
		log "starting PostgreSQL on 127.0.0.1:$PORT"
		run_pg "$BINDIR/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -o "-p $PORT" -w -t 60 start >&2 || {
			log "start failed; last log lines:"
			tail -n 20 "$PGDIR/server.log" >&2 || true
			exit 4
		}
	fi
	if ! PGPASSWORD=$(cat "$PASSFILE") "$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname='$DB'" 2>/dev/null | grep -q 1; then
		PGPASSWORD=$(cat "$PASSFILE") "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U "$ROLE" "$DB" >&2
	fi
	echo "DATABASE_URL=$(url)"
}

stop() {
	BINDIR=$(find_bindir) || exit 0
	pick_user
	[ -L "$PGDIR" ] && PGDIR=$(readlink -f "$PGDIR")
	if running; then run_pg "$BINDIR/pg_ctl" -D "$PGDIR" -m fast -w stop >&2; fi
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
url) [ -f "$PASSFILE" ] && url ;;
status)
	BINDIR=$(find_bindir) || exit 1
	pick_user
	[ -L "$PGDIR" ] && PGDIR=$(readlink -f "$PGDIR")
	running
	;;
*)
	echo "usage: $0 start|stop|url|status" >&2
	exit 2
	;;
esac
