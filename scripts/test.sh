#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then runs lint, types and tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the dashboard's browser tests (never a downloaded browser).
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ((${#need[@]})); then
  echo "==> apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The services the tests use: PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! (redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi

echo "==> pip install -e .[test]"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e ".[test]"

echo "==> ruff"
python3 -m ruff check .
python3 -m ruff format --check .
echo "==> mypy"
python3 -m mypy
echo "==> import layers (lint-imports)"
lint-imports --no-cache
echo "==> TypeScript SDK (npm ci, type-check, build, node --test)"
PROMPTOPS_PYTHON=python3 bash sdks/typescript/scripts/ci.sh
echo "==> pytest"
# One worker per core (pytest-xdist); each worker has its own PostgreSQL database, SQLite
# files, ports and temp dirs (tests/conftest.py). `-n 0` after the script runs it serially.
python3 -m pytest -q -p no:cacheprovider -n auto --dist loadgroup "$@"
