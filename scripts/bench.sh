#!/usr/bin/env bash
# `make bench`: builds a release zkpush, measures it on loopback against fresh data folders, and
# prints a table that is also written to docs/benchmarks.md (machine, date, commit, commands).
#
#   a. devices held: `zkpush simulate` with BENCH_DEVICES devices polling every 5 s
#   b. request throughput: wrk on ping, getrequest (empty / with commands) and rtlog, the same wrk
#      runs against nginx answering "OK" on the same routes (the ceiling)
#   c. durable rtlog ingest from 1,000 devices (simulate, and wrk with distinct events), the
#      database counted afterwards
#   d. raw SQLite ceiling: the same rows, schema and PRAGMAs, batched (bench/sqlite_ceiling.cpp)
#   d2. event queries (GET /api/v1/events' listings) over BENCH_QUERY_EVENTS (1,000,000) stored
#      events: p50/p99 by device, person, time range (bench/event_queries.cpp)
#   e. sync: BENCH_SYNC_PERSONS (10,000) persons imported with a card and one access level holding
#      door 1 of BENCH_SYNC_PANELS (50) emulated panels, until every panel has them all (bench/sync.py)
#   f. integrations: c's wrk ingest with a webhook (nginx receiver) and MQTT (Mosquitto), then the
#      webhook catching up alone; BENCH_SSE_CLIENTS (200) event streams while simulate offers
#      BENCH_SSE_RATE (1,000) swipes/s (bench/integrations.py)
#   g. remote identification: BENCH_AUTH_RATE (1,000) requests/s from BENCH_AUTH_PANELS (10)
#      emulated panels asking about the cards of BENCH_AUTH_PERSONS (10,000) persons (and 10 %
#      strangers): the panels' p50/p99 from asking to the decision (simulate --remote-auth)
#
#   p. PostgreSQL (docs/scaling.md), on a durable throw-away cluster (tests/support/pg_cluster.sh):
#      c's durable ingest with --store postgres:// (simulate, and wrk 1 event per request), beside raw
#      PostgreSQL inserting the same rows into the same schema (pgbench, 1 / 100 / 2048 rows per
#      commit, synchronous_commit on), then simulate's devices split over two nodes on one database
#
# BENCH_STEPS="g" (a space-separated list of a b c d d2 e f g p; default all) runs only those steps
# (a figure re-measured alone; with BENCH_NO_DOC=1 the table in docs/benchmarks.md is left alone).
# BENCH_QUICK=1: a ~2-minute smoke with small numbers. BENCH_DEVICES, BENCH_HOLD_SECONDS,
# BENCH_WRK_SECONDS, BENCH_INGEST_SECONDS, BENCH_INGEST_RATE override the sizes. BENCH_KEEP=1 keeps
# the work folder (logs, raw JSON). BENCH_NO_DOC=1 leaves docs/benchmarks.md alone.
# Timings are figures to read, never assertions: nothing here fails on a missed target.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-release}
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DEVICES=${BENCH_DEVICES:-1000}; HOLD=${BENCH_HOLD_SECONDS:-15}; WRK_SECONDS=${BENCH_WRK_SECONDS:-3}
  INGEST_SECONDS=${BENCH_INGEST_SECONDS:-8}; CEILING_SECONDS=2
  QUERY_EVENTS=${BENCH_QUERY_EVENTS:-100000}
  BENCH_SYNC_PERSONS=${BENCH_SYNC_PERSONS:-1000}; BENCH_SYNC_PANELS=${BENCH_SYNC_PANELS:-10}
else
  DEVICES=${BENCH_DEVICES:-10000}; HOLD=${BENCH_HOLD_SECONDS:-60}; WRK_SECONDS=${BENCH_WRK_SECONDS:-10}
  INGEST_SECONDS=${BENCH_INGEST_SECONDS:-30}; CEILING_SECONDS=5
  QUERY_EVENTS=${BENCH_QUERY_EVENTS:-1000000}
