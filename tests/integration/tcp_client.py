#!/usr/bin/python3
"""Kernel-side TCP client for the integration tests.

Drives ordinary Linux sockets against `synwave serve` through a tap
interface and prints one JSON object with what happened, so the shell tests
can assert on it:

  sequential N   N connections one after another: connect, send a GET,
                 read until the server closes (close=server) or until the
                 whole response is in (close=client; then we close)
  concurrent N   N connections open at once, each with a request in flight
  abort          connect, then close with SO_LINGER 0 (the kernel sends RST)

Every connection must get the full response (status line, headers and
exactly --body bytes of body); anything else counts as a failure with its
reason. An IPv6 --server (with a colon) makes IPv6 connections.
"""
import argparse
import json
import selectors
import socket
import struct
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: synwave\r\n\r\n"


def new_socket(args):
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    return socket.socket(family, socket.SOCK_STREAM)


def parse_response(data, body):
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return "no header end"
    if not head.startswith(b"HTTP/1.1 200"):
        return "bad status line"
    if len(rest) != body:
        return "body %d bytes, want %d" % (len(rest), body)
    return None


def one_connection(args):
    s = new_socket(args)
    s.settimeout(args.timeout)
    s.bind((args.source, 0))
    try:
        s.connect((args.server, args.port))
        s.sendall(REQUEST)
        data = b""
        want_total = None
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break  # server closed
            data += chunk
            if args.close == "client":
                head, sep, rest = data.partition(b"\r\n\r\n")
                if sep and len(rest) >= args.body:
                    break
        err = parse_response(data, args.body)
        return err
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "reset"
    except OSError as e:
        return "error %s" % e.errno
    finally:
        s.close()


def sequential(args):
    failures = {}
    start = time.monotonic()
    for _ in range(args.n):
        err = one_connection(args)
        if err:
            failures[err] = failures.get(err, 0) + 1
    elapsed = time.monotonic() - start
    done = args.n - sum(failures.values())
    return {"attempted": args.n, "completed": done, "failures": failures,
            "elapsed_s": round(elapsed, 3),
            "cps": round(args.n / elapsed, 1) if elapsed > 0 else 0}


def concurrent(args):
    sel = selectors.DefaultSelector()
    conns = {}
    failures = {}
    start = time.monotonic()
    for i in range(args.n):
        s = new_socket(args)
        s.setblocking(False)
        s.bind((args.source, 0))
        s.connect_ex((args.server, args.port))
        conns[s] = {"data": b"", "sent": False}
        sel.register(s, selectors.EVENT_WRITE)
    # Wait until every connection is established before sending, so that
    # all N are open at the same moment.
    established = 0
    deadline = time.monotonic() + args.timeout
    while established < args.n and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            sel.unregister(s)
            if err:
                failures["connect error %d" % err] = failures.get("connect error %d" % err, 0) + 1
                s.close()
                del conns[s]
            established += 1
    open_at_once = len(conns)
    for s in conns:
        s.send(REQUEST)
        sel.register(s, selectors.EVENT_READ)
    remaining = set(conns)
    while remaining and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = None
            if chunk:
                conns[s]["data"] += chunk
                if args.close == "client":
                    head, sep, rest = conns[s]["data"].partition(b"\r\n\r\n")
                    if not (sep and len(rest) >= args.body):
                        continue
                else:
                    continue
            sel.unregister(s)
            remaining.discard(s)
            err = "reset" if chunk is None else parse_response(conns[s]["data"], args.body)
            if err:
                failures[err] = failures.get(err, 0) + 1
            s.close()
    for s in remaining:
        failures["timeout"] = failures.get("timeout", 0) + 1
        s.close()
    elapsed = time.monotonic() - start
    return {"attempted": args.n, "open_at_once": open_at_once,
            "completed": args.n - sum(failures.values()), "failures": failures,
            "elapsed_s": round(elapsed, 3)}


def abort(args):
    s = new_socket(args)
    s.settimeout(args.timeout)
    s.bind((args.source, 0))
    s.connect((args.server, args.port))
    time.sleep(0.2)  # let the endpoint accept it
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # RST
    return {"aborted": 1}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["sequential", "concurrent", "abort"])
    p.add_argument("n", type=int, nargs="?", default=1)
    p.add_argument("--server", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--body", type=int, default=64)
    p.add_argument("--close", choices=["server", "client"], default="server")
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    result = {"sequential": sequential, "concurrent": concurrent,
              "abort": abort}[args.mode](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
