#!/usr/bin/env python3
"""faultproxy: an HTTP(S) proxy in front of the real cfssl, for the relay tests.

A test tool, not a CA stand-in: in mode "pass" every request goes to the
real CA and its answer comes back unchanged.  The other modes make the
faults the relay must survive.  The mode is the first word of a control
file, read again for every request, so a test switches it with one echo:

    pass   forward to the upstream CA, return its answer (the default, also
           when the control file is missing or empty)
    500    answer 500 with a cfssl-style JSON error; the CA never sees it
    hang   read the request, then answer nothing and hold the connection
           until the mode changes, the client goes away or --hang-seconds
           pass; the CA never sees it
    lost   forward to the CA; when it answers success (it acted), close
           the connection without an answer: the answer is lost on the way
           back.  Any other answer goes back unchanged.
    slow   wait --slow-seconds, then as pass: a CA that takes its time, so
           that two relays working at once overlap

Each request is one line of the log file when it arrives (outcome
received) and one when the proxy is done with it (appended, flushed):

    ts=1732240000.123 mode=pass method=POST path=/api/v1/cfssl/revoke
    serial=123... aki=abcd... reason=keyCompromise outcome=forwarded
    status=200 success=true

(one line; fields without a value are "-").  outcome is then
forwarded, injected-500, hung, client-gone, lost or upstream-error.
success is cfssl's "success" flag of a forwarded answer.

Usage:
    faultproxy.py --listen 127.0.0.1:PORT --upstream https://127.0.0.1:PORT
        --control FILE --log FILE [--pid-file FILE]
        [--cert PEM --key PEM [--client-ca PEM]]
        [--upstream-ca PEM [--upstream-cert PEM --upstream-key PEM]]
        [--hang-seconds N] [--slow-seconds N]

--cert/--key make the listener speak TLS; --client-ca then requires a
client certificate issued by that CA (mutual TLS, as cfssl does).  The
--upstream-* files are the trust anchor and the client certificate for
the connection to the CA.  Listens on loopback only.  Python 3 standard
library only.
"""

import argparse
import http.client
import http.server
import ipaddress
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse

