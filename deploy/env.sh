#!/usr/bin/env bash
# env.sh — prints `export` lines giving DATABASE_URL (and REDIS_URL when a
# Redis can be had) for make run and make test:
#
#   eval "$(deploy/env.sh)"
#
# DATABASE_URL: kept when set and reachable; otherwise the private cluster of
# deploy/pg-local.sh is started (and initialised on first use).
# REDIS_URL (only with --redis): kept when set; else a Redis answering on
# 127.0.0.1:6379 is used; else a private redis-server is started on port
# $CITYCODE_REDIS_PORT (default 56379) when the binary exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DATA_DIR=${CITYCODE_DATA_DIR:-.data}
mkdir -p "$DATA_DIR"

reachable_pg() {
	local isready
	isready=$(command -v pg_isready || ls /usr/lib/postgresql/*/bin/pg_isready 2>/dev/null | tail -n1 || true)
	[ -n "$isready" ] || return 0 # cannot tell: trust the configuration
	"$isready" -q -t 3 -d "$1"
}

if [ -n "${DATABASE_URL:-}" ] && reachable_pg "$DATABASE_URL"; then
	echo "export DATABASE_URL='$DATABASE_URL'"
else
	[ -n "${DATABASE_URL:-}" ] && echo "env: DATABASE_URL is not reachable; using the private cluster" >&2
	line=$("$here/pg-local.sh" start | tail -n1)
	echo "export DATABASE_URL='${line#DATABASE_URL=}'"
fi

if [ "${1:-}" = "--redis" ]; then
	if [ -n "${REDIS_URL:-}" ]; then
		echo "export REDIS_URL='$REDIS_URL'"
	elif command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; then
		echo "export REDIS_URL='redis://127.0.0.1:6379/0'"
	elif command -v redis-server >/dev/null 2>&1; then
		port=${CITYCODE_REDIS_PORT:-56379}
		if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != PONG ]; then
			echo "env: starting a private redis-server on 127.0.0.1:$port" >&2
			redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
				--dir "$(cd "$DATA_DIR" && pwd)" --logfile "$(cd "$DATA_DIR" && pwd)/redis.log" >&2
			for _ in $(seq 50); do
				[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
				sleep 0.1
			done
		fi
		echo "export REDIS_URL='redis://127.0.0.1:$port/0'"
	else
		echo "env: no Redis (install redis-server, or set REDIS_URL); Redis-backed tests will fail" >&2
	fi
fi