fi
INGEST_DEVICES=1000
SYNC_PANELS=${BENCH_SYNC_PANELS:-50}
SYNC_PERSONS=${BENCH_SYNC_PERSONS:-10000}
SYNC_POLL=1                               # the emulated panels' poll interval in the sync step (s)
SYNC_TIMEOUT=${BENCH_SYNC_TIMEOUT:-300}
INGEST_RATE=${BENCH_INGEST_RATE:-30000}   # offered swipes/s, above the 20,000 target
POLL_INTERVAL=5
WRK_DEVICES=100                           # devices registered for the wrk runs
WRK_CONNECTIONS=${BENCH_WRK_CONNECTIONS:-100}
WRK_THREADS=2                             # wrk and the server share the 2 cores
WRK_COMMAND="DATA COUNT user"             # queued for "getrequest with commands"
API_TOKEN=bench-$$-$RANDOM
JOBS=2

STEPS=" ${BENCH_STEPS:-a b c d d2 e f g p} "
step() { [[ "$STEPS" == *" $1 "* ]]; }

log() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- dependencies and the release build ----------------------------------------------------------
bash "$ROOT/scripts/install-deps.sh" bench
command -v wrk >/dev/null || die "wrk is missing (scripts/install-deps.sh bench)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is missing (scripts/install-deps.sh bench)"

# -O2: g++ 12 at -O3 reports a false -Wrestrict in std::string (GCC bug 105329), fatal under
# -Werror. -g: symbols for perf when a figure needs explaining; it does not change the code.
log "release build in $BUILD"
# Noted into the work folder's commands.txt once it exists (below).
BUILD_COMMANDS=(
  "bash scripts/install-deps.sh bench"
  "cmake -S . -B ${BUILD#$ROOT/} -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ '-DCMAKE_CXX_FLAGS_RELEASE=-O2 -g -DNDEBUG' -DZKPUSH_TESTS=OFF -DZKPUSH_BENCH=ON"
  "cmake --build ${BUILD#$ROOT/} --target zkpush zkpush_sqlite_ceiling zkpush_event_queries -j$JOBS"
)
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -g -DNDEBUG" -DZKPUSH_TESTS=OFF -DZKPUSH_BENCH=ON >/dev/null
cmake --build "$BUILD" --target zkpush zkpush_sqlite_ceiling zkpush_event_queries -j"$JOBS"
ZK="$BUILD/zkpush"
CEILING="$BUILD/bench/zkpush_sqlite_ceiling"
EVENT_QUERIES="$BUILD/bench/zkpush_event_queries"
WRKDIR="$ROOT/bench/wrk"

