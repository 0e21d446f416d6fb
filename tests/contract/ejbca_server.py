#!/usr/bin/env python3
"""A contract-test stand-in for EJBCA's REST interface v1.

EJBCA itself cannot run here (a Java application server with its own
database), so revportal's EJBCA driver (cgi/ca_ejbca.c) is tested against
this server, which follows the published OpenAPI document of EJBCA REST v1,
/work/shared/reference/ejbca-rest-v1-excerpt.json (Keyfactor/ejbca-ce,
modules/ejbca-rest-api/resources/openapi.json), and the notes beside it in
/work/shared/reference/README.md, field by field:

  PUT  /ejbca/ejbca-rest-api/v1/certificate/{issuer_dn}/{certificate_serial_number}/revoke
       query: reason (required here, as EJBCA refuses a missing one), date,
       invalidity_date; answer RevokeStatusRestResponse
  GET  /ejbca/ejbca-rest-api/v1/certificate/{issuer_dn}/{certificate_serial_number}/revocationstatus
       answer RevokeStatusRestResponse
  GET  /ejbca/ejbca-rest-api/v1/certificate/status
       answer RestResourceStatusRestResponse
  POST /ejbca/ejbca-rest-api/v1/certificate/pkcs10enroll
       body EnrollCertificateRestRequest (JSON); answer 201 with
       CertificateEnrollmentRestResponse

The enrolment is held to the schema field by field: a body that is not a
JSON object, a member the schema does not define, a member of another
type (every one a string but include_chain, a boolean), a missing
certificate_request, certificate_profile_name, end_entity_profile_name,
certificate_authority_name or username (what EJBCA needs to add the end
entity), a response_format other than DER, a query string, or a CSR that
is not a PEM or base64 PKCS#10 request with a valid self-signature are
refused with 400; an unknown CA name with 404, an unknown profile with
400.  The stand-in issues the certificate with its own throwaway CA
(openssl, made at the first enrolment in the port file's directory), adds
it to its certificate table (so it can be revoked and its status read),
and answers its DER the way the published example shows: base64 of the
base64 text of the DER ("certificate": "TUlJ..." decodes to "MII...");
{"op": "enroll", "encoding": "single"} makes it plain base64 of the DER.

JSON names are snake_case on the wire (issuer_dn, serial_number,
revocation_reason, revocation_date, invalidity_date, message, revoked).
Errors come as {"error_code": N, "error_message": "..."}: 400 for a bad
request (reason word, serial, date, parameter), 404 for an unknown CA or
certificate, 409 for an already revoked certificate, 503 when the CA is
offline; 202 with {"status_code", "info_message"} when the action waits for
an approval.  A revoke for a certificate whose revocation is still waiting
for an approval answers 202 again and changes nothing: the reference does
not say what EJBCA answers then, so the stand-in keeps to "waiting for
approval", neither success nor failure.  Like EJBCA, a revocation with
REMOVE_FROM_CRL reinstates a held certificate and still answers
"message": "Successfully revoked", with "revoked": false.

Where EJBCA is lenient the stand-in is strict, so a driver mistake shows:
an unknown or repeated query parameter, an invalidity_date sent with
REMOVE_FROM_CRL (which EJBCA ignores and the reference says never to send),
a path segment with a raw character that should have been percent-encoded,
or a bad percent escape are all refused with 400.  It does not model
changing the reason of a permanently revoked certificate (409 always).

Certificates live in memory, from --certs FILE (a JSON list of objects
{"issuer_dn", "serial" (hex), optionally "revoked", "reason"}) and from
/_control.  Test-only paths, outside the EJBCA API:

  POST /_control  JSON, one of
     {"op": "add", "issuer_dn": DN, "serial": HEX, "revoked": BOOL,
      "reason": WORD}                      add or replace a certificate
     {"op": "fault", "kind": "approval", "polls": N}
         the next revoke answers 202 and takes effect after N more
         revocationstatus calls for that certificate
     {"op": "fault", "kind": "error", "code": C, "count": N, "on": WHERE,
      "body": TEXT}
         the next N calls (WHERE: "revoke", "status" or "any") answer C
         with an error body (or TEXT as it is, when given), doing nothing
     {"op": "fault", "kind": "hang", "seconds": S, "on": WHERE}
         the next such call waits S seconds, then is carried out
     {"op": "fault", "kind": "noop"}
         the next revoke answers 200 "Successfully revoked" with the
         certificate as it is and changes nothing, so a driver that
         believes the message instead of the status is caught
     {"op": "enroll", "ca_name": NAME, "certificate_profiles": [...],
      "end_entity_profiles": [...], "encoding": "double"|"single"}
         what the enrolment accepts (defaults: ManagementCA, ENDUSER,
         EMPTY, double); faults take "on": "enroll" too, and
         {"op": "fault", "kind": "approval", "on": "enroll"} makes the
         next enrolment answer 202
     {"op": "reset"}                        drop faults and the log
  GET  /_log    the API calls seen: method, raw path, raw query
  GET  /_state  the certificate table
  GET  /_spec   what the stand-in follows: {"reasons": [...],
                "revoke_params": [...], "paths": {template: method},
                "enroll_fields": {name: type}, "enroll_answer": {name:
                type}}, for the test that holds it to the reference
  GET  /_enrolled  the enrolments carried out: username, password,
                profiles, CA name, serial, the certificate's PEM

Usage: ejbca_server.py --cert F --key F [--client-ca F] [--certs F]
                       --port-file F
It listens on an ephemeral loopback port and writes the port to the port
file once it accepts connections.  With --client-ca a TLS client
certificate signed by that CA is required, as EJBCA requires one.
Python 3 standard library only.
"""

