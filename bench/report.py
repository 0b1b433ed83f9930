#!/usr/bin/env python3
"""Turns the raw outputs of scripts/bench.sh (one work folder) into the table of `make bench`.

Prints the table on stdout and, with --doc, rewrites docs/benchmarks.md: machine, date, commit,
the exact commands, the table (figure, target, verdict, ceiling, ratio) and the notes on what
limits each figure (--limits, a hand-written file kept in bench/).
"""
import argparse
import glob
import json
import os
import re
import sys


def read_json(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def read_int(path):
    try:
        return int(read_text(path))
    except ValueError:
        return None


def samples(path, clk_tck):
    """Peak RSS (MB, from VmHWM) and mean CPU % over the sampled span, or (None, None)."""
    peak, cpu, _ = samples_wait(path, clk_tck)
    return peak, cpu


def samples_wait(path, clk_tck):
    """samples(), plus the % of a CPU its threads spent runnable but waiting for one."""
    rows = []
    for line in read_text(path).splitlines():
        parts = line.split()
        if len(parts) == 5:
            try:
                rows.append([float(p) for p in parts])
            except ValueError:
                pass
    if not rows:
        return None, None, None
    peak = max(r[2] for r in rows) / 1024.0
    span = rows[-1][0] - rows[0][0]
    if len(rows) < 2 or span <= 0:
        return peak, None, None
    cpu = (rows[-1][3] - rows[0][3]) / clk_tck / span * 100.0
    wait = (rows[-1][4] - rows[0][4]) / 1e9 / span * 100.0
    return peak, cpu, wait


def server_cpu(prefix, clk_tck):
    """CPU % and wait % summed over every sampled server process of a run (nginx has several)."""
    cpu = wait = None
    for path in sorted(glob.glob(prefix + ".server.samples*")):
        _, c, w = samples_wait(path, clk_tck)
        if c is not None:
            cpu = (cpu or 0) + c
            wait = (wait or 0) + (w or 0)
    return cpu, wait


def us_per(cpu_percent, rate):
    """Microseconds of CPU per request (or event) at that rate: comparable across a noisy machine."""
    if cpu_percent is None or not rate:
        return None
    return cpu_percent / 100.0 / rate * 1e6


def histogram_quantile(metrics_text, name, labels, q):
    """Upper bound (ms) of the bucket holding quantile q of a Prometheus histogram, or None."""
    buckets = []
    pattern = re.compile(re.escape(name) + r'_bucket\{([^}]*)\} (\S+)')
    for m in pattern.finditer(metrics_text):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if any(attrs.get(k) != v for k, v in labels.items()):
            continue
        le = float("inf") if attrs["le"] == "+Inf" else float(attrs["le"])
        buckets.append((le, float(m.group(2))))
    if not buckets:
        return None
    buckets.sort()
    total = buckets[-1][1]
    if total <= 0:
        return None
    for le, count in buckets:
        if count >= q * total:
            return le * 1000.0
    return None


def fmt(v, digits=0, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and digits == 0:
        v = round(v)
    s = f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}"
    return s + unit


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def verdict(ok):
    if ok is None:
        return "n/a"
    return "met" if ok else "**missed**"


def wrk_rps(w):
    if not w or not w.get("duration_us"):
        return None
    return w["requests"] / (w["duration_us"] / 1e6)


def wrk_ok(w):
    """Requests answered 2xx per second: wrk counts non-2xx/3xx answers as status errors."""
    if not w or not w.get("duration_us"):
        return None
    return (w["requests"] - w["errors"]["status"]) / (w["duration_us"] / 1e6)


def wrk_errors(w):
    if not w:
        return "n/a"
    e = w["errors"]
    parts = [f"{k} {e[k]}" for k in ("status", "connect", "read", "write", "timeout") if e.get(k)]
    return ", ".join(parts) if parts else "none"


def ms(us):
    return None if us is None else us / 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--doc")
    ap.add_argument("--limits")
    a = ap.parse_args()
    W = lambda name: os.path.join(a.work, name)  # noqa: E731

    meta = dict(line.split("=", 1) for line in read_text(W("meta.txt")).splitlines() if "=" in line)
    clk = float(meta.get("clk_tck", "100"))
    devices = int(meta.get("devices", "0"))
    rows = []  # figure, measured, target, verdict, ceiling, ratio, notes

    # a. devices held
    hold = read_json(W("hold.json")) or {}
    h_rss, h_cpu, h_wait = samples_wait(W("hold.server.samples"), clk)
    _, h_sim_cpu = samples(W("hold.client.samples"), clk)
    gr = (hold.get("endpoints") or {}).get("getrequest") or {}
    online = hold.get("devices_online")
    metrics_hold = read_text(W("metrics-hold.txt"))
    srv_p99 = histogram_quantile(metrics_hold, "zkpush_request_duration_seconds", {"group": "poll"}, 0.99)
    srv_p50 = histogram_quantile(metrics_hold, "zkpush_request_duration_seconds", {"group": "poll"}, 0.50)
    rows.append([f"devices held, polling every {meta.get('poll_interval')} s ({meta.get('hold_seconds')} s run)",
                 f"{fmt(online)} / {fmt(devices)} online at end",
                 f"{devices:,}", verdict(None if online is None else online >= devices), "", "",
                 f"{fmt(hold.get('requests_per_s'), 0)} req/s, {fmt(hold.get('errors'))} errors"])
    p99 = gr.get("p99_ms")
    rows.append(["getrequest latency while holding them (emulator side)",
                 f"p50 {fmt(gr.get('p50_ms'), 2)} ms, p99 {fmt(p99, 2)} ms",
                 "p99 < 20 ms", verdict(None if p99 is None else p99 < 20), "", "",
                 f"{fmt(gr.get('count'))} polls; server side (/metrics, bucket bound) p50 <= {fmt(srv_p50, 1)} ms, "
                 f"p99 <= {fmt(srv_p99, 1)} ms"])
    rows.append(["server RSS (peak) and CPU (mean) while holding them",
                 f"{fmt(h_rss, 0)} MB, {fmt(h_cpu, 0)} % CPU", "RSS < 300 MB",
                 verdict(None if h_rss is None else h_rss < 300), "", "",
                 f"server threads waited for a CPU {fmt(h_wait, 0)} %; emulator on the same cores: "
                 f"{fmt(h_sim_cpu, 0)} % CPU (200 % = both cores)"])

    # b. request throughput vs nginx
    for route, label in (("ping", "GET /iclock/ping"), ("getrequest", "GET /iclock/getrequest, empty queue"),
                         ("rtlog", "POST rtlog, 1 event per request")):
        z = read_json(W(f"zk-{route}.json"))
        n = read_json(W(f"nginx-{route}.json"))
        z_cpu, z_wait = server_cpu(W(f"zk-{route}"), clk)
        n_cpu, _ = server_cpu(W(f"nginx-{route}"), clk)
        z_us, n_us = us_per(z_cpu, wrk_ok(z)), us_per(n_cpu, wrk_rps(n))
        _, c_cpu = samples(W(f"zk-{route}.client.samples"), clk)
        r = ratio(wrk_ok(z), wrk_rps(n))
        target = "≥ 0.5 × nginx" if route != "rtlog" else "(durable; see c)"
        v = verdict(None if r is None else r >= 0.5) if route != "rtlog" else "n/a"
        rows.append([f"{label} ({meta.get('wrk_devices')} devices, {meta.get('wrk_connections')} connections)",
                     f"{fmt(wrk_ok(z))} req/s, p50 {fmt(ms(z and z['p50_us']), 2)} ms, p99 {fmt(ms(z and z['p99_us']), 2)} ms",
                     target, v,
                     f"nginx {fmt(wrk_rps(n))} req/s, p99 {fmt(ms(n and n['p99_us']), 2)} ms, "
                     f"{fmt(n_us, 1)} µs CPU/req",
                     fmt(r, 2) if r is not None else "n/a",
                     f"{fmt(z_us, 1)} µs server CPU/req; errors: {wrk_errors(z)}; server {fmt(z_cpu, 0)} % CPU "
                     f"(+{fmt(z_wait, 0)} % waiting for one), wrk {fmt(c_cpu, 0)} %"])
    zc = read_json(W("zk-getrequest-cmd.json"))
    ng = read_json(W("nginx-getrequest.json"))
    sent = read_int(W("commands-sent.txt"))
    queued = read_int(W("commands-queued.txt"))
    polls = zc and (zc["requests"] - zc["errors"]["status"])
    zc_cpu, _ = server_cpu(W("zk-getrequest-cmd"), clk)
    r = ratio(wrk_ok(zc), wrk_rps(ng))
    rows.append([f"GET /iclock/getrequest with commands (1 per poll, {meta.get('wrk_devices')} devices)",
                 f"{fmt(wrk_ok(zc))} req/s, p50 {fmt(ms(zc and zc['p50_us']), 2)} ms, p99 {fmt(ms(zc and zc['p99_us']), 2)} ms",
                 "≥ 0.5 × nginx", verdict(None if r is None else r >= 0.5),
                 f"nginx {fmt(wrk_rps(ng))} req/s", fmt(r, 2) if r is not None else "n/a",
                 f"{fmt(sent)} commands delivered (status sent) in {fmt(polls)} polls, of {fmt(queued)} queued "
                 f"(~{fmt(queued / int(meta.get('wrk_devices', '1')) if queued else None)} per device); "
                 f"{fmt(us_per(zc_cpu, wrk_ok(zc)), 1)} µs server CPU/poll; "
                 f"errors: {wrk_errors(zc)}"])
    ze = read_json(W("zk-enqueue.json"))
    rows.append(["POST /api/v1/devices/{sn}/commands (queueing them)",
                 f"{fmt(wrk_ok(ze))} commands/s, p99 {fmt(ms(ze and ze['p99_us']), 2)} ms", "", "n/a", "", "",
                 f"each a durable write; errors: {wrk_errors(ze)}"])

    # c. durable ingest, d. SQLite ceiling
    ceiling = read_json(W("ceiling.json")) or {}
    by_batch = {c["batch"]: c for c in ceiling.get("results", [])}
    top = by_batch.get(2048, {}).get("rows_per_s")
    sim = read_json(W("ingest-sim.json")) or {}
    stored = read_int(W("ingest-sim-stored.txt"))
    acked = sim.get("events_acked")
    eps = sim.get("events_per_s")
    i_cpu, i_wait = server_cpu(W("ingest-sim"), clk)
    _, i_sim_cpu = samples(W("ingest-sim.client.samples"), clk)
    rl = (sim.get("endpoints") or {}).get("rtlog") or {}
    check = "n/a" if stored is None or acked is None else ("all stored" if stored >= acked else
                                                            f"**{acked - stored:,} acknowledged events missing**")
    r = ratio(eps, top)
    rows.append([f"durable rtlog ingest, `zkpush simulate` {meta.get('ingest_devices')} devices, "
                 f"{fmt(float(meta.get('ingest_rate', 0)))} swipes/s offered",
                 f"{fmt(eps)} events/s acknowledged", "≥ 20,000 events/s",
                 verdict(None if eps is None else eps >= 20000),
                 f"SQLite {fmt(top)} rows/s", fmt(r, 2) if r is not None else "n/a",
                 f"{fmt(acked)} acked, {fmt(stored)} stored "
                 f"({fmt(stored / sim['elapsed_s'] if stored is not None and sim.get('elapsed_s') else None)}/s, "
                 f"uploads in flight at the end included): {check}; rtlog p99 {fmt(rl.get('p99_ms'), 1)} ms; "
                 f"{fmt(us_per(i_cpu, eps), 1)} µs server CPU/event; "
                 f"server {fmt(i_cpu, 0)} % CPU (+{fmt(i_wait, 0)} % waiting for one), emulator {fmt(i_sim_cpu, 0)} %"])
    wi = read_json(W("ingest-wrk.json"))
    wstored = read_int(W("ingest-wrk-stored.txt"))
    wacked = wi and (wi["requests"] - wi["errors"]["status"])
    weps = wrk_ok(wi)
    wi_cpu, wi_wait = server_cpu(W("ingest-wrk"), clk)
    wcheck = "n/a" if wstored is None or wacked is None else (
        "all stored" if wstored >= wacked else f"**{wacked - wstored:,} acknowledged events missing**")
    r = ratio(weps, top)
    rows.append([f"durable rtlog ingest, wrk, 1 event per request, {meta.get('ingest_devices')} devices "
                 f"({meta.get('ingest_devices')} connections)",
                 f"{fmt(weps)} events/s acknowledged, p99 {fmt(ms(wi and wi['p99_us']), 1)} ms", "≥ 20,000 events/s",
                 verdict(None if weps is None else weps >= 20000),
                 f"SQLite {fmt(top)} rows/s", fmt(r, 2) if r is not None else "n/a",
                 f"{fmt(wacked)} acked, {fmt(wstored)} stored: {wcheck}; errors: {wrk_errors(wi)}; "
                 f"{fmt(us_per(wi_cpu, weps), 1)} µs server CPU/event; "
                 f"server {fmt(wi_cpu, 0)} % CPU (+{fmt(wi_wait, 0)} % waiting for one)"])
    for b in sorted(by_batch):
        c = by_batch[b]
        rows.append([f"raw SQLite ceiling: events rows, {b} per commit",
                     f"{fmt(c['rows_per_s'])} rows/s", "", "n/a", "(the ceiling)", "",
                     f"{c['commits']:,} commits (WAL, synchronous=FULL: one fsync each); "
                     f"of {fmt(c['seconds'], 1)} s: {fmt(c.get('cpu_seconds'), 1)} s on CPU, "
                     f"{fmt(c.get('runqueue_wait_seconds'), 1)} s waiting for a CPU, the rest for the disk; "
                     f"{fmt(c.get('rows_per_cpu_s'))} rows per CPU second"])
    # p. PostgreSQL: ingest beside raw PostgreSQL (pgbench), two nodes on one database
    pg_ceiling = {}
    for b in (1, 100, 2048):
        text = read_text(W(f"pg-ceiling-{b}.txt"))
        m = re.search(r"tps = ([0-9.]+)", text)
        if m:
            pg_ceiling[b] = float(m.group(1)) * b
    pg_top = pg_ceiling.get(2048)
    psim = read_json(W("pg-sim.json"))
    if psim:
        p_stored = read_int(W("pg-sim-stored.txt"))
        p_acked, p_eps = psim.get("events_acked"), psim.get("events_per_s")
        p_cpu, p_wait = server_cpu(W("pg-sim"), clk)
        p_check = "n/a" if p_stored is None or p_acked is None else (
            "all stored" if p_stored >= p_acked else f"**{p_acked - p_stored:,} acknowledged events missing**")
        r = ratio(p_eps, pg_top)
        rows.append([f"PostgreSQL: durable rtlog ingest, `zkpush simulate` {meta.get('ingest_devices')} devices "
                     f"(--store postgres://, one node)",
                     f"{fmt(p_eps)} events/s acknowledged", "≥ 0.9 × raw PostgreSQL",
                     verdict(None if r is None else r >= 0.9),
                     f"PostgreSQL {fmt(pg_top)} rows/s", fmt(r, 2) if r is not None else "n/a",
                     f"{fmt(p_acked)} acked, {fmt(p_stored)} stored: {p_check}; "
                     f"rtlog p99 {fmt(((psim.get('endpoints') or {}).get('rtlog') or {}).get('p99_ms'), 1)} ms; "
                     f"{fmt(us_per(p_cpu, p_eps), 1)} µs zkpush CPU/event (PostgreSQL's own CPU not counted); "
                     f"zkpush {fmt(p_cpu, 0)} % CPU (+{fmt(p_wait, 0)} % waiting for one)"])
    pw = read_json(W("pg-wrk.json"))
    if pw:
        pw_stored = read_int(W("pg-wrk-stored.txt"))
        pw_acked = pw["requests"] - pw["errors"]["status"]
        pw_check = "n/a" if pw_stored is None else (
            "all stored" if pw_stored >= pw_acked else f"**{pw_acked - pw_stored:,} acknowledged events missing**")
        r = ratio(wrk_ok(pw), pg_top)
        rows.append(["PostgreSQL: durable rtlog ingest, wrk, 1 event per request",
                     f"{fmt(wrk_ok(pw))} events/s acknowledged, p99 {fmt(ms(pw['p99_us']), 1)} ms", "",
                     "n/a", f"PostgreSQL {fmt(pg_top)} rows/s", fmt(r, 2) if r is not None else "n/a",
                     f"{fmt(pw_acked)} acked, {fmt(pw_stored)} stored: {pw_check}; errors: {wrk_errors(pw)}"])
    for b in sorted(pg_ceiling):
        rows.append([f"raw PostgreSQL ceiling: events rows, {b} per commit (pgbench, 1 connection)",
                     f"{fmt(pg_ceiling[b])} rows/s", "", "n/a", "(the ceiling)", "",
                     "the store's schema and triggers (zkpush migrate), synchronous_commit on, fsync on"])
    two = [read_json(W(f"pg-two-{i}.json")) for i in (1, 2)]
    if all(two):
        t_eps = sum(t.get("events_per_s") or 0 for t in two)
        t_acked = sum(t.get("events_acked") or 0 for t in two)
        t_stored = read_int(W("pg-two-stored.txt"))
        t_check = "n/a" if t_stored is None else (
            "all stored" if t_stored >= t_acked else f"**{t_acked - t_stored:,} acknowledged events missing**")
        rows.append(["PostgreSQL: two nodes on one database, half the devices on each",
                     f"{fmt(t_eps)} events/s acknowledged", "", "n/a", "", "",
                     f"{fmt(t_acked)} acked, {fmt(t_stored)} stored: {t_check}; both nodes and PostgreSQL "
                     f"share the same 2 cores here"])

    eq = read_json(W("event-queries.json"))
    for q in (eq or {}).get("results", []):
        rows.append([f"event query over {eq['events']:,} events ({eq['devices']} devices, {eq['persons']:,} persons): "
                     f"{q['query']}",
                     f"p50 {fmt(q['p50_ms'], 2)} ms, p99 {fmt(q['p99_ms'], 2)} ms", "p99 < 50 ms",
                     verdict(q["p99_ms"] < 50), "", "",
                     f"{q['queries']:,} queries through the store (a reader thread), 100 a page, "
                     f"{fmt(q['mean_rows'], 1)} rows each on average; max {fmt(q['max_ms'], 2)} ms; "
                     f"store filled in {fmt(eq['fill_seconds'], 1)} s"])
    sy = read_json(W("sync.json"))
    if sy:
        records = sy["records"]
        secs = sy.get("sync_seconds")
        cpu_per = (sy["server_cpu_seconds"] * 1e6 / records) if records else None
        rows.append([f"sync: {sy['persons']:,} persons × {sy['panels']} panels (import, then every panel applied)",
                     "not reached" if secs is None else f"{fmt(secs, 1)} s", "< 30 s",
                     verdict(None if secs is None else secs < 30), "", "",
                     f"{records:,} records; {sy['commands']:,} DATA commands; import job {fmt(sy['import_seconds'], 1)} s "
                     f"({sy['import_state']}, {sy['import_failed']} failed rows); {sy['failed']} failed, "
                     f"{sy['pending']} pending at the end; {fmt(cpu_per, 1)} µs server CPU per record "
                     f"({fmt(sy['server_cpu_seconds'], 1)} s)"])
        edit = sy.get("edit_seconds")
        rows.append(["sync: one person's card changed, until applied on its panels",
                     "not reached" if edit is None else f"{fmt(edit, 2)} s", "", "n/a", "", "",
                     f"the panels poll every {meta.get('sync_poll', '?')} s and changes settle 1 s"])
    else:
        rows.append(["sync: 10,000 persons × 50 panels", "not measured (step e failed: see the log)", "", "n/a", "", "", ""])

    ii = read_json(W("ingest-int.json"))
    if ii:
        ieps = wrk_ok(ii)
        istored = read_int(W("ingest-int-stored.txt"))
        imsgs = read_int(W("ingest-int-messages.txt"))
        ii_cpu, ii_wait = server_cpu(W("ingest-int"), clk)
        r = ratio(ieps, weps)
        rows.append([f"durable rtlog ingest as above, with a webhook and MQTT receiving every message",
                     f"{fmt(ieps)} events/s acknowledged, p99 {fmt(ms(ii['p99_us']), 1)} ms",
                     "≥ half of the row without", verdict(None if r is None else r >= 0.5),
                     f"without: {fmt(weps)} events/s", fmt(r, 2) if r is not None else "n/a",
                     f"{fmt(istored)} events, {fmt(imsgs)} messages logged; errors: {wrk_errors(ii)}; "
                     f"{fmt(us_per(ii_cpu, ieps), 1)} µs server CPU/event; "
                     f"server {fmt(ii_cpu, 0)} % CPU (+{fmt(ii_wait, 0)} % waiting for one)"])
        dr = read_json(W("drain.json"))
        if dr:
            rows.append(["webhook deliveries to a local receiver (nginx, keep-alive), after the load",
                         f"{fmt(dr['drain_per_s'])} deliveries/s", "", "n/a", "", "",
                         f"{fmt(dr['delivered_during_load'])} delivered during the ingest, {fmt(dr['drained'])} "
                         f"after it in {fmt(dr['drain_seconds'], 1)} s, {fmt(dr['delivered_total'])} in all "
                         f"(one POST at a time, in order); {dr['dead_letters']} dead letters"])
        mq = read_int(W("mqtt-cursor.txt"))
        last = read_int(W("messages-last.txt"))
        rows.append(["MQTT: messages published (QoS 1, acknowledged) by the end of the run",
                     f"cursor {fmt(mq)} of {fmt(last)}", "all", verdict(None if mq is None or last is None else mq >= last),
                     "", "", "Mosquitto on loopback"])

    se = read_json(W("sse.json"))
    if se:
        sstored = read_int(W("sse-stored.txt"))
        dropped = read_int(W("sse-dropped.txt"))
        s_cpu, s_wait = server_cpu(W("sse"), clk)
        rows.append([f"SSE fan-out: {se['clients']} streams while {meta.get('sse_rate')} swipes/s are offered",
                     f"each received {fmt(se['min'])} to {fmt(se['max'])} of {fmt(sstored)} events",
                     "every event on every stream", verdict(sstored is not None and se["min"] >= sstored), "", "",
                     f"{fmt(dropped)} streams dropped as too slow; server {fmt(s_cpu, 0)} % CPU "
                     f"(+{fmt(s_wait, 0)} % waiting for one), the {se['clients']} Python readers on the same cores"])

    au = read_json(W("auth-sim.json"))
    auth = (au or {}).get("endpoints", {}).get("auth")
    if auth:
        decisions = read_int(W("auth-decisions.txt"))
        granted = read_int(W("auth-granted.txt"))
        a_cpu, a_wait = server_cpu(W("auth"), clk)
        rate = auth["count"] / au["elapsed_s"] if au.get("elapsed_s") else None
        rows.append([f"remote identification: {meta.get('auth_rate')} requests/s offered by {meta.get('auth_panels')} panels, "
                     f"{int(meta.get('auth_persons', 0)):,} persons",
                     f"p50 {fmt(auth['p50_ms'], 2)} ms, p99 {fmt(auth['p99_ms'], 2)} ms at {fmt(rate)} requests/s",
                     "p99 < 10 ms at 1,000/s", verdict(auth["p99_ms"] < 10 and rate is not None and rate >= 950),
                     "", "",
                     f"{fmt(auth['count'])} asked, {fmt(auth['errors'])} errors, max {fmt(auth['max_ms'], 1)} ms; "
                     f"{fmt(decisions)} decisions recorded ({fmt(granted)} granted; swipes at random doors, 10 % "
                     f"strangers); the panels also upload each outcome (rtlog); {fmt(us_per(a_cpu, rate), 1)} µs server "
                     f"CPU per request; server {fmt(a_cpu, 0)} % CPU (+{fmt(a_wait, 0)} % waiting for one)"])
    else:
        rows.append(["remote identification at 1,000 requests/s", "not measured (step g failed: see the log)", "", "n/a",
                     "", "", ""])

    head = ["figure", "measured", "target", "verdict", "ceiling", "ratio", "notes"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    table_text = "\n".join(table)
    print()
    print(table_text)
    print()

    if not a.doc:
        return 0
    commands = read_text(W("commands.txt"))
    limits = read_text(a.limits) if a.limits else ""
    dirty = meta.get("dirty", "0")
    quick = meta.get("quick") == "1"
    doc = f"""# Benchmarks

Written by `make bench` (`scripts/bench.sh`, `bench/`); every run rewrites this file. Figures come
from one run on the machine below and are noisy when the machine is busy (load average at the end
of the run below): compare runs on a quiet machine.{" **This was a BENCH_QUICK=1 smoke run: small sizes, not the figures of the issue.**" if quick else ""}

## Machine and run

| | |
|---|---|
| CPU | {meta.get('cpu')}, {meta.get('nproc')} cores (`nproc`) |
| RAM | {fmt(int(meta.get('ram_mb', '0')))} MB |
| kernel | {meta.get('kernel')} |
| date | {meta.get('date')} |
| commit | `{meta.get('commit')}`{f" plus {dirty} uncommitted changes in the work tree" if dirty != "0" else ""} |
| load average at the end | {meta.get('load')} |

The server, the load generator (`zkpush simulate` or wrk) and nginx all run on these same cores,
on loopback: every figure is what the server does with the CPU the load generator leaves it.
Release build: `-O2 -g -DNDEBUG` (g++ 12; `-O3` trips a false `-Wrestrict` in libstdc++).

## Results

{table_text}

CPU figures come from `/proc/<pid>/stat` sampled every 0.5 s during the load (nginx: its workers
summed); "waiting for one" is the time the server's threads were runnable but had no CPU
(`/proc/<pid>/task/*/schedstat`, summed over threads, so it can pass 100 %): large values mean the
2 cores were the limit, shared by the server's threads, the load generator and anything else
running on the machine. µs of CPU per request is the figure least disturbed by
other load. Ratios are to the ceiling of the same row: nginx answering `OK` on the same route with the same
wrk run (`worker_processes` = cores, `access_log off`), or raw SQLite inserting the same rows with
the server's schema and PRAGMAs (WAL, `synchronous=FULL`), 2,048 rows per commit (the writer's
largest group). Latencies of wrk rows are wrk's own percentiles (closed loop: each connection
sends its next request when the answer arrives; wrk 4 does not correct for coordinated omission).
"Acknowledged" events were answered 200, which the server sends only after the commit (fsync);
"stored" is `SELECT count(*) FROM events` after the server stopped.

## Commands

`make bench` ran (`$WORK` is a fresh `mktemp -d` folder, each server a fresh data folder in it):

```sh
{commands}
```

## What limits each figure

{limits}
"""
    with open(a.doc, "w") as f:
        f.write(doc)
    print(f"written: {a.doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
