#!/usr/bin/env bash
# Instructions (user space) the server executes per request, counted by callgrind: unlike CPU time
# they do not move with the machine's load, so two commits can be compared with one run each.
#
#   bench/instructions.sh <zkpush binary> [<zkpush binary>...]
#
# For each binary: a fresh server under `valgrind --tool=callgrind`, 20 devices registered by
# `zkpush simulate`, then on one keep-alive connection 1,000 pings, 1,000 empty getrequests, 300
# rtlog uploads (one event each), 300 commands queued through the API, and 300 getrequests
# delivering one command each, 100 handshakes of new devices; the counters are zeroed before and dumped after each series.
# Background work during a series (presence flush, expiry timer) is counted too: it is small.
set -uo pipefail

command -v valgrind >/dev/null || { echo "valgrind is missing (scripts/install-deps.sh bench)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkpush-instructions.XXXXXX")
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"' EXIT

for ZK in "$@"; do
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  DATA=$(mktemp -d "$WORK/data.XXXX")
  valgrind --tool=callgrind --callgrind-out-file="$DATA/callgrind.out" "$ZK" serve --listen "127.0.0.1:$PORT" \
    --data "$DATA" --api-token bench --max-commands 1 --resend-after 86400 >"$DATA/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  "$ZK" simulate --server "http://127.0.0.1:$PORT" --devices 20 --sn-prefix WRK --ramp 100 --duration 5 --json \
    >/dev/null 2>&1
  python3 - "$PORT" "$PID" "$DATA" "$ZK" <<'PY'
import glob, http.client, subprocess, sys, time
port, pid, data, binary = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def series(name, method, path, body=None, n=1000, headers=None, sequence=None):
    if sequence is None:
        sequence = [(method, path(i), body(i) if body else None) for i in range(n)]
    subprocess.run(["callgrind_control", "-z", pid], capture_output=True)
    c = http.client.HTTPConnection("127.0.0.1", port)
    for m, target, content in sequence:
        c.request(m, target, body=content, headers=headers or {})
        r = c.getresponse()
        r.read()
        if r.status // 100 != 2:
            sys.exit(f"{name}: HTTP {r.status} for {m} {target}")
    before = set(glob.glob(data + "/callgrind.out.*"))
    subprocess.run(["callgrind_control", "--dump=series", pid], capture_output=True)
    for _ in range(100):
        new = set(glob.glob(data + "/callgrind.out.*")) - before
        if new:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    total = None
    for line in open(new.pop()):
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
            break
    print(f"{binary} {name} {total / n:,.0f} instructions/request ({n} requests)")
sn = lambda i: "WRK%06d" % (i % 20 + 1)
series("ping", "GET", lambda i: "/iclock/ping?SN=" + sn(i))
series("getrequest (empty)", "GET", lambda i: "/iclock/getrequest?SN=" + sn(i))
event = lambda i: ("time=2024-01-01 10:00:%02d\tpin=1\tcardno=123\teventaddr=1\tevent=0\tinoutstatus=0\tverifytype=1"
                   "\tindex=%d\tsitecode=0\tlinkid=0\tmaskflag=0\ttemperature=0\tconvtemperature=0" % (i % 60, i + 1000))
series("rtlog (1 event)", "POST", lambda i: "/iclock/cdata?SN=%s&table=rtlog" % sn(i), event, n=300)
api = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
series("API command queued", "POST", lambda i: "/api/v1/devices/%s/commands" % sn(i),
       lambda i: '{"line": "DATA COUNT user"}', n=300, headers=api)
series("getrequest (1 command)", "GET", lambda i: "/iclock/getrequest?SN=" + sn(i), n=300)
# A new device's handshake, three requests counted as one: init, registry with 40 parameters, push.
registration = ",".join(["DeviceType=acc", "~DeviceName=inBio460", "FirmVer=AC Ver 5.7.8.3033", "LockCount=4",
                         "ReaderCount=8", "AuxInCount=4", "AuxOutCount=4", "MaxPackageSize=2048000", "CmdFormat=0"] +
                        [f"Option{k}={k * 7}" for k in range(31)])
def handshake(i):
    s = "REG%06d" % i
    return [("GET", f"/iclock/cdata?SN={s}&options=all&pushver=3.1.2", None),
            ("POST", f"/iclock/registry?SN={s}", registration), ("POST", f"/iclock/push?SN={s}", "")]
steps = [step for i in range(100) for step in handshake(i)]
series("registration (init + registry + push)", None, None, n=100, sequence=steps)
PY
  kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null
done