# --- work folder, processes we started, cleanup ----------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkpush-bench.XXXXXX")
SERVER_PID=""; NGINX_PID=""; SAMPLERS=(); SAMPLE_PIDS=""; PG_DIR=""; NODE2_PID=""
cleanup() {
  local p
  [ -n "$NODE2_PID" ] && kill "$NODE2_PID" 2>/dev/null && wait "$NODE2_PID" 2>/dev/null || true
  [ -n "$PG_DIR" ] && bash "$ROOT/tests/support/pg_cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  for p in "${SAMPLERS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true   # one descriptor per emulated device, both sides
printf '%s\n' "${BUILD_COMMANDS[@]}" >"$WORK/commands.txt"
# Records a command as it is run (paths shortened) for docs/benchmarks.md.
note() {
  local a line=""
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then line+="$a "; else line+="'$a' "; fi
  done
  printf '%s\n' "${line% }" | sed -e "s#$WORK#\$WORK#g" -e "s#$ROOT/##g" >>"$WORK/commands.txt"
}
run() { note "$@"; "$@"; }
# run_bg OUT ERR cmd...: in the background, BG_PID = the program itself (not a subshell), so that
# it is what gets sampled and signalled.
run_bg() {
  local out=$1 err=$2; shift 2
  note "$@"
  "$@" >"$out" 2>"$err" &
  BG_PID=$!
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Samples a process's RSS (VmRSS, VmHWM), CPU ticks (utime+stime) and the time its threads spent
# runnable but waiting for a CPU (schedstat, ns: how much a busy machine held it back) every 0.5 s.
sample() {
  local pid=$1 out=$2
  while [ -r "/proc/$pid/stat" ]; do
    local rss hwm ticks wait
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
    ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || break
    wait=$(cat "/proc/$pid"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f", s}')
    [ -n "$rss" ] && echo "$(date +%s.%N) $rss $hwm $ticks ${wait:-0}"
    sleep 0.5
  done >>"$out"
}
start_sampler() { sample "$1" "$2" & SAMPLERS+=($!); }
stop_samplers() {
  local p
  for p in "${SAMPLERS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SAMPLERS=()
}

# Starts `zkpush serve` on a free loopback port with a fresh data folder; sets PORT, DATA, URL.
start_server() {
  local name=$1; shift
  PORT=$(free_port)
  DATA=$(mktemp -d "$WORK/data-$name.XXXX")
  URL="http://127.0.0.1:$PORT"
  run_bg "$WORK/server-$name.log" "$WORK/server-$name.err" \
    "$ZK" serve --listen "127.0.0.1:$PORT" --data "$DATA" --api-token "$API_TOKEN" "$@"
  SERVER_PID=$BG_PID
  SAMPLE_PIDS=$SERVER_PID
  local i
  for i in $(seq 1 300); do
    if curl -sf "$URL/healthz" >/dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server-$name".* >&2; die "zkpush serve exited at start"; }
    sleep 0.1
  done
  die "zkpush serve did not answer /healthz within 30 s"
}
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  curl -sf "$URL/metrics" >"$WORK/metrics-$1.txt" 2>/dev/null || true
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  SAMPLE_PIDS=""
}

# Registers N devices with a short simulate run (init, registry, push), so that wrk may poll them.
# register_devices PREFIX N [SECONDS]: the run's length (3 s) bounds how long registering may take
# (simulate fails when a device is not online by its end); PostgreSQL's registrations, several round
# trips each, need longer for 1,000 devices.
register_devices() {
  local prefix=$1 n=$2 seconds=${3:-3}
  run "$ZK" simulate --server "$URL" --devices "$n" --sn-prefix "$prefix" --ramp 1000 --duration "$seconds" --json \
    >"$WORK/register-$prefix.json" 2>"$WORK/register-$prefix.err" || die "registering $n devices failed"
}

# wrk with a script; the BENCH_JSON line of its done() goes to <out>.json, its text to <out>.txt.
run_wrk() {
  local out=$1 url=$2 seconds=$3 script=$4; shift 4
  run_bg "$WORK/$out.txt" "$WORK/$out.err" \
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${seconds}s" --latency -s "$WRKDIR/$script" "$url" -- "$@"
  local pid=$BG_PID
  start_sampler "$pid" "$WORK/$out.client.samples"
  # The server, or nginx's workers (its master only forks them): one sample file each.
  local p i=0
  for p in $SAMPLE_PIDS; do start_sampler "$p" "$WORK/$out.server.samples.$((i++))"; done
  wait "$pid" || die "wrk failed: $(tail -5 "$WORK/$out.txt" "$WORK/$out.err")"
  stop_samplers
  grep '^BENCH_JSON ' "$WORK/$out.txt" | sed 's/^BENCH_JSON //' >"$WORK/$out.json"
}

sql() { note sqlite3 -readonly "${1/#$DATA/\$DATA}" "$2"; sqlite3 -readonly "$1" "$2"; }

# --- a. devices held ---------------------------------------------------------------------------------
if step a; then
log "a. $DEVICES devices polling every ${POLL_INTERVAL}s for ${HOLD}s"
start_server hold
run_bg "$WORK/hold.json" "$WORK/hold.err" \
  "$ZK" simulate --server "$URL" --devices "$DEVICES" --poll-interval "$POLL_INTERVAL" --duration "$HOLD" --ramp 1000 --json
SIM=$BG_PID
start_sampler "$SERVER_PID" "$WORK/hold.server.samples"
start_sampler "$SIM" "$WORK/hold.client.samples"
wait "$SIM" || log "simulate exited non-zero (not every device registered): see the table"
stop_samplers
stop_server hold
fi

# --- b. request throughput, zkpush then nginx on the same routes -------------------------------------
if step b; then
log "b. request throughput (wrk -c$WRK_CONNECTIONS, ${WRK_SECONDS}s per route)"
start_server wrk --max-commands 1 --resend-after 86400
register_devices WRK "$WRK_DEVICES"
run_wrk zk-ping "$URL" "$WRK_SECONDS" device_get.lua ping WRK "$WRK_DEVICES"
run_wrk zk-getrequest "$URL" "$WRK_SECONDS" device_get.lua getrequest WRK "$WRK_DEVICES"
run_wrk zk-rtlog "$URL" "$WRK_SECONDS" rtlog.lua WRK "$WRK_DEVICES" 1 "$WRK_THREADS"
# Commands queued through the API (itself a durable write per command), one delivered per poll.
run_wrk zk-enqueue "$URL" "$WRK_SECONDS" enqueue.lua "$API_TOKEN" WRK "$WRK_DEVICES" "$WRK_COMMAND"
run_wrk zk-getrequest-cmd "$URL" "$WRK_SECONDS" device_get.lua getrequest WRK "$WRK_DEVICES"
stop_server wrk
sql "$DATA/zkpush.db" "SELECT count(*) FROM commands" >"$WORK/commands-queued.txt"
sql "$DATA/zkpush.db" "SELECT count(*) FROM commands WHERE status = 'sent'" >"$WORK/commands-sent.txt"
sql "$DATA/zkpush.db" "SELECT count(*) FROM events" >"$WORK/wrk-events-stored.txt"

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
# The ceiling: nginx answering "OK" on the device routes, as many workers as cores.
worker_processes $(nproc);
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/body;
  client_body_buffer_size 64k;
  default_type text/plain;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /iclock/ping { return 200 "OK"; }
    location = /iclock/getrequest { return 200 "OK"; }
    location = /iclock/cdata { return 200 "OK"; }
  }
}
EOF
run_bg "$WORK/nginx/stdout.log" "$WORK/nginx/stderr.log" \
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
NGINX_PID=$BG_PID
for i in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$NGINX_PORT/iclock/ping?SN=x" >/dev/null 2>&1 && break
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$WORK/nginx/stderr.log" "$WORK/nginx/error.log" 2>/dev/null)"
  sleep 0.1
done
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
SAMPLE_PIDS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
# Only the client is sampled here: nginx's work is spread over its worker processes.
run_wrk nginx-ping "$NGINX_URL" "$WRK_SECONDS" device_get.lua ping WRK "$WRK_DEVICES"
run_wrk nginx-getrequest "$NGINX_URL" "$WRK_SECONDS" device_get.lua getrequest WRK "$WRK_DEVICES"
run_wrk nginx-rtlog "$NGINX_URL" "$WRK_SECONDS" rtlog.lua WRK "$WRK_DEVICES" 1 "$WRK_THREADS"
SAMPLE_PIDS=""
kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; NGINX_PID=""
fi

# --- c. durable rtlog ingest from 1,000 devices ----------------------------------------------------------
if step c; then
log "c. durable rtlog ingest: $INGEST_DEVICES devices, $INGEST_RATE swipes/s offered, ${INGEST_SECONDS}s"
start_server ingest-sim
run_bg "$WORK/ingest-sim.json" "$WORK/ingest-sim.err" \
  "$ZK" simulate --server "$URL" --devices "$INGEST_DEVICES" --events-per-second "$INGEST_RATE" \
  --duration "$INGEST_SECONDS" --ramp 1000 --json
SIM=$BG_PID
start_sampler "$SERVER_PID" "$WORK/ingest-sim.server.samples"
start_sampler "$SIM" "$WORK/ingest-sim.client.samples"
wait "$SIM" || log "simulate exited non-zero during ingest: see the table"
stop_samplers
stop_server ingest-sim
sql "$DATA/zkpush.db" "SELECT count(*) FROM events" >"$WORK/ingest-sim-stored.txt"

# The same through wrk: one event per request (a Realtime=1 panel's upload), 1,000 devices.
start_server ingest-wrk
register_devices ING "$INGEST_DEVICES"
WRK_CONNECTIONS_SAVED=$WRK_CONNECTIONS
WRK_CONNECTIONS=$INGEST_DEVICES
run_wrk ingest-wrk "$URL" "$WRK_SECONDS" rtlog.lua ING "$INGEST_DEVICES" 1 "$WRK_THREADS"
WRK_CONNECTIONS=$WRK_CONNECTIONS_SAVED
stop_server ingest-wrk
sql "$DATA/zkpush.db" "SELECT count(*) FROM events" >"$WORK/ingest-wrk-stored.txt"
fi

# --- d. raw SQLite ceiling ------------------------------------------------------------------------------
if step d; then
log "d. raw SQLite ceiling (${CEILING_SECONDS}s per batch size)"
run "$CEILING" --dir "$WORK" --seconds "$CEILING_SECONDS" --devices "$INGEST_DEVICES" \
  --batch 1 --batch 100 --batch 2048 >"$WORK/ceiling.json"
fi

# --- d2. event queries over a million stored events ----------------------------------------------------
if step d2; then
log "d2. event queries over $QUERY_EVENTS stored events"
run "$EVENT_QUERIES" --dir "$WORK" --events "$QUERY_EVENTS" --devices 200 --persons 10000 --queries 1000 \
  >"$WORK/event-queries.json"
rm -f "$WORK"/events-bench.db*
fi

# --- p. PostgreSQL: durable ingest beside raw PostgreSQL, then two nodes on one database ----------------
if step p; then
log "p. PostgreSQL: durable ingest (${INGEST_SECONDS}s), raw PostgreSQL ceiling, two nodes"
# Under /tmp itself: the cluster runs as the postgres user when this runs as root (pg_cluster.sh).
PG_DIR=/tmp/zkpush-bench-pg-$$
run bash "$ROOT/tests/support/pg_cluster.sh" start "$PG_DIR" durable >"$WORK/pg-cluster.log"
pg_url() { echo "postgresql:///$1?host=$PG_DIR&user=zkpush"; }
pg_db() { run psql -qX "$(pg_url postgres)" -c "CREATE DATABASE $1" >/dev/null; }
pg_count() { psql -qXAt "$(pg_url "$1")" -c "SELECT count(*) FROM events"; }

pg_db ingest_sim
start_server pg-sim --store "$(pg_url ingest_sim)"
run_bg "$WORK/pg-sim.json" "$WORK/pg-sim.err" \
  "$ZK" simulate --server "$URL" --devices "$INGEST_DEVICES" --events-per-second "$INGEST_RATE" \
  --duration "$INGEST_SECONDS" --ramp 1000 --json
SIM=$BG_PID
start_sampler "$SERVER_PID" "$WORK/pg-sim.server.samples"
wait "$SIM" || log "simulate exited non-zero during PostgreSQL ingest: see the table"
stop_samplers
stop_server pg-sim
pg_count ingest_sim >"$WORK/pg-sim-stored.txt"

pg_db ingest_wrk
start_server pg-wrk --store "$(pg_url ingest_wrk)"
register_devices PGW "$INGEST_DEVICES" 20
WRK_CONNECTIONS_SAVED=$WRK_CONNECTIONS
WRK_CONNECTIONS=$INGEST_DEVICES
run_wrk pg-wrk "$URL" "$WRK_SECONDS" rtlog.lua PGW "$INGEST_DEVICES" 1 "$WRK_THREADS"
WRK_CONNECTIONS=$WRK_CONNECTIONS_SAVED
stop_server pg-wrk
pg_count ingest_wrk >"$WORK/pg-wrk-stored.txt"

# The ceiling: the same rows into the same schema (made by zkpush migrate, its triggers included), one
# connection as zkpush's writer, synchronous_commit on, N rows per commit in one multi-row INSERT.
pg_db ceiling
run "$ZK" migrate --store "$(pg_url ceiling)" >/dev/null
for batch in 1 100 2048; do
  cat >"$WORK/pg-ceiling-$batch.sql" <<SQL
\set base random(1, 1000000000)
INSERT INTO events (sn, log_index, time_local, time_utc, pin, cardno, event, door, inout, verifytype, raw, source, received_at)
SELECT 'RAW' || (g % $INGEST_DEVICES), :base::bigint * 10000 + g, '2026-12-07 10:00:00', 1796637600, '1', '0', 0, 1, 0, '1',
       convert_to('time=2026-12-07 10:00:00', 'UTF8'), 'rtlog', extract(epoch FROM now())::bigint
FROM generate_series(1, $batch) AS g ON CONFLICT DO NOTHING;
SQL
  run pgbench -n -c 1 -T "$CEILING_SECONDS" -f "$WORK/pg-ceiling-$batch.sql" "$(pg_url ceiling)" \
    >"$WORK/pg-ceiling-$batch.txt" 2>&1 || log "pgbench failed: $(tail -3 "$WORK/pg-ceiling-$batch.txt")"
done

# Two nodes on one database, half the devices on each (as a load balancer would spread them).
pg_db two_nodes
start_server pg-node1 --store "$(pg_url two_nodes)"
NODE1_URL=$URL
NODE2_PORT=$(free_port)
run_bg "$WORK/server-pg-node2.log" "$WORK/server-pg-node2.err" \
  "$ZK" serve --listen "127.0.0.1:$NODE2_PORT" --data "$(mktemp -d "$WORK/data-node2.XXXX")" \
  --api-token "$API_TOKEN" --store "$(pg_url two_nodes)"
NODE2_PID=$BG_PID
for i in $(seq 1 300); do curl -sf "http://127.0.0.1:$NODE2_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
HALF=$((INGEST_DEVICES / 2))
run_bg "$WORK/pg-two-1.json" "$WORK/pg-two-1.err" \
  "$ZK" simulate --server "$NODE1_URL" --devices "$HALF" --sn-prefix NODEA --events-per-second $((INGEST_RATE / 2)) \
  --duration "$INGEST_SECONDS" --ramp 1000 --json
SIM1=$BG_PID
run_bg "$WORK/pg-two-2.json" "$WORK/pg-two-2.err" \
  "$ZK" simulate --server "http://127.0.0.1:$NODE2_PORT" --devices "$HALF" --sn-prefix NODEB \
  --events-per-second $((INGEST_RATE / 2)) --duration "$INGEST_SECONDS" --ramp 1000 --json
SIM2=$BG_PID
wait "$SIM1" || true
wait "$SIM2" || true
kill -TERM "$NODE2_PID" 2>/dev/null || true; wait "$NODE2_PID" 2>/dev/null || true; NODE2_PID=""
stop_server pg-node1
pg_count two_nodes >"$WORK/pg-two-stored.txt"
bash "$ROOT/tests/support/pg_cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
PG_DIR=""
fi

# --- e. sync: persons to panels ----------------------------------------------------------------------------
if step e; then
log "e. sync: $SYNC_PERSONS persons with a card and an access level to $SYNC_PANELS emulated panels"
start_server sync --sync-settle 1
run_bg "$WORK/sync-sim.json" "$WORK/sync-sim.err" \
  "$ZK" simulate --server "$URL" --devices "$SYNC_PANELS" --sn-prefix SYNC --poll-interval "$SYNC_POLL" \
  --duration "$SYNC_TIMEOUT" --ramp 1000 --json
SIM=$BG_PID
if run python3 "$ROOT/bench/sync.py" "$URL" "$API_TOKEN" SYNC "$SYNC_PANELS" "$SYNC_PERSONS" "$SERVER_PID" \
    "$SYNC_TIMEOUT" >"$WORK/sync.json" 2>"$WORK/sync.err"; then :; else
  log "sync step failed: $(tail -3 "$WORK/sync.err")"; rm -f "$WORK/sync.json"
fi
kill "$SIM" 2>/dev/null || true; wait "$SIM" 2>/dev/null || true
stop_server sync
fi

# --- f. integrations: ingest with a webhook, MQTT and SSE clients ---------------------------------------------
if step f; then
# The same wrk ingest as c, with a webhook subscribed to everything (nginx answering 200, the
# receiver's ceiling) and a Mosquitto broker taking every message at QoS 1: the outbox must not
# halve ingest. Then how fast the webhook catches up alone.
SSE_CLIENTS=${BENCH_SSE_CLIENTS:-200}
log "f. integrations: ingest with a webhook and MQTT"
HOOK_PORT=$(free_port)
mkdir -p "$WORK/hook"
cat >"$WORK/hook/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/hook/nginx.pid;
error_log $WORK/hook/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/hook/body;
  client_body_buffer_size 64k;
  server { listen 127.0.0.1:$HOOK_PORT; location / { return 200 "OK"; } }
}
EOF
run_bg "$WORK/hook/stdout.log" "$WORK/hook/stderr.log" "$NGINX" -p "$WORK/hook" -c "$WORK/hook/nginx.conf" -g 'daemon off;'
HOOK_PID=$BG_PID
MQ_PORT=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQ_PORT" >"$WORK/mosquitto.conf"
run_bg "$WORK/mosquitto.log" "$WORK/mosquitto.err" /usr/sbin/mosquitto -c "$WORK/mosquitto.conf"
MQ_PID=$BG_PID
sleep 0.5
start_server integrations --mqtt "mqtt://127.0.0.1:$MQ_PORT"
register_devices INT "$INGEST_DEVICES"
HOOK_ID=$(python3 "$ROOT/bench/integrations.py" webhook "$URL" "$API_TOKEN" "http://127.0.0.1:$HOOK_PORT/hook")
WRK_CONNECTIONS_SAVED=$WRK_CONNECTIONS
WRK_CONNECTIONS=$INGEST_DEVICES
run_wrk ingest-int "$URL" "$WRK_SECONDS" rtlog.lua INT "$INGEST_DEVICES" 1 "$WRK_THREADS"
WRK_CONNECTIONS=$WRK_CONNECTIONS_SAVED
run python3 "$ROOT/bench/integrations.py" drain "$URL" "$API_TOKEN" "$HOOK_ID" 300 >"$WORK/drain.json" || true
stop_server integrations
sql "$DATA/zkpush.db" "SELECT count(*) FROM events" >"$WORK/ingest-int-stored.txt"
sql "$DATA/zkpush.db" "SELECT count(*) FROM messages" >"$WORK/ingest-int-messages.txt"
sql "$DATA/zkpush.db" "SELECT coalesce(max(cursor), 0) FROM message_cursors WHERE name = 'mqtt'" >"$WORK/mqtt-cursor.txt"
sql "$DATA/zkpush.db" "SELECT coalesce(max(id), 0) FROM messages" >"$WORK/messages-last.txt"
kill "$HOOK_PID" "$MQ_PID" 2>/dev/null || true; wait "$HOOK_PID" "$MQ_PID" 2>/dev/null || true

