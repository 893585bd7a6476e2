#!/usr/bin/env bash
# Set everything up and run the whole suite: formatting, lint, types, and every
# test on SQLite and on PostgreSQL (the machine's cluster, started here).
# A skipped test fails the run (TRUSTSVC_TEST_STRICT), so no suite can hide.
# TRUSTSVC_TEST_WORKERS: how many pytest processes (default 2; 0 runs in this one).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

export TRUSTSVC_TEST_POSTGRES_URL
TRUSTSVC_TEST_POSTGRES_URL=$(bash scripts/postgres.sh)
export TRUSTSVC_TEST_STRICT=1

.venv/bin/ruff format --check trustsvc tests bench
.venv/bin/ruff check trustsvc tests bench
.venv/bin/mypy
# The package's layers (import-linter contracts in pyproject.toml).
.venv/bin/lint-imports
# Both cores (pytest-xdist): each worker makes its own template homes and PostgreSQL
# schemas (tests/homes.py) and its own port (tests/conftest.py). Work stealing keeps the
# two busy to the end though a few tests (the OpenAPI fuzzing) take far longer than most.
.venv/bin/python -m pytest -n "${TRUSTSVC_TEST_WORKERS:-2}" --dist worksteal "$@"
