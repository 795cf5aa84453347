#!/usr/bin/env bash
# bench-ab.sh — compare the end-to-end decode throughput of two builds on
# the same machine, alternating them, because a shared machine's speed
# drifts by more than most changes to the code:
#
#   deploy/bench-ab.sh 566fe82            # that revision against the working tree
#   AB_ROUNDS=3 AB_ARGS="-path /api/getAppInfo" deploy/bench-ab.sh HEAD~1
#
# Each round starts a fresh host of each build on the private (or
# configured) PostgreSQL, seeds the demo app and drives it with that
# build's citycode-load (AB_ARGS, default the decode scenario).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
rev=${1:?usage: deploy/bench-ab.sh REVISION}
rounds=${AB_ROUNDS:-2}
duration=${AB_DURATION:-10s}
port=${AB_PORT:-18797}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add -q --detach "$work/src" "$rev"
(cd "$work/src" && go build -o "$work/a-citycode" ./host/cmd/citycode && go build -o "$work/a-load" ./host/cmd/citycode-load)
go build -o "$work/b-citycode" ./host/cmd/citycode
go build -o "$work/b-load" ./host/cmd/citycode-load

envs=$("$here/env.sh") || exit 1
eval "$envs"
export CITYCODE_HTTP_ADDR=127.0.0.1:$port CITYCODE_LOG_LEVEL=warn

run() { # run BUILD: one measurement of build a or b
	"$work/$1-citycode" serve >/dev/null 2>"$work/$1-host.log" &
	local host=$!
	for _ in $(seq 100); do
		curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	local demo app secret identity
	demo=$("$work/$1-citycode" demo --json)
	app=$(echo "$demo" | sed -n 's/.*"cityCodeAppId": "\(.*\)".*/\1/p')
	secret=$(echo "$demo" | sed -n 's/.*"appSecret": "\(.*\)".*/\1/p')
	identity=$(echo "$demo" | sed -n 's/.*"identity": "\(.*\)".*/\1/p')
	# shellcheck disable=SC2086
	"$work/$1-load" -url "http://127.0.0.1:$port" -app "$app" -secret "$secret" -c 64 -d "$duration" \
		${AB_ARGS:--scenario decode -codedef $identity} | sed -n 's/^ *throughput/throughput/p'
	kill $host
	wait $host 2>/dev/null || true
}

for i in $(seq "$rounds"); do
	echo "round $i  $rev:    $(run a)"
	echo "round $i  working: $(run b)"
done