# SSE fan-out at a busy site's rate: SSE_CLIENTS streams open while `zkpush simulate` offers
# SSE_RATE swipes/s; every stream must get every event (a stream that falls behind is dropped).
SSE_RATE=${BENCH_SSE_RATE:-1000}
SSE_SECONDS=${BENCH_SSE_SECONDS:-$INGEST_SECONDS}
log "f. SSE: $SSE_CLIENTS streams while $SSE_RATE swipes/s are offered for ${SSE_SECONDS}s"
start_server sse
run_bg "$WORK/sse.json" "$WORK/sse.err" \
  python3 "$ROOT/bench/integrations.py" sse "$URL" "$API_TOKEN" "$SSE_CLIENTS" "$((SSE_SECONDS + 15))"
SSE_PID=$BG_PID
for i in $(seq 1 100); do grep -q connected "$WORK/sse.err" 2>/dev/null && break; sleep 0.2; done
run_bg "$WORK/sse-sim.json" "$WORK/sse-sim.err" \
  "$ZK" simulate --server "$URL" --devices 100 --sn-prefix SSE --events-per-second "$SSE_RATE" \
  --duration "$SSE_SECONDS" --ramp 1000 --json
SIM=$BG_PID
start_sampler "$SERVER_PID" "$WORK/sse.server.samples"
wait "$SIM" || log "simulate exited non-zero during the SSE step"
stop_samplers
wait "$SSE_PID" || true
stop_server sse
sql "$DATA/zkpush.db" "SELECT count(*) FROM events" >"$WORK/sse-stored.txt"
grep -c "event stream dropped" "$WORK/server-sse.log" >"$WORK/sse-dropped.txt" || true
fi

