#!/usr/bin/env bash
# The README's second command: install what is missing, lint, type-check the domain
# core, and run the whole test suite on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
# PostgreSQL tests run when ARREARS_TEST_POSTGRES_URL (default: the local server's `test`
# database) is reachable; CI sets ARREARS_REQUIRE_POSTGRES=1 so a missing server fails.
.venv/bin/ruff check arrears flows tasks models tests bench
.venv/bin/mypy
# Two pytest workers (ARREARS_TEST_WORKERS): most tests wait on a Prefect server, a database
# or a subprocess, so two share the machine's cores well; each worker starts its own harness.
exec .venv/bin/python -m pytest -n "${ARREARS_TEST_WORKERS:-2}" --dist loadgroup "$@"
