#!/usr/bin/env python3
"""ocspfixed: a tiny HTTP server on 127.0.0.1 for the test PKI (qpki.sh).

Two modes:

    ocspfixed.py PORT FILE [CONTENT-TYPE]
        Answers every GET and POST, whatever the path, with the bytes of
        FILE and the given Content-Type (application/ocsp-response by
        default).  FILE is read again for every request, so a file that
        is replaced (a regenerated CRL) is served at once.  qpki.sh uses
        it for the stale OCSP response (a fault injection made with the
        real responder key) and for the CRL distribution point.

    ocspfixed.py --cmd PORT COMMAND [ARG...]
        An OCSP responder: runs COMMAND for every request, with the DER
        OCSP request on its standard input, and answers what it writes on
        its standard output as application/ocsp-response.  The request
        comes as the body of a POST or, for a GET, base64 in the path
        (RFC 6960 appendix A.1).  qpki.sh runs `openssl ocsp -index ...
        -reqin /dev/stdin -respout /dev/stdout` this way: OpenSSL 3.0's own
        responder (-port) listens on every address, not only on loopback,
        and its -multi parent ignores SIGTERM.  When the command fails the
        answer is the OCSP response "internalError" (RFC 6960 4.2.1); a
        request that cannot be read is answered "malformedRequest".

The server listens on 127.0.0.1 only, answers requests in threads (many
clients at once), logs nothing but start-up errors, and stops on SIGTERM
or SIGINT.  Python 3 standard library only.
"""

import base64
import binascii
import http.server
import signal
import subprocess
import sys
import urllib.parse

# The largest request body read; OCSP requests are a few hundred bytes.
MAX_BODY = 64 * 1024
# Seconds the responder command may take.
CMD_TIMEOUT = 10

# OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } with no bytes.
OCSP_MALFORMED = bytes.fromhex("30030a0101")
OCSP_INTERNAL = bytes.fromhex("30030a0102")

USAGE = ("usage: ocspfixed.py PORT FILE [CONTENT-TYPE]\n"
         "       ocspfixed.py --cmd PORT COMMAND [ARG...]\n")


class Server(http.server.ThreadingHTTPServer):
    """A threading HTTP server with a longer listen queue (benchmarks)."""

    daemon_threads = True
    request_queue_size = 128


class Handler(http.server.BaseHTTPRequestHandler):
    """One request: the fixed file, or the responder command's answer."""

    def version_string(self):
        return "ocspfixed"

    def log_message(self, format, *args):  # noqa: A002 (the base's name)
        pass

    def answer(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """The POST body, or None (after answering) when it is refused."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.answer(411, "text/plain", b"length required\n")
            return None
        n = int(length)
        if n > MAX_BODY:
            self.answer(413, "text/plain", b"request too large\n")
            return None
        return self.rfile.read(n)

    def respond(self, request):
        cfg = self.server.cfg
        if cfg["cmd"] is None:
            try:
                with open(cfg["file"], "rb") as f:
                    body = f.read()
            except OSError:
                self.answer(500, "text/plain", b"cannot read the file\n")
                return
            self.answer(200, cfg["ctype"], body)
            return
        if not request:
            self.answer(200, "application/ocsp-response", OCSP_MALFORMED)
            return
        try:
            run = subprocess.run(cfg["cmd"], input=request,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE,
                                 timeout=CMD_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            self.answer(200, "application/ocsp-response", OCSP_INTERNAL)
            return
        if run.returncode != 0 or not run.stdout:
            # openssl ocsp fails on a request it cannot parse.
            if b"request" in run.stderr.lower():
                body = OCSP_MALFORMED
            else:
                body = OCSP_INTERNAL
            self.answer(200, "application/ocsp-response", body)
            return
        self.answer(200, "application/ocsp-response", run.stdout)

    def do_POST(self):  # noqa: N802 (the base's name)
        body = self.read_body()
        if body is not None:
            self.respond(body)

    def do_GET(self):  # noqa: N802 (the base's name)
        request = b""
        if self.server.cfg["cmd"] is not None:
            path = urllib.parse.unquote(self.path.lstrip("/"))
            try:
                request = base64.b64decode(path, validate=True)
            except (binascii.Error, ValueError):
                request = b""
        self.respond(request)

    do_HEAD = do_GET


def parse_args(argv):
    """The configuration from the command line, or None when it is wrong."""
    cfg = {"cmd": None, "file": None,
           "ctype": "application/ocsp-response"}
    if len(argv) >= 3 and argv[0] == "--cmd":
        port, cfg["cmd"] = argv[1], argv[2:]
    elif 2 <= len(argv) <= 3 and not argv[0].startswith("-"):
        port, cfg["file"] = argv[0], argv[1]
        if len(argv) == 3:
            cfg["ctype"] = argv[2]
    else:
        return None, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        return None, None
    return int(port), cfg


def main(argv):
    port, cfg = parse_args(argv)
    if cfg is None:
        sys.stderr.write(USAGE)
        return 2
    try:
        server = Server(("127.0.0.1", port), Handler)
    except OSError as e:
        sys.stderr.write("ocspfixed: 127.0.0.1:%d: %s\n" % (port, e))
        return 1
    server.cfg = cfg

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
