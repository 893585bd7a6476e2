#!/usr/bin/env bash
# Set everything up and run the service on its embedded defaults: SQLite and
# key files in ./var, the built-in timestamp authority, http://127.0.0.1:8000.
# A fresh ./var is initialised on first start. Extra arguments go to
# `trustsvc serve` (for example --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The development sign-in lets anyone who reaches /auth/sign-in sign in as any holder.
# The service keeps it off unless told; this development script turns it on, and says so.
# It stays off when production mode is asked for (which refuses it) or it was set already.
case "${TRUSTSVC_PRODUCTION:-false}" in
  1 | [Tt]rue | [Yy]es | [Oo]n) ;;
  *)
    if [ -z "${TRUSTSVC_DEVELOPMENT_SIGN_IN:-}" ]; then
      export TRUSTSVC_DEVELOPMENT_SIGN_IN=true
      echo "run.sh: TRUSTSVC_DEVELOPMENT_SIGN_IN=true: the development sign-in is on" \
        "(anyone who can reach /auth/sign-in signs in as any holder; set it to false to" \
        "turn it off)" >&2
    fi
    ;;
esac
exec .venv/bin/trustsvc serve "$@"
