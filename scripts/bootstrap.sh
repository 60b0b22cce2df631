#!/usr/bin/env bash
# Install what Arrears needs on a fresh Debian machine: system packages (when root,
# otherwise a message naming them) and the Python dependencies from the lock, into .venv.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei fonts-noto-cjk)
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "Arrears needs Python 3.11 (found: $("$PYTHON" --version 2>&1)). Install python3.11 and python3.11-venv." >&2
  exit 1
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages (PDF letters need them): ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -m uv --version >/dev/null 2>&1; then
  .venv/bin/python -m pip install -q "uv==0.13.9"
fi
# exactly the locked versions (requirements.lock is compiled from pyproject.toml by uv)
.venv/bin/python -m uv pip sync -q --python .venv/bin/python requirements.lock
.venv/bin/python -m uv pip install -q --python .venv/bin/python --no-deps -e .
# Bytecode once, here: uv installs none, and where PYTHONDONTWRITEBYTECODE is set (CI images
# often do) every process — each Prefect server, worker and spawned pool process — would
# otherwise compile Prefect, SQLAlchemy and WeasyPrint from source at every start (~10 s each).
.venv/bin/python -m compileall -q -j 0 .venv/lib/python3.11/site-packages arrears flows tasks models tests bench >/dev/null || true
echo "environment ready: .venv ($(.venv/bin/python --version))"
