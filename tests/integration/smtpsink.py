#!/usr/bin/python3
"""A real SMTP server on loopback for the e-mail tests (Debian's aiosmtpd).

Every message accepted is stored in DIR as msg-N.eml, exactly the bytes of
the DATA (after the SMTP dot-unstuffing), with its envelope beside it in
msg-N.env ("from <addr>" and one "to <addr>" line per recipient); each file
is written under a temporary name and renamed, so a reader never sees half
a message.  The port it listens on (PORT, or one the kernel chose for 0) is
written to PORT_FILE once it accepts connections.  A recipient whose local
part starts with REJECT is refused with 550 and one starting with LATER
with 451.  Quiet (only errors on stderr); stops on SIGTERM or SIGINT.

    /usr/bin/python3 tests/integration/smtpsink.py --dir DIR \
        --port-file FILE [--port PORT] [--reject reject] [--later later]
"""

import argparse
import asyncio
import logging
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    """The aiosmtpd handler: refuses some recipients, stores the rest."""

    def __init__(self, directory, reject, later):
        self.dir = directory
        self.reject = reject
        self.later = later
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        local = address.split("@", 1)[0]
        if self.reject and local.startswith(self.reject):
            return "550 5.1.1 No such user here"
        if self.later and local.startswith(self.later):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.dir, "msg-%d" % self.n)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        env = "from %s\n" % envelope.mail_from
        env += "".join("to %s\n" % r for r in envelope.rcpt_tos)
        for ext, content in ((".env", env.encode()), (".eml", data)):
            tmp = base + ext + ".tmp"
            with open(tmp, "wb") as f:
                f.write(content)
            os.rename(tmp, base + ext)
        return "250 Message accepted"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--reject", default="reject")
    ap.add_argument("--later", default="later")
    a = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    os.makedirs(a.dir, exist_ok=True)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    sink = Sink(a.dir, a.reject, a.later)

    def factory():
        return SMTP(sink, hostname="sink.test", decode_data=False,
                    enable_SMTPUTF8=False, loop=loop)

    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=a.port))
    port = server.sockets[0].getsockname()[1]
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, a.port_file)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
