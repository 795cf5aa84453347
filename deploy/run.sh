#!/usr/bin/env bash
# run.sh BINARY — what `make run` does: find or start PostgreSQL, then serve.
set -euo pipefail
bin=${1:-bin/citycode}
here=$(cd "$(dirname "$0")" && pwd)
envs=$("$here/env.sh") || exit 1
eval "$envs"
exec "$bin" serve "${@:2}"
