#!/usr/bin/env bash
# run.sh BINARY — what `make run` does: find or start PostgreSQL, then serve.
set -euo pipefail
bin=${1:-bin/citycode}
here=$(cd "$(dirname "$0")" && pwd)
eval "$("$here/env.sh")"
exec "$bin" serve "${@:2}"
