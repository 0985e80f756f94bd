#!/usr/bin/python3
"""Kernel clients for the proxy tests: N HTTP/1.0 GETs at once (all
connected before any request is sent), or one after another. Prints a JSON
line: completed, failed, the failures' reasons."""
import argparse
import json
import socket
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["concurrent", "sequential"])
ap.add_argument("n", type=int)
ap.add_argument("--server", required=True)
ap.add_argument("--port", type=int, default=80)
ap.add_argument("--path", default="/small")
ap.add_argument("--timeout", type=float, default=20)
args = ap.parse_args()

results = []
lock = threading.Lock()


def one(barrier=None):
    try:
        s = socket.create_connection((args.server, args.port), timeout=args.timeout)
        if barrier is not None:
            barrier.wait(timeout=args.timeout)
        s.sendall(("GET %s HTTP/1.0\r\n\r\n" % args.path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        ok = data.startswith(b"HTTP/1.0 200") and data.endswith(b"ok\n")
        r = "ok" if ok else "bad response %r" % data[:40]
    except Exception as e:  # noqa: BLE001 - every failure is reported
        r = type(e).__name__
    with lock:
        results.append(r)


start = time.time()
if args.mode == "concurrent":
    barrier = threading.Barrier(args.n)
    threads = [threading.Thread(target=one, args=(barrier,)) for _ in range(args.n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
else:
    for _ in range(args.n):
        one()
failed = [r for r in results if r != "ok"]
print(json.dumps({"completed": len(results) - len(failed), "failed": len(failed),
                  "reasons": sorted(set(failed)), "elapsed_s": round(time.time() - start, 2)}))
