#!/usr/bin/env bash
# Create the process work pool the deployments in prefect.yaml run on (idempotent).
# Uses the Prefect API in PREFECT_API_URL (e.g. http://127.0.0.1:4200/api).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PREFECT_API_URL:?set PREFECT_API_URL to your Prefect server, e.g. http://127.0.0.1:4200/api}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
if ! .venv/bin/prefect work-pool inspect arrears-process >/dev/null 2>&1; then
  .venv/bin/prefect work-pool create arrears-process --type process
fi
echo "work pool arrears-process ready on $PREFECT_API_URL"
