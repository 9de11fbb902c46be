#!/bin/bash
# A throwaway PostgreSQL + PostGIS cluster for the tests of the PostGIS monitoring store.
#   scripts/pg_test_cluster.sh start   -> prints "<data dir> <dsn>" (cluster running, trust auth)
#   scripts/pg_test_cluster.sh stop <data dir>   -> stops it and removes the directory
# Runs the server as the 'postgres' user in a private temp directory on a free port from
# 55432 up, so parallel runs and an installed system cluster are left alone.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

case "${1:-}" in
start)
  [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql-15 postgresql-15-postgis-3)" >&2; exit 1; }
  dir=$(mktemp -d /tmp/kommunalmonitor-pg.XXXXXX)
  chown postgres "$dir"; chmod 700 "$dir"
  as_postgres "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
  port=55432
  while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ -e "/tmp/.s.PGSQL.$port" ]; do port=$((port + 1)); done
  as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
    || { cat "$dir/server.log" >&2; rm -rf "$dir"; exit 1; }
  as_postgres "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE kommunalmonitor_test" >/dev/null
  as_postgres "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d kommunalmonitor_test -c "CREATE EXTENSION postgis" >/dev/null \
    || { "$0" stop "$dir"; exit 1; }
  echo "$dir host=127.0.0.1 port=$port dbname=kommunalmonitor_test user=postgres"
  ;;
stop)
  dir=${2:?data directory}
  case "$dir" in /tmp/kommunalmonitor-pg.*) ;; *) echo "refusing to remove $dir" >&2; exit 1;; esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start | stop <data dir>" >&2; exit 2;;
esac