MAX_BODY = 1024 * 1024


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, opts):
        self.opts = opts
        self.log_lock = threading.Lock()
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, handler)

    def mode(self):
        try:
            with open(self.opts.control, encoding="utf-8") as f:
                word = f.read().split()
        except FileNotFoundError:
            return "pass"
        if not word:
            return "pass"
        return word[0]

    def log_line(self, fields):
        line = " ".join("%s=%s" % (k, v if v not in (None, "") else "-")
                        for k, v in fields)
        with self.log_lock:
            with open(self.opts.log, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_one()

    def do_POST(self):
        self.handle_one()

    def read_body(self):
        n = self.headers.get("Content-Length")
        if n is None:
            return b""
        n = int(n)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    def handle_one(self):
        srv = self.server
        mode = srv.mode()
        fields = {"ts": "%.3f" % time.time(), "mode": mode,
                  "method": self.command, "path": self.path,
                  "serial": None, "aki": None, "reason": None,
                  "outcome": None, "status": None, "success": None}
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            req = json.loads(body.decode("utf-8")) if body else {}
            if isinstance(req, dict):
                fields["serial"] = str(req.get("serial", "") or "")
                fields["aki"] = str(req.get("authority_key_id", "") or "")
                fields["reason"] = str(req.get("reason", "") or "")
        except ValueError:
            pass
        order = ("ts", "mode", "method", "path", "serial", "aki", "reason",
                 "outcome", "status", "success")
        fields["outcome"] = "received"
        srv.log_line([(k, fields[k]) for k in order])
        fields["outcome"] = None
        try:
            if mode == "500":
                self.answer(500, {"success": False, "result": None,
                                  "errors": [{"code": 500, "message":
                                              "faultproxy: injected failure"}],
                                  "messages": []})
                fields["outcome"] = "injected-500"
                fields["status"] = 500
            elif mode == "hang":
                fields["outcome"] = self.hang()
                self.close_connection = True
            elif mode in ("pass", "lost", "slow"):
                if mode == "slow":
                    time.sleep(srv.opts.slow_seconds)
                st, hdrs, data = self.forward(body)
                fields["status"] = st
                try:
                    fields["success"] = str(bool(json.loads(data).get(
                        "success"))).lower()
                except (ValueError, AttributeError):
                    pass
                if mode == "lost" and fields["success"] == "true":
                    fields["outcome"] = "lost"
                    self.close_connection = True
                else:
                    fields["outcome"] = "forwarded"
                    self.relay_answer(st, hdrs, data)
            else:
                fields["outcome"] = "bad-control-word"
                self.answer(502, {"success": False, "errors": [
                    {"code": 502, "message": "faultproxy: unknown mode"}]})
        except (OSError, http.client.HTTPException) as e:
            if fields["outcome"] is None:
                fields["outcome"] = "upstream-error"
                fields["status"] = type(e).__name__
                try:
                    self.answer(502, {"success": False, "errors": [
                        {"code": 502, "message": "faultproxy: upstream: %s"
                         % type(e).__name__}]})
                except OSError:
                    self.close_connection = True
        finally:
            srv.log_line([(k, fields[k]) for k in order])

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def relay_answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            if k.lower() in ("content-length", "connection",
                             "transfer-encoding", "keep-alive"):
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def hang(self):
        """Holds the connection; returns how the hang ended."""
        deadline = time.monotonic() + self.server.opts.hang_seconds
        sock = self.connection
        while time.monotonic() < deadline:
            if self.server.mode() != "hang":
                return "hung"
            try:
                r, _, _ = select.select([sock], [], [], 0.1)
                if r:
                    # Readable while we owe an answer: the client closed
                    # (or, less likely, pipelined; either way we stop).
                    if isinstance(sock, ssl.SSLSocket) and sock.pending():
                        return "hung"
                    if not sock.recv(1, socket.MSG_PEEK):
                        return "client-gone"
            except (OSError, ValueError):
                return "client-gone"
        return "hung"

    def forward(self, body):
        o = self.server.opts
        u = o.upstream_parsed
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=o.upstream_ca)
            if o.upstream_cert:
                ctx.load_cert_chain(o.upstream_cert, o.upstream_key)
            conn = http.client.HTTPSConnection(u.hostname, u.port,
                                               context=ctx, timeout=30)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port,
                                              timeout=30)
        try:
            hdrs = {"Content-Type": self.headers.get("Content-Type",
                                                     "application/json")}
            conn.request(self.command, self.path,
                         body=body if self.command == "POST" else None,
                         headers=hdrs)
            r = conn.getresponse()
            data = r.read(MAX_BODY + 1)
            return r.status, r.getheaders(), data
        finally:
            conn.close()


def loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pid-file")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    ap.add_argument("--upstream-ca")
    ap.add_argument("--upstream-cert")
    ap.add_argument("--upstream-key")
    ap.add_argument("--hang-seconds", type=float, default=60.0)
    ap.add_argument("--slow-seconds", type=float, default=0.3)
    o = ap.parse_args()

    host, _, port = o.listen.rpartition(":")
    host = host.strip("[]")
    if not loopback(host):
        ap.error("--listen must be a loopback address")
    o.upstream_parsed = urllib.parse.urlsplit(o.upstream)
    if o.upstream_parsed.scheme not in ("http", "https") or \
            not loopback(o.upstream_parsed.hostname or ""):
        ap.error("--upstream must be http(s):// to a loopback address")
    if bool(o.cert) != bool(o.key) or \
            bool(o.upstream_cert) != bool(o.upstream_key):
        ap.error("a certificate needs its key")

    srv = Proxy((host, int(port)), Handler, o)
    if o.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(o.cert, o.key)
        if o.client_ca:
            ctx.load_verify_locations(o.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if o.pid_file:
        with open(o.pid_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(o.pid_file + ".tmp", o.pid_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
