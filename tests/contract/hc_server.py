#!/usr/bin/env python3
"""A small HTTPS server for tests/unit/test_hc.c, the test of revportal's
hardened HTTP client (cgi/hc.c).  Python 3 standard library only.

It answers a few fixed paths, each for one behaviour of the client:

  /echo          200, JSON: the method, the path, the request headers
                 (names in lower case), the body, and the subject of the
                 client certificate ("" without one)
  /big?n=N       200 with N bytes of "x"
  /redirect      302 to /echo (the client must not follow it)
  /slow?ms=N     waits N milliseconds, then answers like /echo
  /reply/C/B/... answers status C with body B (percent-decoded), whatever
                 follows: a base URL for a CA driver that must meet any
                 answer (tests/unit/test_ca_cfssl.c)
  anything else  404

Usage: hc_server.py --cert F --key F [--client-ca F] --port-file F
It listens on an ephemeral loopback port and writes that port to the
port file once it accepts connections.  With --client-ca a client
certificate signed by that CA is required.
"""

import argparse
import json
import os
import socketserver
import ssl
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

BODY_MAX = 1 << 20


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hc-test/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("hc_server: " + (fmt % args) + "\n")

    def send_body(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > BODY_MAX:
            raise ValueError("body length")
        return self.rfile.read(n)

    def echo(self, body):
        peer = self.connection.getpeercert()
        subject = ""
        if peer:
            subject = ",".join("%s=%s" % kv for rdn in peer["subject"]
                               for kv in rdn)
        doc = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "client": subject,
        }
        self.send_body(200, json.dumps(doc).encode())

    def route(self):
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/echo":
            self.echo(body)
        elif url.path == "/big":
            n = int(query.get("n", ["0"])[0])
            self.send_body(200, b"x" * n, "text/plain")
        elif url.path == "/redirect":
            self.send_body(302, b"{}", extra=(("Location", "/echo"),))
        elif url.path.startswith("/reply/"):
            segs = url.path.split("/")
            out = urllib.parse.unquote_to_bytes(segs[3])
            self.send_body(int(segs[2]), out)
        elif url.path == "/slow":
            time.sleep(int(query.get("ms", ["0"])[0]) / 1000.0)
            self.echo(body)
        else:
            self.send_body(404, b'{"error":"not found"}')

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = route


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ctx):
        self.ctx = ctx
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's own thread, so one
        # silent client cannot stop the accept loop.
        try:
            request.settimeout(10)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        self.RequestHandlerClass(tls, client_address, self)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)

    server = Server(ctx)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
