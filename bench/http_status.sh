#!/usr/bin/env bash
# HTTP throughput of the hottest read routes, with wrk on 127.0.0.1:
#   GET /public/licenses/{identifier}/status   (no key)
#   GET /v/{token}                             (no key: the page a scanned license QR opens;
#                                               token signature, issuer, library status, HTML)
#   GET /api/v1/verify/token/{token}           (verifier key; signature, issuer, library
#                                               status, and the access record written)
# A fresh home is made in a temporary folder (SQLite, key files, built-in TSA), one license
# issued, and `trustsvc serve --workers N` started; wrk shares the machine's cores with it.
# The public routes' per-address rate limit is off (see below); everything else is as served.
#
#   bash bench/http_status.sh [--seconds 10] [--connections 64] [--workers 2] [--rounds 1]
#                             [--database-url URL]
#
# --rounds N measures the status route and the QR page N times, alternating, and prints the
# page's share of the status route's requests/s per round and their median: on a shared
# machine, load that comes and goes then falls on both routes rather than on one.
#
# --database-url runs the service on that database (for PostgreSQL: an empty database or
# schema of its own, e.g. a fresh schema of the test cluster; see scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10 connections=64 workers=2 rounds=1 database_url=
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --database-url) database_url=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--connections N] [--workers N] [--rounds N] [--database-url URL]" >&2; exit 2 ;;
  esac
done
# The virtual environment to run (another tree may run this one's with PYTHONPATH set).
venv=${TRUSTSVC_VENV:-.venv}
command -v wrk >/dev/null || { echo "bench: wrk is needed (apt-get install wrk)" >&2; exit 1; }

work=$(mktemp -d)
port=$("$venv"/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export TRUSTSVC_HOME=$work/home TRUSTSVC_PUBLIC_BASE_URL=http://127.0.0.1:$port
export TRUSTSVC_KEY_PASSPHRASE=bench-$RANDOM-$RANDOM
if [ -n "$database_url" ]; then export TRUSTSVC_DATABASE_URL=$database_url; fi
# Every request comes from 127.0.0.1, so the per-address limit of the public routes
# (600 a minute by default) is turned off here; a deployment keeps it on.
export TRUSTSVC_PUBLIC_RATE_LIMIT_PER_MINUTE=0
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$venv"/bin/python - "$work" <<'PY'
import sys
from pathlib import Path

from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.sharing.clients import add_client
from trustsvc.sharing.purposes import add_purpose
from trustsvc.settings import load_settings
from trustsvc.departments.registry import add_department
from trustsvc.codes.identifiers import credit_code_check_character
from trustsvc.bootstrap import build_licenses
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.bootstrap import initialise_home, open_services

work = Path(sys.argv[1])
settings = load_settings()
initialise_home(settings)
services = open_services(settings)
code = "11330100MB0000001" + credit_code_check_character("11330100MB0000001")
add_department(services, "杭州市市场监督管理局", code, "330100")
licenses = build_licenses(services)
data = example_data(get_type(licenses.types, "business-license"))
view = licenses.issue(IssueRequest(code, "business-license", data)).license
[link] = read_qr_codes(licenses.document(view.identifier))  # as a phone would
token = link.rsplit("/", 1)[1]
add_purpose(services, "核验", ["business-license"])
_info, key = add_client(
    services, "bench", "verifier", purposes=["核验"], rate_limit_per_minute=1_000_000
)
(work / "identifier").write_text(view.identifier)
(work / "token").write_text(token)
(work / "key").write_text(key.secret)
services.close()
PY

"$venv"/bin/trustsvc serve --port "$port" --workers "$workers" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 300); do  # up to a minute: a busy machine starts the workers slowly
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/serve.log" >&2; exit 1; }

run() {  # name, then wrk's arguments
  local name=$1; shift
  wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" >"$work/wrk.txt"
  local rps p99 errors
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
  printf '%-28s %10s req/s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$p99" "${errors:-0}"
  last_rps=$rps
}

base=http://127.0.0.1:$port
echo "trustsvc serve --workers $workers on $([ -n "$database_url" ] && echo PostgreSQL || echo SQLite); wrk -t2 -c$connections -d${seconds}s on $(nproc) cores"
# Warm every route first, on both workers, before anything is measured: readyz answers
# as soon as one worker is up, and a route measured while the other still starts (or
# before its caches are warm) would be measured short.
status="$base/public/licenses/$(cat "$work/identifier")/status"
page="$base/v/$(cat "$work/token")"
verify="$base/api/v1/verify/token/$(cat "$work/token")"
key=(-H "Authorization: Bearer $(cat "$work/key")")
for url in "$status" "$page"; do wrk -t2 -c16 -d3s "$url" >/dev/null; done
wrk -t2 -c16 -d3s "${key[@]}" "$verify" >/dev/null
shares=()
for _ in $(seq "$rounds"); do
  run "public status" "$status"
  status_rps=$last_rps
  run "public QR page" "$page"
  shares+=("$(awk -v p="$last_rps" -v s="$status_rps" 'BEGIN {printf "%.0f", 100 * p / s}')")
done
if [ "$rounds" -gt 1 ]; then
  median=$(printf '%s\n' "${shares[@]}" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
  echo "QR page / status per round: ${shares[*]} % (median $median %)"
fi
run "token verification" "${key[@]}" "$verify"
