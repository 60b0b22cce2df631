#!/usr/bin/env bash
# The README's first command: install everything, then run the demo on the embedded
# default (SQLite file under ./var, Prefect's local server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false
exec .venv/bin/arrears demo "$@"
