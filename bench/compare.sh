#!/usr/bin/env bash
# Compares two zkpush binaries (two commits) on this machine, alternating them so that both see the
# same load: `make bench` figures swing by tens of percent between runs, one run of each is not a
# comparison. Prints the median of each figure per binary.
#
#   bench/compare.sh <before-binary> <after-binary> [rounds=3]
#
# A round runs each binary once, in turn (the order flips every round):
#   - wrk on ping, empty getrequest, rtlog (1 event per request), commands queued through the API,
#     and getrequest delivering one command per poll: µs of server CPU per request
#     (/proc/<pid>/stat before and after) and requests/s; 100 devices, 100 connections, 2 threads;
#   - COMPARE_DEVICES (10,000) devices registering at 1,000/s and polling every 5 s for
#     COMPARE_HOLD seconds (60): the server's peak RSS and CPU seconds, and the emulator's latency
#     percentiles per endpoint.
# Build a commit's binary with, e.g.:
#   git worktree add /tmp/before <commit> && cmake -S /tmp/before -B /tmp/before/build-release -G Ninja \
#     -DCMAKE_BUILD_TYPE=Release '-DCMAKE_CXX_FLAGS_RELEASE=-O2 -g -DNDEBUG' -DZKPUSH_TESTS=OFF \
#     && cmake --build /tmp/before/build-release --target zkpush
# Figures to read, never assertions.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BEFORE=${1:?before binary}; AFTER=${2:?after binary}; ROUNDS=${3:-3}
SECONDS_PER_ROUTE=${COMPARE_WRK_SECONDS:-8}
DEVICES=${COMPARE_DEVICES:-10000}
HOLD=${COMPARE_HOLD:-60}
WRKDIR=$ROOT/bench/wrk
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkpush-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh bench)" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start LABEL BINARY [serve options]: sets PID, URL, DATA.
start() {
  local zk=$2; shift 2
  local port; port=$(free_port)
  DATA=$(mktemp -d "$WORK/data.XXXX")
  URL=http://127.0.0.1:$port
  "$zk" serve --listen "127.0.0.1:$port" --data "$DATA" --api-token compare "$@" >"$DATA/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do curl -sf "$URL/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server $zk did not start" >&2; exit 1
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DATA"; }

# wrk_route LABEL NAME SCRIPT ARGS...: one line "LABEL NAME cpu_us <x>" and "LABEL NAME rps <y>".
wrk_route() {
  local label=$1 name=$2 script=$3; shift 3
  local t0 t1 out req rps
  t0=$(ticks "$PID")
  out=$(wrk -t2 -c100 -d"${SECONDS_PER_ROUTE}s" -s "$WRKDIR/$script" "$URL" -- "$@" 2>&1)
  t1=$(ticks "$PID")
  req=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  [ -n "$req" ] && [ "$req" -gt 0 ] || { echo "wrk $name failed: $out" >&2; return; }
  echo "$label $name cpu_us $(python3 -c "print(($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $req)")"
  echo "$label $name req_per_s $rps"
}

routes() {
  local label=$1 zk=$2
  start "$label" "$zk" --max-commands 1 --resend-after 86400
  "$zk" simulate --server "$URL" --devices 100 --sn-prefix WRK --ramp 1000 --duration 3 --json >/dev/null 2>&1
  wrk_route "$label" ping device_get.lua ping WRK 100
  wrk_route "$label" getrequest device_get.lua getrequest WRK 100
  wrk_route "$label" rtlog rtlog.lua WRK 100 1 2
  wrk_route "$label" enqueue enqueue.lua compare WRK 100 "DATA COUNT user"
  wrk_route "$label" getrequest_cmd device_get.lua getrequest WRK 100
  stop
}

hold() {
  local label=$1 zk=$2
  start "$label" "$zk"
  local t0 t1
  t0=$(ticks "$PID")
  "$zk" simulate --server "$URL" --devices "$DEVICES" --poll-interval 5 --duration "$HOLD" --ramp 1000 --json \
    >"$WORK/hold.json" 2>/dev/null
  t1=$(ticks "$PID")
  echo "$label hold peak_rss_mb $(awk '/^VmHWM:/ {print $2 / 1024}' "/proc/$PID/status")"
  echo "$label hold cpu_s $(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK))")"
  python3 - "$label" "$WORK/hold.json" <<'PY'
import json, sys
label, path = sys.argv[1:]
j = json.load(open(path))
print(f"{label} hold online {j.get('devices_online', 0)}")
for name, e in j.get("endpoints", {}).items():
    print(f"{label} {name} p50_ms {e['p50_ms']}")
    print(f"{label} {name} p99_ms {e['p99_ms']}")
PY
  stop
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="before after"; else order="after before"; fi
  for label in $order; do
    zk=$BEFORE; [ "$label" = after ] && zk=$AFTER
    echo "round $round: $label ($zk)" >&2
    routes "$label" "$zk" >>"$WORK/figures.txt"
    hold "$label" "$zk" >>"$WORK/figures.txt"
  done
done

python3 - "$WORK/figures.txt" "$ROUNDS" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    label, name, figure, value = line.split()
    runs[(name, figure, label)].append(float(value))
keys = sorted({(n, f) for n, f, _ in runs}, key=lambda k: (k[0] != "hold", k))
print(f"| figure | before (median of {sys.argv[2]}) | after | after / before | runs before | runs after |")
print("|---|---|---|---|---|---|")
for name, figure in keys:
    b, a = runs.get((name, figure, "before"), []), runs.get((name, figure, "after"), [])
    if not b or not a:
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    ratio = f"{ma / mb:.2f}" if mb else "-"
    fmt = lambda xs: ", ".join(f"{x:.4g}" for x in xs)
    print(f"| {name} {figure} | {mb:.4g} | {ma:.4g} | {ratio} | {fmt(b)} | {fmt(a)} |")
PY
