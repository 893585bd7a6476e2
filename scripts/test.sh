#!/usr/bin/env bash
# Set everything up and run the whole suite: formatting, lint, types, and every
# test on SQLite and on PostgreSQL (the machine's cluster, started here).
# A skipped test fails the run (TRUSTSVC_TEST_STRICT), so no suite can hide.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export TRUSTSVC_TEST_POSTGRES_URL
TRUSTSVC_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
export TRUSTSVC_TEST_STRICT=1

.venv/bin/ruff format --check trustsvc tests bench
.venv/bin/ruff check trustsvc tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
