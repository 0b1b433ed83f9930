#!/usr/bin/env python3
"""make bench, step f: the integrations under ingest load (scripts/bench.sh runs it).

  integrations.py webhook URL TOKEN RECEIVER      subscribe RECEIVER to everything; prints the id
  integrations.py sse URL TOKEN CLIENTS SECONDS   holds CLIENTS event streams for SECONDS, counts
                                                  the messages each received (JSON on stdout)
  integrations.py drain URL TOKEN ID TIMEOUT      after the load: until the webhook has delivered
                                                  every event, how fast it delivered (JSON)

Figures to read, never assertions.
"""
import json
import selectors
import socket
import sys
import time
import urllib.request


def api(url, token, method, path, body=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def webhook(url, token, receiver):
    print(api(url, token, "POST", "/api/v1/webhooks", {"url": receiver, "secret": "bench", "events": ["*"]})["id"])


def sse(url, token, clients, seconds):
    # One thread, non-blocking sockets: the readers must not be what falls behind.
    host, port = url.split("//")[1].split(":")
    sel = selectors.DefaultSelector()
    counts, tails = [0] * clients, [b""] * clients
    for i in range(clients):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(("GET /api/v1/stream HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    print("sse: %d clients connected" % clients, file=sys.stderr, flush=True)
    deadline = time.time() + seconds
    open_ = clients
    while time.time() < deadline and open_:
        for key, _ in sel.select(timeout=0.5):
            i = key.data
            try:
                data = key.fileobj.recv(262144)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                open_ -= 1
                continue
            data = tails[i] + data
            counts[i] += data.count(b"\nid: ") + (1 if data.startswith(b"id: ") else 0)
            tails[i] = data[-4:]  # shorter than "\nid: ": a split marker is counted once
    print(json.dumps({"clients": clients, "min": min(counts), "max": max(counts),
                      "mean": sum(counts) / clients, "closed_by_server": clients - open_}))


def drain(url, token, hook, timeout):
    # Caught up when `delivered` has not moved for 2 s: the deliveries after the load, and how fast.
    start = time.time()
    first = api(url, token, "GET", "/api/v1/webhooks/%s" % hook)
    last, last_change = first, start
    while time.time() - start < timeout and time.time() - last_change < 2.0:
        time.sleep(0.25)
        now = api(url, token, "GET", "/api/v1/webhooks/%s" % hook)
        if now["delivered"] != last["delivered"]:
            last_change = time.time()
        last = now
    elapsed = last_change - start
    drained = last["delivered"] - first["delivered"]
    print(json.dumps({"delivered_during_load": first["delivered"], "delivered_total": last["delivered"],
                      "dead_letters": last["dead_letters"], "drain_seconds": elapsed, "drained": drained,
                      "drain_per_s": drained / elapsed if elapsed > 0 else None, "last_error": last["last_error"]}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "webhook":
        webhook(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "sse":
        sse(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "drain":
        drain(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
