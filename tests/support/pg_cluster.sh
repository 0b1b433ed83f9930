#!/bin/sh
# A throw-away PostgreSQL cluster for the tests: `pg_cluster.sh start DIR [durable]` creates one in DIR
# (data in DIR/data, the server's socket in DIR, no TCP listener) and starts it; `pg_cluster.sh stop DIR` stops it
# and removes DIR. ctest runs them as the fixture every test requires (tests/CMakeLists.txt, the tests
# find DIR in ZKPUSH_TEST_PG); a test binary run on its own calls this script itself
# (tests/support/postgres_cluster.cpp). Debian's postgresql package provides the server binaries.
#
# PostgreSQL refuses to run as root: as root, the cluster runs as the postgres user the package created.
# It runs without fsync: these tests kill zkpush processes, never the database server. `durable` keeps
# PostgreSQL's defaults (fsync, full-page writes): `make bench` compares durable ingest on it.
set -eu
cmd=${1:?start or stop}
dir=${2:?the cluster folder}
settings="-c fsync=off -c full_page_writes=off"
[ "${3:-}" = durable ] && settings=""
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "pg_cluster: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  if [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -A trust -U zkpush --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -c listen_addresses='' $settings -c max_connections=300" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "pg_cluster: PostgreSQL running in $dir"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg_cluster.sh start|stop DIR" >&2
  exit 2
  ;;
esac