import argparse
import base64
import datetime
import json
import os
import re
import secrets
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

PREFIX = ["", "ejbca", "ejbca-rest-api", "v1", "certificate"]

# RevocationReasons of EJBCA, as the reference lists them.
REASONS = ["NOT_REVOKED", "UNSPECIFIED", "KEY_COMPROMISE", "CA_COMPROMISE",
           "AFFILIATION_CHANGED", "SUPERSEDED", "CESSATION_OF_OPERATION",
           "CERTIFICATE_HOLD", "REMOVE_FROM_CRL", "PRIVILEGES_WITHDRAWN",
           "AA_COMPROMISE"]

REVOKE_PARAMS = {"reason", "date", "invalidity_date"}
# The paths of the API, as the reference's templates (after the server's
# base, /ejbca/ejbca-rest-api), with their method.
SPEC_PATHS = {
    "/v1/certificate/{issuer_dn}/{certificate_serial_number}/revoke": "put",
    "/v1/certificate/{issuer_dn}/{certificate_serial_number}"
    "/revocationstatus": "get",
    "/v1/certificate/status": "get",
    "/v1/certificate/pkcs10enroll": "post",
}
# EnrollCertificateRestRequest: every member with its JSON type.
ENROLL_FIELDS = {
    "certificate_request": str, "certificate_profile_name": str,
    "end_entity_profile_name": str, "certificate_authority_name": str,
    "username": str, "password": str, "account_binding_id": str,
    "include_chain": bool, "email": str, "response_format": str,
}
ENROLL_REQUIRED = ("certificate_request", "certificate_profile_name",
                   "end_entity_profile_name", "certificate_authority_name",
                   "username")
# CertificateEnrollmentRestResponse, as the stand-in answers it.
ENROLL_ANSWER = {"certificate": "string", "serial_number": "string",
                 "response_format": "string", "certificate_chain": "array"}
JSON_TYPES = {str: "string", bool: "boolean"}
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?"
                      r"(Z|[+-]\d{2}:?\d{2})$")
HEX = re.compile(r"^[0-9A-Fa-f]+$")
# RFC 3986 pchar without the percent escapes, which are checked apart.
PCHAR = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$")
BODY_MAX = 1 << 16