# --- g. remote identification ------------------------------------------------------------------------------
if step g; then
# The persons (each with a card, an access level on door 1 of every panel) are imported while the
# panels are away: the decisions are then measured without the panels' user sync running beside
# them (they poll once an hour). Swipes pick a door at random, so most refusals are "no access".
AUTH_PANELS=${BENCH_AUTH_PANELS:-10}
AUTH_PERSONS=${BENCH_AUTH_PERSONS:-10000}
AUTH_RATE=${BENCH_AUTH_RATE:-1000}
AUTH_SECONDS=${BENCH_AUTH_SECONDS:-$INGEST_SECONDS}
log "g. remote identification: $AUTH_RATE requests/s from $AUTH_PANELS panels, $AUTH_PERSONS persons"
start_server auth
register_devices AUTH "$AUTH_PANELS"
if run python3 "$ROOT/bench/sync.py" "$URL" "$API_TOKEN" AUTH "$AUTH_PANELS" "$AUTH_PERSONS" "$SERVER_PID" 300 \
    --populate-only >"$WORK/auth-setup.json" 2>"$WORK/auth-setup.err"; then
  run_bg "$WORK/auth-sim.json" "$WORK/auth-sim.err" \
    "$ZK" simulate --server "$URL" --devices "$AUTH_PANELS" --sn-prefix AUTH --remote-auth \
    --events-per-second "$AUTH_RATE" --swipe-cards "1000001-$((1000000 + AUTH_PERSONS * 11 / 10))" \
    --poll-interval 3600 --duration "$AUTH_SECONDS" --ramp 1000 --json
  SIM=$BG_PID
  start_sampler "$SERVER_PID" "$WORK/auth.server.samples"
  wait "$SIM" || log "simulate exited non-zero during the remote identification step"
  stop_samplers
