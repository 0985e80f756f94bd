#!/usr/bin/python3
"""An HTTP/1.0 backend for the proxy tests (Python's http.server).

GET /big answers the file given with --big (GET /bytes/N its first N
bytes); GET /any-other answers "ok";
POST answers the SHA-256 (hex) of the body it read. Every request's client
address goes to --log, one line each, so a test can see which address the
backend saw. The listen backlog is large: the test opens 200 connections
at once.
"""
import argparse
import hashlib
import http.server
import socket
import socketserver
import threading

ap = argparse.ArgumentParser()
ap.add_argument("--addr", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--big", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()
BIG = open(args.big, "rb").read()
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *a):
        with LOCK, open(args.log, "a") as f:
            f.write("%s %s\n" % (self.client_address[0], self.requestline))

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/big":
            self.reply(BIG)
        elif self.path.startswith("/bytes/"):
            self.reply(BIG[:int(self.path[len("/bytes/"):])])
        else:
            self.reply(b"ok\n")

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        h = hashlib.sha256()
        while n > 0:
            chunk = self.rfile.read(min(n, 65536))
            if not chunk:
                break
            h.update(chunk)
            n -= len(chunk)
        self.reply(h.hexdigest().encode())


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
    # An IPv6 --addr: an IPv6 socket.
    address_family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET

    def server_bind(self):
        # HTTPServer.server_bind also looks up the address's name
        # (socket.getfqdn): in the test's namespace, whose default route
        # leads into synwave, that DNS query goes unanswered and held the
        # start-up for 10 s. The name is only used in CGI environments.
        socketserver.TCPServer.server_bind(self)
        self.server_name = args.addr
        self.server_port = self.server_address[1]


Server((args.addr, args.port), Handler).serve_forever()