class ApiError(Exception):
    """An answer with EJBCA's error body."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def pct_decode(s, plus_is_space):
    """Decodes percent escapes strictly into UTF-8 text; ApiError(400) for
    a bad escape or bytes that are not UTF-8."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "%":
            h = s[i + 1:i + 3]
            if len(h) != 2 or not HEX.match(h):
                raise ApiError(400, "Malformed percent escape in request")
            out.append(int(h, 16))
            i += 3
            continue
        if c == "+" and plus_is_space:
            out.append(0x20)
        else:
            out.extend(c.encode("utf-8"))
        i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "Request is not UTF-8")


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class State:
    """The certificate table, the faults and the call log, under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.certs = {}         # (issuer_dn, int serial) -> dict
        self.faults = []        # dicts, consumed in order
        self.pending = {}       # (issuer_dn, int serial) -> [reason, polls]
        self.log = []
        self.enroll_conf = {}
        self.enrolled = []
        self.ca_dir = None      # the issuing CA of enrolments, made once
        self.ca_dn = None
        self.reset_enroll()

    def reset_enroll(self):
        self.enroll_conf = {"ca_name": "ManagementCA",
                            "certificate_profiles": ["ENDUSER"],
                            "end_entity_profiles": ["EMPTY"],
                            "encoding": "double"}

    def add(self, doc):
        issuer = doc["issuer_dn"]
        serial = doc["serial"]
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("issuer_dn")
        if not isinstance(serial, str) or not HEX.match(serial):
            raise ValueError("serial")
        revoked = bool(doc.get("revoked", False))
        reason = doc.get("reason", "UNSPECIFIED" if revoked else
                         "NOT_REVOKED")
        if reason not in REASONS:
            raise ValueError("reason")
        self.certs[(issuer, int(serial, 16))] = {
            "issuer_dn": issuer,
            "serial_number": serial.upper(),
            "revoked": revoked,
            "revocation_reason": reason,
            "revocation_date": now_iso() if revoked else None,
        }

    def take_fault(self, where):
        """Returns the first fault for this kind of call, consumed."""
        for f in self.faults:
            if f["kind"] in ("approval", "noop") and \
                    where != f.get("on", "revoke"):
                continue
            if f.get("on", "any") not in ("any", where):
                continue
            if f["kind"] == "error" and f.get("count", 1) > 1:
                f["count"] = f.get("count", 1) - 1
                return dict(f)
            self.faults.remove(f)
            return f
        return None


def status_doc(cert, message):
    doc = {
        "issuer_dn": cert["issuer_dn"],
        "serial_number": cert["serial_number"],
        "revocation_reason": cert["revocation_reason"],
        "revocation_date": cert["revocation_date"],
        "message": message,
        "revoked": cert["revoked"],
    }
    if cert.get("invalidity_date"):
        doc["invalidity_date"] = cert["invalidity_date"]
    return doc


def apply_revoke(cert, reason, invalidity):
    """EJBCA's revocation rules on one certificate.  Returns the answer
    document, or raises ApiError(409) for an already revoked one."""
    held = cert["revoked"] and cert["revocation_reason"] == "CERTIFICATE_HOLD"
    if reason == "REMOVE_FROM_CRL":
        if not held:
            raise ApiError(409, "Certificate is not on hold" if
                           not cert["revoked"] else
                           "Certificate is already revoked")
        cert["revoked"] = False
        cert["revocation_reason"] = "NOT_REVOKED"
        cert["revocation_date"] = None
        cert.pop("invalidity_date", None)
        doc = status_doc(cert, "Successfully revoked")
        # The answer names the reason asked for, as EJBCA's does.
        doc["revocation_reason"] = reason
        return doc
    if cert["revoked"] and not (held and reason != "CERTIFICATE_HOLD"):
        raise ApiError(409, "Certificate is already revoked")
    cert["revoked"] = True
    cert["revocation_reason"] = reason
    cert["revocation_date"] = now_iso()
    if invalidity:
        cert["invalidity_date"] = invalidity
    return status_doc(cert, "Successfully revoked")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ejbca-contract/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("ejbca_server: " + (fmt % args) + "\n")

    def send_json(self, status, doc):
        self.send_raw(status, json.dumps(doc).encode())

    def send_raw(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > BODY_MAX:
            raise ApiError(400, "Body too large")
        return self.rfile.read(n)

    # The test-only paths.

    def control(self, path):
        st = self.server.state
        if path == "/_log" and self.command == "GET":
            with st.lock:
                return self.send_json(200, st.log)
        if path == "/_state" and self.command == "GET":
            with st.lock:
                return self.send_json(200, list(st.certs.values()))
        if path == "/_spec" and self.command == "GET":
            return self.send_json(200, {
                "reasons": REASONS,
                "revoke_params": sorted(REVOKE_PARAMS),
                "paths": SPEC_PATHS,
                "enroll_fields": {k: JSON_TYPES[v]
                                  for k, v in ENROLL_FIELDS.items()},
                "enroll_answer": ENROLL_ANSWER})
        if path == "/_enrolled" and self.command == "GET":
            with st.lock:
                return self.send_json(200, st.enrolled)
        if path != "/_control" or self.command != "POST":
            return self.send_json(404, {"error_code": 404,
                                        "error_message": "no such path"})
        doc = json.loads(self.read_body())
        with st.lock:
            op = doc.get("op")
            if op == "add":
                st.add(doc)
            elif op == "fault" and doc.get("kind") in ("approval", "error",
                                                       "hang", "noop"):
                st.faults.append(doc)
            elif op == "enroll":
                for k in ("ca_name", "certificate_profiles",
                          "end_entity_profiles", "encoding"):
                    if k in doc:
                        st.enroll_conf[k] = doc[k]
            elif op == "reset":
                st.faults.clear()
                st.pending.clear()
                st.log.clear()
                st.enrolled.clear()
                st.reset_enroll()
            else:
                return self.send_json(400, {"error": "bad op"})
        return self.send_json(200, {"ok": True})

    # The EJBCA API.

    def parse_query(self, raw):
        params = {}
        if raw == "":
            return params
        for pair in raw.split("&"):
            key, sep, value = pair.partition("=")
            key = pct_decode(key, True)
            if not sep or key not in REVOKE_PARAMS:
                raise ApiError(400, "Unknown parameter: %s" % key)
            if key in params:
                raise ApiError(400, "Parameter given twice: %s" % key)
            params[key] = pct_decode(value, True)
        return params

    def lookup(self, issuer, serial):
        st = self.server.state
        if not any(k[0] == issuer for k in st.certs):
            raise ApiError(404, "CA with DN: %s does not exist." % issuer)
        cert = st.certs.get((issuer, serial))
        if cert is None:
            raise ApiError(404, "Certificate with serial number %X and "
                           "issuer DN %s was not found." % (serial, issuer))
        return cert

    def enroll(self, query, body):
        """POST .../v1/certificate/pkcs10enroll, held to the schema."""
        st = self.server.state
        if self.command != "POST":
            raise ApiError(405, "Method not allowed")
        if query != "":
            raise ApiError(400, "Unknown parameter")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if ctype.strip().lower() != "application/json":
            raise ApiError(415, "Unsupported media type")
        try:
            doc = json.loads(body)
        except ValueError:
            raise ApiError(400, "Body is not JSON")
        if not isinstance(doc, dict):
            raise ApiError(400, "Body is not a JSON object")
        for k, v in doc.items():
            if k not in ENROLL_FIELDS:
                raise ApiError(400, "Unrecognized field \"%s\"" % k)
            if type(v) is not ENROLL_FIELDS[k]:
                raise ApiError(400, "Field \"%s\" is not a %s" %
                               (k, JSON_TYPES[ENROLL_FIELDS[k]]))
        for k in ENROLL_REQUIRED:
            if not doc.get(k):
                raise ApiError(400, "Missing \"%s\"" % k)
        if doc.get("response_format", "DER") != "DER":
            raise ApiError(400, "Response format not supported by the "
                           "stand-in")

        with st.lock:
            fault = st.take_fault("enroll")
        if fault is not None and fault["kind"] == "hang":
            time.sleep(float(fault.get("seconds", 5)))
            fault = None
        if fault is not None and fault["kind"] == "error":
            code = int(fault.get("code", 503))
            if "body" in fault:
                return self.send_raw(code, fault["body"].encode())
            raise ApiError(code, "CA is offline" if code == 503 else
                           "Injected error %d" % code)
        if fault is not None and fault["kind"] == "approval":
            return self.send_json(202, {
                "status_code": 202,
                "info_message": "The enrolment is waiting for approval "
                                "by an administrator"})

        with st.lock:
            conf = dict(st.enroll_conf)
            if doc["certificate_authority_name"] != conf["ca_name"]:
                raise ApiError(404, "CA with name %s doesn't exist." %
                               doc["certificate_authority_name"])
            if doc["certificate_profile_name"] not in \
                    conf["certificate_profiles"]:
                raise ApiError(400, "Certificate profile %s does not "
                               "exist" % doc["certificate_profile_name"])
            if doc["end_entity_profile_name"] not in \
                    conf["end_entity_profiles"]:
                raise ApiError(400, "End entity profile %s does not exist"
                               % doc["end_entity_profile_name"])
            der, serial = self.issue(doc["certificate_request"])
            st.certs[(st.ca_dn, serial)] = {
                "issuer_dn": st.ca_dn,
                "serial_number": "%X" % serial,
                "revoked": False,
                "revocation_reason": "NOT_REVOKED",
                "revocation_date": None,
            }
            st.enrolled.append({
                "username": doc["username"],
                "password": doc.get("password"),
                "certificate_profile_name": doc["certificate_profile_name"],
                "end_entity_profile_name": doc["end_entity_profile_name"],
                "certificate_authority_name":
                    doc["certificate_authority_name"],
                "include_chain": doc.get("include_chain"),
                "serial": "%X" % serial,
                "issuer_dn": st.ca_dn,
                "pem": ssl.DER_cert_to_PEM_cert(der)})
        b64 = base64.b64encode(der)
        if conf["encoding"] == "double":
            b64 = base64.b64encode(b64)
        chain = []
        if doc.get("include_chain"):
            with open(os.path.join(st.ca_dir, "ca.pem")) as f:
                chain = [base64.b64encode(ssl.PEM_cert_to_DER_cert(
                    f.read())).decode()]
        return self.send_json(201, {
            "certificate": b64.decode(),
            "serial_number": "%X" % serial,
            "response_format": "DER",
            "certificate_chain": chain})

    def issue(self, csr_text):
        """Signs the PKCS#10 request (PEM, or base64 of the DER) with the
        stand-in's CA.  Returns (DER, serial); ApiError(400) for a request
        that does not verify.  Called with the state's lock held."""
        st = self.server.state
        if st.ca_dir is None:
            d = tempfile.mkdtemp(prefix="enroll-ca.",
                                 dir=self.server.work_dir)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                            "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                            "-keyout", os.path.join(d, "ca.key"), "-out",
                            os.path.join(d, "ca.pem"), "-days", "30",
                            "-subj", "/C=SI/O=Stand-in/CN=EJBCA stand-in CA"],
                           check=True, capture_output=True)
            out = subprocess.run(["openssl", "x509", "-in",
                                  os.path.join(d, "ca.pem"), "-noout",
                                  "-subject", "-nameopt", "RFC2253"],
                                 check=True, capture_output=True, text=True)
            st.ca_dn = out.stdout.strip().split("=", 1)[1]
            st.ca_dir = d
        text = csr_text.strip()
        if not text.startswith("-----BEGIN"):
            if not re.match(r"^[A-Za-z0-9+/=\s]+$", text):
                raise ApiError(400, "Invalid certificate request")
            text = ("-----BEGIN CERTIFICATE REQUEST-----\n%s\n"
                    "-----END CERTIFICATE REQUEST-----\n" % text)
        fd, csr = tempfile.mkstemp(dir=st.ca_dir, suffix=".csr")
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        try:
            ok = subprocess.run(["openssl", "req", "-in", csr, "-verify",
                                 "-noout"], capture_output=True)
            # openssl 3.0 exits 0 after a failed verification: read it.
            if ok.returncode != 0 or \
                    b"verify OK" not in ok.stdout + ok.stderr:
                raise ApiError(400, "Invalid certificate request: the "
                               "signature does not verify")
            serial = secrets.randbits(63) | (1 << 62)
            out = subprocess.run(["openssl", "x509", "-req", "-in", csr,
                                  "-CA", os.path.join(st.ca_dir, "ca.pem"),
                                  "-CAkey", os.path.join(st.ca_dir,
                                                         "ca.key"),
                                  "-set_serial", str(serial), "-days", "365",
                                  "-sha256", "-outform", "DER"],
                                 capture_output=True)
            if out.returncode != 0:
                raise ApiError(400, "Invalid certificate request")
            return out.stdout, serial
        finally:
            os.unlink(csr)

    def api(self, path, query, body=b""):
        segs = path.split("/")
        if segs == PREFIX + ["pkcs10enroll"]:
            return self.enroll(query, body)
        if segs == PREFIX + ["status"]:
            if self.command != "GET":
                raise ApiError(405, "Method not allowed")
            return self.send_json(200, {"status": "OK", "version": "1.0",
                                        "revision": "EJBCA contract stand-in"})
        if len(segs) != len(PREFIX) + 3 or segs[:len(PREFIX)] != PREFIX:
            raise ApiError(404, "No such resource")
        raw_issuer, raw_serial, op = segs[len(PREFIX):]
        if op not in ("revoke", "revocationstatus"):
            raise ApiError(404, "No such resource")
        where = "revoke" if op == "revoke" else "status"
        if self.command != ("PUT" if op == "revoke" else "GET"):
            raise ApiError(405, "Method not allowed")
        for seg in (raw_issuer, raw_serial):
            if not PCHAR.match(seg):
                raise ApiError(400, "Invalid character in path")
        issuer = pct_decode(raw_issuer, False)
        serial_text = pct_decode(raw_serial, False)
        if not HEX.match(serial_text):
            raise ApiError(400, "Invalid serial number format")
        serial = int(serial_text, 16)
        params = self.parse_query(query)
        if op == "revocationstatus" and params:
            raise ApiError(400, "Unknown parameter")
        st = self.server.state

        with st.lock:
            fault = st.take_fault(where)
        if fault is not None and fault["kind"] == "hang":
            time.sleep(float(fault.get("seconds", 5)))
            fault = None
        if fault is not None and fault["kind"] == "error":
            code = int(fault.get("code", 503))
            if "body" in fault:
                return self.send_raw(code, fault["body"].encode())
            raise ApiError(code, "CA is offline" if code == 503 else
                           "Injected error %d" % code)

        with st.lock:
            if op == "revocationstatus":
                cert = self.lookup(issuer, serial)
                pend = st.pending.get((issuer, serial))
                if pend is not None:
                    pend[1] -= 1
                    if pend[1] <= 0:
                        del st.pending[(issuer, serial)]
                        try:
                            apply_revoke(cert, pend[0], None)
                        except ApiError:
                            pass
                return self.send_json(200, status_doc(
                    cert, "Revocation status successfully retrieved"))

            reason = params.get("reason")
            if reason is None or reason not in REASONS or \
                    reason == "NOT_REVOKED":
                raise ApiError(400, "Invalid revocation reason.")
            for key in ("date", "invalidity_date"):
                if key in params and not ISO_8601.match(params[key]):
                    raise ApiError(400, "Invalid date format: %s" % key)
            if reason == "REMOVE_FROM_CRL" and "invalidity_date" in params:
                raise ApiError(400, "invalidity_date is not allowed with "
                               "REMOVE_FROM_CRL")
            cert = self.lookup(issuer, serial)
            if (issuer, serial) in st.pending:
                # Asked again while the first waits: waiting still.
                return self.send_json(202, {
                    "status_code": 202,
                    "info_message": "The revocation is already waiting "
                                    "for approval by an administrator"})
            if fault is not None and fault["kind"] == "approval":
                st.pending[(issuer, serial)] = [reason,
                                                int(fault.get("polls", 1))]
                return self.send_json(202, {
                    "status_code": 202,
                    "info_message": "The revocation is waiting for "
                                    "approval by an administrator"})
            if fault is not None and fault["kind"] == "noop":
                doc = status_doc(cert, "Successfully revoked")
                doc["revocation_reason"] = reason
                return self.send_json(200, doc)
            doc = apply_revoke(cert, reason, params.get("invalidity_date"))
        return self.send_json(200, doc)

    def route(self):
        path, _, query = self.path.partition("?")
        try:
            if path.startswith("/_"):
                return self.control(path)
            body = self.read_body()
            with self.server.state.lock:
                self.server.state.log.append({
                    "method": self.command, "path": path, "query": query,
                    "body": body.decode("utf-8", "replace")})
            self.api(path, query, body)
        except ApiError as e:
            self.send_json(e.code, {"error_code": e.code,
                                    "error_message": e.message})
        except (ValueError, KeyError) as e:
            self.send_json(400, {"error_code": 400,
                                 "error_message": "Bad request: %s" % e})

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, TimeoutError):
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = route


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ctx, state, work_dir):
        self.ctx = ctx
        self.state = state
        self.work_dir = work_dir
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's own thread.
        try:
            request.settimeout(30)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        self.RequestHandlerClass(tls, client_address, self)


def main():
    ap = argparse.ArgumentParser(description="EJBCA REST v1 stand-in")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca")
    ap.add_argument("--certs")
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()

    state = State()
    if args.certs:
        with open(args.certs, encoding="utf-8") as f:
            for doc in json.load(f):
                state.add(doc)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)

    server = Server(ctx, state,
                    os.path.dirname(os.path.abspath(args.port_file)))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
