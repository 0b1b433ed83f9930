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
import socket
import sys
import threading
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
    host, port = url.split("//")[1].split(":")
    counts = [0] * clients
    connected = threading.Barrier(clients + 1, timeout=60)
    deadline = time.time() + seconds

    def client(i):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(("GET /api/v1/stream HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
        connected.wait()
        tail = b""
        s.settimeout(0.5)
        while time.time() < deadline:
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            if not data:
                break
            data = tail + data
            counts[i] += data.count(b"\nid: ") + (1 if data.startswith(b"id: ") else 0)
            tail = data[-5:]
        s.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    connected.wait()
    print("sse: %d clients connected" % clients, file=sys.stderr, flush=True)
    for t in threads:
        t.join(seconds + 10)
    print(json.dumps({"clients": clients, "min": min(counts), "max": max(counts),
                      "mean": sum(counts) / clients}))


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