else
  log "remote identification setup failed: $(tail -3 "$WORK/auth-setup.err")"; rm -f "$WORK/auth-setup.json"
fi
stop_server auth
sql "$DATA/zkpush.db" "SELECT count(*) FROM events WHERE source='remote_auth'" >"$WORK/auth-decisions.txt"
sql "$DATA/zkpush.db" "SELECT count(*) FROM events WHERE source='remote_auth' AND event=222" >"$WORK/auth-granted.txt"
fi

# --- report -----------------------------------------------------------------------------------------------
{
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "ram_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024}' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | wc -l)"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "quick=$QUICK"
  echo "devices=$DEVICES"
  echo "hold_seconds=$HOLD"
  echo "poll_interval=$POLL_INTERVAL"
  echo "wrk_seconds=$WRK_SECONDS"
  echo "wrk_connections=$WRK_CONNECTIONS"
  echo "wrk_devices=$WRK_DEVICES"
  echo "ingest_devices=$INGEST_DEVICES"
  echo "ingest_rate=$INGEST_RATE"
  echo "ingest_seconds=$INGEST_SECONDS"
  echo "clk_tck=$(getconf CLK_TCK)"
  echo "sync_poll=$SYNC_POLL"
  echo "sse_clients=${SSE_CLIENTS:-}"
  echo "sse_rate=${SSE_RATE:-}"
  echo "auth_rate=${AUTH_RATE:-}"
  echo "auth_panels=${AUTH_PANELS:-}"
  echo "auth_persons=${AUTH_PERSONS:-0}"
} >"$WORK/meta.txt"
DOC="$ROOT/docs/benchmarks.md"
[ "${BENCH_NO_DOC:-0}" = 1 ] && DOC=""
python3 "$ROOT/bench/report.py" "$WORK" ${DOC:+--doc "$DOC"} --limits "$ROOT/bench/limits.md"
