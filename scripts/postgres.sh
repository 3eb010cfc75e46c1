#!/usr/bin/env bash
# Start a private PostgreSQL server (Debian's packages) for the store tests and print its URL.
#   eval "$(bash scripts/postgres.sh)"   → exports CREDLINK_TEST_POSTGRES_URL
# Installs the `postgresql` package when missing (needs root, as on CI). The cluster lives in
# $CREDLINK_PGDATA (default /tmp/credlink-pg) on port $CREDLINK_PGPORT (default 55432), trust
# authentication on 127.0.0.1 only; it is reused if already running.
set -euo pipefail
port=${CREDLINK_PGPORT:-55432}
data=${CREDLINK_PGDATA:-/tmp/credlink-pg}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(find_bin)
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not installed and this is not root: apt-get install postgresql" >&2
    exit 1
  fi
  echo "installing PostgreSQL from Debian's packages …" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  if [ ! -s "$data/PG_VERSION" ]; then
    rm -rf "$data"
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$data"
    as_pg "$bin/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >&2
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
fi
echo "export CREDLINK_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
