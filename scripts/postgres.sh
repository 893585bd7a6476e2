#!/usr/bin/env bash
# Start the machine's PostgreSQL cluster (installing PostgreSQL where it is
# missing), make a role and a database for the test suite, and print its URL.
# Safe to run again: everything it makes is made only when missing.
set -euo pipefail

db=${TRUSTSVC_TEST_DB:-trustsvc_test}
role=trustsvc_test
password=trustsvc_test_only   # a throwaway role on a loopback-only cluster

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "installing PostgreSQL" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
if [ -z "${version:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  as_root pg_createcluster "$version" main >&2
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$status" != online ]; then
  as_root pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 50); do
  as_root su postgres -c "pg_isready -q -p $port" && break
  sleep 0.2
done
psql_admin() { as_root su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qAtc \"$1\""; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='$role'")" != 1 ]; then
  psql_admin "CREATE ROLE $role LOGIN PASSWORD '$password'" >&2
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
  psql_admin "CREATE DATABASE $db OWNER $role" >&2
fi
echo "postgresql+psycopg://$role:$password@127.0.0.1:$port/$db"
