#!/usr/bin/env bash
# bench.sh — what `make bench` does after the Go micro-benchmarks: start a
# host on the private (or configured) PostgreSQL, register a demo app, and
# drive the host with citycode-load from a separate process over keep-alive
# connections. Prints throughput and latency percentiles per endpoint.
#
#   BENCH_DURATION=20s BENCH_WORKERS=64 deploy/bench.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
bin=bin/citycode
load=bin/citycode-load
duration=${BENCH_DURATION:-15s}
workers=${BENCH_WORKERS:-64}
port=${BENCH_PORT:-18765}

envs=$("$here/env.sh") || exit 1
eval "$envs"
export CITYCODE_HTTP_ADDR=127.0.0.1:$port CITYCODE_LOG_LEVEL=warn
"$bin" serve >/dev/null 2>.data/bench-host.log &
host=$!
trap 'kill $host 2>/dev/null; wait $host 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
demo=$("$bin" demo --json)
app=$(echo "$demo" | sed -n 's/.*"cityCodeAppId": "\(.*\)".*/\1/p')
secret=$(echo "$demo" | sed -n 's/.*"appSecret": "\(.*\)".*/\1/p')
identity=$(echo "$demo" | sed -n 's/.*"identity": "\(.*\)".*/\1/p')
object=$(echo "$demo" | sed -n 's/.*"object": "\(.*\)".*/\1/p')
common=(-url "http://127.0.0.1:$port" -app "$app" -secret "$secret" -c "$workers" -d "$duration")

echo "== signed open API, host and load generator on the same $(nproc) cores"
"$load" "${common[@]}" -path /api/getAppInfo
echo "== decode of dynamic personal codes (signature + SM2 code verification + holder look-up + committed event)"
"$load" "${common[@]}" -scenario decode -codedef "$identity"
echo "== show of personal codes (SM2 signing + committed event)"
"$load" "${common[@]}" -scenario show -codedef "$identity"
echo "== batch pre-issue of empty object codes (tokens, unified numbers, indexes, one transaction)"
"$load" -url "http://127.0.0.1:$port" -app "$app" -secret "$secret" -scenario preissue -codedef "$object" -count "${BENCH_PREISSUE:-1000000}"
