#!/usr/bin/env python3
"""Sequential passphrase requests to revportal's API, each timed.

    api_seq.py URL CAFILE ACTION PASSPHRASE GAP_MS < SERIALS

For each serial number read from standard input (one a line, hex) sends
POST URL/api/v1/requests {"action":ACTION,"serial":...,"passphrase":...}
over one kept-alive TLS connection that trusts only CAFILE, and prints

    REQUEST_ID ANSWER_MS

where ANSWER_MS is the wall-clock time (milliseconds since the epoch, with
a fraction) at which the whole 202 answer had been read: the moment the
subscriber knows the request was taken.  tests/bench/bench_relay.sh
compares it with the time the relay recorded the CA's confirmation.
Then waits GAP_MS before the next request, so that each request meets an
idle relay.  Python 3 standard library only.

Exit status: 0; 1 when an answer is not 202 (the answer is printed on
stderr); 2 for a bad command line.
"""

import http.client
import json
import ssl
import sys
import time
import urllib.parse


def main(argv):
    if len(argv) != 6:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    url, cafile, action, passphrase, gap = argv[1:]
    try:
        gap_s = int(gap) / 1000.0
    except ValueError:
        print("api_seq.py: GAP_MS must be a number", file=sys.stderr)
        return 2
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https" or not u.hostname:
        print("api_seq.py: URL must be https://HOST:PORT", file=sys.stderr)
        return 2
    ctx = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                       context=ctx, timeout=30)
    headers = {"Content-Type": "application/json"}
    for line in sys.stdin:
        serial = line.strip()
        if not serial:
            continue
        body = json.dumps({"action": action, "serial": serial,
                           "passphrase": passphrase})
        conn.request("POST", "/api/v1/requests", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        answered = time.time() * 1000.0
        if resp.status != 202:
            print("api_seq.py: %s: HTTP %d %s" % (serial, resp.status,
                  data[:300].decode("utf-8", "replace")), file=sys.stderr)
            return 1
        rid = json.loads(data)["request_id"]
        print("%s %.3f" % (rid, answered), flush=True)
        time.sleep(gap_s)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
