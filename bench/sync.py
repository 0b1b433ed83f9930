#!/usr/bin/env python3
"""The sync row of `make bench` (scripts/bench.sh, step e).

Against a running `zkpush serve` whose panels are emulated by `zkpush simulate` (serial numbers
<prefix>000001...), it creates one access level with door 1 of every panel, imports <persons>
persons holding it (each with a card) through POST /api/v1/persons/import, and waits until every
panel's GET /api/v1/devices/{sn}/sync shows nothing pending and every record applied. Then it
changes one person's card and waits again: the time for one edit to reach the panels concerned.
Prints one JSON object; timings are figures to read, never assertions.
With --populate-only it stops once the import job is done (the remote identification step needs
the persons, not the panels' copies).

  sync.py <url> <api token> <prefix> <panels> <persons> <server pid> [timeout seconds] [--populate-only]
"""
import json
import os
import sys
import time
import urllib.request


def main():
    populate_only = "--populate-only" in sys.argv
    argv = [a for a in sys.argv if a != "--populate-only"]
    url, token, prefix = argv[1], argv[2], argv[3]
    panels, persons, pid = int(argv[4]), int(argv[5]), int(argv[6])
    timeout = float(argv[7]) if len(argv) > 7 else 600.0
    serials = [f"{prefix}{i:06d}" for i in range(1, panels + 1)]

    def api(method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def ticks():
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    # Every panel registered (the simulator ramps them up).
    deadline = time.monotonic() + 120
    while True:
        known = {d["sn"] for d in api("GET", "/api/v1/devices")}
        if all(s in known for s in serials):
            break
        if time.monotonic() > deadline:
            sys.exit(f"sync bench: only {len(known)} of {panels} panels registered")
        time.sleep(0.5)

    def settled(expected_applied):
        views = [api("GET", f"/api/v1/devices/{s}/sync") for s in serials]
        done = all(v["pending"] == 0 and v["applied"] == expected_applied for v in views)
        return done, views

    def wait(expected_applied, started):
        while True:
            done, views = settled(expected_applied)
            if done:
                return time.monotonic() - started, views
            if time.monotonic() - started > timeout:
                return None, views
            time.sleep(1.0)

    level = api("POST", "/api/v1/access-levels",
                {"name": "bench", "time_rule_id": 1, "doors": [{"sn": s, "door": 1} for s in serials]})["id"]
    rows = [{"pin": str(i), "name": f"Person {i}", "cards": [str(1000000 + i)], "access_levels": [level]}
            for i in range(1, persons + 1)]
    cpu0 = ticks()
    started = time.monotonic()
    job = api("POST", "/api/v1/persons/import", rows)
    while job["state"] == "running":
        time.sleep(0.1)
        job = api("GET", f"/api/v1/jobs/{job['id']}")
    import_seconds = time.monotonic() - started
    if populate_only:
        print(json.dumps({"persons": persons, "import_state": job["state"], "import_failed": job["failed"],
                          "import_seconds": round(import_seconds, 2)}))
        return
    sync_seconds, views = wait(persons + 1, started)
    cpu1 = ticks()
    commands = sum(v["commands"] for v in views)
    failed = sum(v["failed"] for v in views)
    pending = sum(v["pending"] for v in views)

    edit_started = time.monotonic()
    api("PATCH", "/api/v1/persons/1", {"cards": ["999999999"]})
    edit_seconds, _ = wait(persons + 1, edit_started)

    clk = float(os.sysconf("SC_CLK_TCK"))
    print(json.dumps({
        "panels": panels, "persons": persons, "records": panels * (persons + 1),
        "import_state": job["state"], "import_failed": job["failed"], "import_seconds": round(import_seconds, 2),
        "sync_seconds": None if sync_seconds is None else round(sync_seconds, 2),
        "commands": commands, "failed": failed, "pending": pending,
        "server_cpu_seconds": round((cpu1 - cpu0) / clk, 2),
        "edit_seconds": None if edit_seconds is None else round(edit_seconds, 2),
    }))


if __name__ == "__main__":
    main()
