#!/usr/bin/env bash
# Test-only: a PostgreSQL server on 127.0.0.1:5432 with a role `ser` (password
# `ser-test`) owning the database `ser_test`, for the PostgreSQL profile store's
# tests (they skip, saying why, when it is not there). Safe to run twice.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
command -v pg_ctlcluster >/dev/null || $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters -h | grep -q "^$version main" || $sudo pg_createcluster "$version" main >/dev/null
pg_lsclusters -h | grep -q "^$version main .* online" || $sudo pg_ctlcluster "$version" main start
as_postgres psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'ser'" | grep -q 1 \
    || as_postgres psql -qc "CREATE ROLE ser LOGIN PASSWORD 'ser-test'"
as_postgres psql -qtAc "SELECT 1 FROM pg_database WHERE datname = 'ser_test'" | grep -q 1 \
    || as_postgres createdb -O ser ser_test
echo "postgres: postgres://ser:ser-test@127.0.0.1:5432/ser_test"
