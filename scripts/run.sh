#!/usr/bin/env bash
# Set everything up and run the service on its embedded defaults: SQLite and
# key files in ./var, the built-in timestamp authority, http://127.0.0.1:8000.
# A fresh ./var is initialised on first start. Extra arguments go to
# `trustsvc serve` (for example --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/trustsvc serve "$@"
