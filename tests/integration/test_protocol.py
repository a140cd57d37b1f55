"""SMTP protocol behaviour of the real server, driven with raw sockets: pipelining, smuggling,
STARTTLS injection, CHUNKING, size limits, error replies, timeouts and connection limits."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RawClient, wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")
MAX_SIZE = 10000


def prepended(data: bytes) -> bytes:
    """What mailmoat put in front of the message (its Received: and any verdict headers)."""
    return data[:len(data) - len(harness.strip_received(data))]


def dot_stuff(data: bytes) -> bytes:
    out = []
    for line in data.split(b"\r\n"):
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out)


class Base(unittest.TestCase):
    def new_client(self, gw=None, host="127.0.0.1", ehlo=True):
        gw = gw or self.gw
        c = RawClient(gw.port, host)
        self.addCleanup(c.close)
        code, lines = c.read_reply()
        self.assertEqual(code, 220, lines)
        if ehlo:
            code, lines = c.cmd("EHLO client.example")
            self.assertEqual(code, 250, lines)
            c.ehlo_lines = lines
        return c

    def codes(self, replies):
        return [r[0] for r in replies]


class ProtocolTest(Base):
    @classmethod
    def setUpClass(cls):
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(smtp={"max_message_size": MAX_SIZE, "max_data_line": 1000})
        try:
            cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
            cls.gw.start()
        except Exception:
            cls.gw.cleanup()
            cls.sink.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()

    def setUp(self):
        with self.sink.lock:
            self.sink.messages.clear()

    def settle(self, expected, timeout=15):
        """Waits for `expected` messages at the sink, then makes sure no more arrive."""
        if expected:
            self.sink.wait_for(expected, timeout)
        wait_until(lambda: self.gw.queue_list() == [], timeout, what="the queue to drain")
        time.sleep(0.3)
        self.assertEqual(self.sink.count(), expected, [m["rcpts"] for m in self.sink.messages])

    def send_canary(self):
        c = self.new_client()
        c.send("MAIL FROM:<canary@sender.example>\r\nRCPT TO:<canary@acme.example>\r\nDATA\r\n")
        self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
        c.send(harness.message(subject="canary", to="canary@acme.example") + b".\r\nQUIT\r\n")
        self.assertEqual(self.codes(c.read_until_closed()), [250, 221])

    # ---- EHLO

    def test_ehlo_capabilities(self):
        c = self.new_client()
        self.assertEqual(c.ehlo_lines[0], "mx.test.example")
        caps = {l.split()[0].upper(): l for l in c.ehlo_lines[1:]}
        for cap in ("PIPELINING", "SIZE", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8",
                    "CHUNKING"):
            self.assertIn(cap, caps)
        self.assertEqual(caps["SIZE"], f"SIZE {MAX_SIZE}")
        self.assertNotIn("AUTH", caps, "no AUTH without TLS (and none is implemented)")
        code, lines = c.cmd("HELO client.example")
        self.assertEqual((code, lines), (250, ["mx.test.example"]))

    # ---- pipelining

    def test_pipelined_transaction_in_one_write(self):
        c = RawClient(self.gw.port)
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply()[0], 220)
        body = harness.message(subject="pipelined", body="one\r\n.dot\r\n..two\r\nend\r\n")
        c.send(b"EHLO client.example\r\n"
               b"MAIL FROM:<alice@sender.example>\r\n"
               b"RCPT TO:<bob@acme.example>\r\n"
               b"RCPT TO:<nobody@other.example>\r\n"
               b"RCPT TO:<carol@acme.example>\r\n"
               b"DATA\r\n" + dot_stuff(body) + b".\r\n"
               b"QUIT\r\n")
        replies = c.read_until_closed()
        self.assertEqual(self.codes(replies), [250, 250, 250, 550, 250, 354, 250, 221], replies)
        self.assertEqual(replies[0][1][0], "mx.test.example")
        self.assertTrue(replies[3][1][0].startswith("5.7.1"))
        qid = QID.search(replies[6][1][0]).group(1)
        self.settle(1)
        m = self.sink.messages[0]
        self.assertEqual(sorted(m["rcpts"]), ["bob@acme.example", "carol@acme.example"])
        self.assertEqual(harness.strip_received(m["data"]), body)
        self.assertIn(f"id {qid}".encode(), prepended(m["data"]))

    def test_two_pipelined_transactions_in_one_write(self):
        c = self.new_client()
        m1 = harness.message(subject="pipe-1")
        m2 = harness.message(subject="pipe-2")
        c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<one@acme.example>\r\nDATA\r\n" + m1 +
               b".\r\nMAIL FROM:<alice@sender.example>\r\nRCPT TO:<two@acme.example>\r\nDATA\r\n" + m2 +
               b".\r\nQUIT\r\n")
        replies = c.read_until_closed()
        self.assertEqual(self.codes(replies), [250, 250, 354, 250, 250, 250, 354, 250, 221], replies)
        self.settle(2)
        got = {m["rcpts"][0]: harness.strip_received(m["data"]) for m in self.sink.messages}
        self.assertEqual(got, {"one@acme.example": m1, "two@acme.example": m2})

    # ---- SMTP smuggling

    def test_smtp_smuggling_refused_or_single_message(self):
        variants = {"lf-dot-crlf": b"\n.\r\n", "crlf-dot-lf": b"\r\n.\n", "cr-dot-crlf": b"\r.\r\n",
                    "lf-dot-lf": b"\n.\n", "crlf-dot-cr": b"\r\n.\r", "cr-dot-cr": b"\r.\r"}
        accepted = 0
        for name, sep in variants.items():
            with self.subTest(variant=name):
                c = self.new_client()
                c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nDATA\r\n")
                self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
                c.send(b"Subject: smuggle-" + name.encode() + b"\r\n\r\nfirst part" + sep +
                       b"MAIL FROM:<x@evil.example>\r\n"
                       b"RCPT TO:<victim@acme.example>\r\n"
                       b"DATA\r\n"
                       b"Subject: smuggled\r\n\r\nevil body\r\n"
                       b".\r\n"
                       b"QUIT\r\n")
                replies = c.read_until_closed()
                codes = self.codes(replies)
                self.assertEqual(len(codes), 2, f"{name}: the smuggled commands were answered: {replies}")
                self.assertIn(codes[0] // 100, (2, 5), replies)
                self.assertEqual(codes[1], 221)
                if codes[0] == 250:
                    accepted += 1
        self.send_canary()
        self.settle(accepted + 1)
        for m in self.sink.messages:
            self.assertNotIn("victim@acme.example", m["rcpts"])
            self.assertNotEqual(m["sender"], "x@evil.example")
        self.assertFalse([e for e in self.gw.log_events() if e.get("recipient") == "victim@acme.example"])

    def test_bare_lf_in_data_refused(self):
        c = self.new_client()
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nDATA\r\n")
        self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
        c.send(b"Subject: bare\r\n\r\nline with bare LF\nnext\r\n.\r\n")
        code, lines = c.read_reply()
        self.assertEqual(code, 550)
        self.assertTrue(lines[0].startswith("5.6.0"), lines)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        self.settle(0)

    # ---- STARTTLS

    def test_starttls_command_injection_not_answered(self):
        c = self.new_client()
        self.assertIn("STARTTLS", c.ehlo_lines)
        c.send(b"STARTTLS\r\nRSET\r\n")
        code, lines = c.read_reply()
        self.assertEqual(code, 220, lines)
        c.starttls()  # fails if a plaintext reply to RSET already arrived
        self.assertTrue(c.nothing_within(1.0), f"the injected RSET was answered: {c.buf!r}")
        code, lines = c.cmd("EHLO client.example")
        self.assertEqual(code, 250)
        self.assertEqual(lines[0], "mx.test.example", "first reply inside TLS is not the EHLO reply")
        self.assertNotIn("STARTTLS", lines)
        self.assertEqual(c.cmd("STARTTLS")[0], 503)

    def test_starttls_injected_mail_is_discarded(self):
        c = self.new_client()
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@evil.example>\r\n")
        self.assertEqual(c.read_reply()[0], 220)
        version = c.starttls()
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        code, lines = c.cmd("RCPT TO:<bob@acme.example>")
        self.assertEqual(code, 503, f"injected MAIL FROM survived the TLS handshake: {lines}")
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<bob@acme.example>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        msg = harness.message(subject="after-tls")
        c.send(msg + b".\r\n")
        self.assertEqual(c.read_reply()[0], 250)
        c.send("QUIT\r\n")
        self.settle(1)
        m = self.sink.messages[0]
        self.assertEqual(m["sender"], "alice@sender.example")
        self.assertEqual(harness.strip_received(m["data"]), msg)
        self.assertIn(f"with ESMTPS ({version} ".encode(), prepended(m["data"]))

    def test_starttls_refused_inside_transaction(self):
        c = self.new_client()
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example>")[0], 250)
        code, lines = c.cmd("STARTTLS")
        self.assertEqual(code, 503, lines)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("STARTTLS x")[0], 501)

    # ---- CHUNKING

    def test_bdat_two_chunks(self):
        chunk1 = (b"Subject: bdat\r\nFrom: alice@sender.example\r\n\r\n"
                  b"line1\r\n.\r\n..dots\r\n.leading\r\nsplit li")
        chunk2 = b"ne\r\n\r\n.\r\nMAIL FROM:<x@evil.example>\r\nend\r\n"
        c = self.new_client()
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\n")
        self.assertEqual(self.codes(c.read_replies(2)), [250, 250])
        c.send(f"BDAT {len(chunk1)}\r\n".encode() + chunk1)
        code, lines = c.read_reply()
        self.assertEqual(code, 250)
        self.assertIn(f"{len(chunk1)} octets", lines[0])
        c.send(f"BDAT {len(chunk2)} LAST\r\n".encode() + chunk2)
        code, lines = c.read_reply()
        self.assertEqual(code, 250, lines)
        self.assertRegex(lines[0], QID)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.settle(1)
        self.assertEqual(harness.strip_received(self.sink.messages[0]["data"]), chunk1 + chunk2)
        self.assertEqual(self.sink.messages[0]["sender"], "alice@sender.example")

    def test_bdat_pipelined_with_empty_last_chunk(self):
        body = harness.message(subject="bdat-pipe", body="a\r\n.b\r\nc\r\n")
        parts = [body[:10], body[10:]]
        c = self.new_client()
        c.send(b"MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\n" +
               b"".join(f"BDAT {len(p)}\r\n".encode() + p for p in parts) +
               b"BDAT 0 LAST\r\nQUIT\r\n")
        replies = c.read_until_closed()
        self.assertEqual(self.codes(replies), [250, 250, 250, 250, 250, 221], replies)
        self.settle(1)
        self.assertEqual(harness.strip_received(self.sink.messages[0]["data"]), body)

    def test_bdat_bare_lf_refused_and_data_after_bdat_refused(self):
        c = self.new_client()
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\n")
        self.assertEqual(self.codes(c.read_replies(2)), [250, 250])
        chunk = b"Subject: x\r\n\r\nbare\nlf\r\n"
        c.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
        code, lines = c.read_reply()
        self.assertEqual(code, 550, lines)
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nBDAT 3\r\nabc")
        self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 250])
        self.assertEqual(c.cmd("DATA")[0], 503)
        self.settle(0)

    # ---- SIZE

    def test_size_limits(self):
        c = self.new_client()
        code, lines = c.cmd(f"MAIL FROM:<alice@sender.example> SIZE={MAX_SIZE + 1}")
        self.assertEqual(code, 552, lines)
        self.assertTrue(lines[0].startswith("5.3.4"), lines)
        self.assertEqual(c.cmd(f"MAIL FROM:<alice@sender.example> SIZE={MAX_SIZE}")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<big@acme.example>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        big = harness.message(subject="too-big", body="x" * 70 + "\r\n") * 1
        big += (("y" * 98 + "\r\n") * 200).encode()
        self.assertGreater(len(big), MAX_SIZE)
        c.send(big + b".\r\n")
        code, lines = c.read_reply(timeout=20)
        self.assertEqual(code, 552, lines)
        self.assertTrue(lines[0].startswith("5.3.4"), lines)
        # The session goes on; a message of exactly the limit is accepted.
        self.assertEqual(c.cmd("NOOP")[0], 250)
        head = harness.message(subject="exact", to="exact@acme.example", body="")
        exact = head + (b"z" * 98 + b"\r\n") * ((MAX_SIZE - len(head)) // 100)
        exact += b"w" * (MAX_SIZE - len(exact) - 2) + b"\r\n"
        self.assertEqual(len(exact), MAX_SIZE)
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<exact@acme.example>\r\nDATA\r\n")
        self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
        c.send(exact + b".\r\n")
        self.assertEqual(c.read_reply()[0], 250)
        # And one byte more is refused, also with BDAT.
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<big@acme.example>\r\n")
        self.assertEqual(self.codes(c.read_replies(2)), [250, 250])
        over = exact[:-2] + b"w\r\n"
        c.send(f"BDAT {len(over)} LAST\r\n".encode() + over)
        code, lines = c.read_reply()
        self.assertEqual(code, 552, lines)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.settle(1)
        self.assertEqual(self.sink.messages[0]["rcpts"], ["exact@acme.example"])
        self.assertEqual(harness.strip_received(self.sink.messages[0]["data"]), exact)

    def test_long_lines(self):
        c = self.new_client()
        code, lines = c.cmd("NOOP " + "a" * 3000)
        self.assertEqual(code, 500, lines)
        self.assertTrue(lines[0].startswith("5.5.6"), lines)
        self.assertEqual(c.cmd("NOOP")[0], 250, "the rest of the long line must be discarded")
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nDATA\r\n")
        self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
        c.send(b"Subject: long\r\n\r\n" + b"q" * 1500 + b"\r\n.\r\n")
        code, lines = c.read_reply()
        self.assertEqual(code, 552, lines)
        self.assertTrue(lines[0].startswith("5.3.4"), lines)
        self.settle(0)

    # ---- replies to odd commands

    def test_command_replies(self):
        c = self.new_client(ehlo=False)
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example>")[0], 503)  # before EHLO
        self.assertEqual(c.cmd("EHLO")[0], 501)
        self.assertEqual(c.cmd("EHLO client.example")[0], 250)
        code, lines = c.cmd("VRFY bob@acme.example")
        self.assertEqual(code, 252, lines)
        self.assertEqual(c.cmd("VRFY")[0], 501)
        self.assertEqual(c.cmd("EXPN staff")[0], 502)
        code, lines = c.cmd("FROBNICATE")
        self.assertEqual(code, 500)
        self.assertTrue(lines[0].startswith("5.5.2"), lines)
        self.assertEqual(c.cmd("NO\x00OP")[0], 500)
        self.assertEqual(c.cmd("")[0], 500)
        self.assertEqual(c.cmd("RCPT TO:<bob@acme.example>")[0], 503)  # before MAIL
        self.assertEqual(c.cmd("DATA")[0], 503)                        # before MAIL
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example>")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example>")[0], 503)  # nested
        self.assertEqual(c.cmd("DATA")[0], 503)                        # before RCPT
        self.assertEqual(c.cmd("RCPT TO:<bob@acme.example> NOTIFY=NEVER")[0], 555)
        self.assertEqual(c.cmd("RCPT TO:<bob@acme.example>")[0], 250)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 503)                        # RSET forgot the transaction
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example> FOO=BAR")[0], 555)
        self.assertEqual(c.cmd("MAIL FROM:<alice@sender.example> SIZE=abc")[0], 501)
        self.assertEqual(c.cmd("MAIL FROM:<jürgen@sender.example>")[0], 553)  # no SMTPUTF8
        self.assertEqual(c.cmd("MAIL FROM:alice")[0], 501)
        self.assertEqual(c.cmd("HELP")[0], 214)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        code, lines = c.cmd("QUIT")
        self.assertEqual(code, 221)
        self.assertEqual(c.read_until_closed(timeout=5), [])
        self.settle(0)

    def test_too_many_errors_disconnects(self):
        c = self.new_client()
        c.send(b"FOO\r\n" * 20)  # max_errors defaults to 20
        replies = c.read_until_closed(timeout=10)
        self.assertEqual(self.codes(replies), [500] * 20 + [421], replies)
        self.assertTrue(replies[-1][1][0].startswith("4.7.0"), replies[-1])

    def test_mail_loop_detected(self):
        hops = "".join(f"Received: from h{i}.example by h{i + 1}.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                       for i in range(50))
        c = self.new_client()
        for n, expect in ((49, 250), (50, 554)):
            c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<loop@acme.example>\r\nDATA\r\n")
            self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
            c.send(harness.message(subject=f"hops-{n}", extra="".join(hops.splitlines(True)[:n])) + b".\r\n")
            code, lines = c.read_reply()
            self.assertEqual(code, expect, (n, lines))
            if expect == 554:
                self.assertTrue(lines[0].startswith("5.4.6"), lines)
        c.send("QUIT\r\n")
        self.settle(1)
        self.assertIn(b"Subject: hops-49", self.sink.messages[0]["data"])

    def test_disconnect_reasons_logged(self):
        c = self.new_client()
        port_eof = c.sock.getsockname()[1]
        c.close()  # drops the connection without QUIT
        c2 = self.new_client()
        port_quit = c2.sock.getsockname()[1]
        self.assertEqual(c2.cmd("QUIT")[0], 221)

        def reasons():
            session_of, reason = {}, {}
            for e in self.gw.log_events():
                if e.get("event") == "smtp.connect" and e.get("ip") == "127.0.0.1":
                    session_of[e["port"]] = e["session"]
                elif e.get("event") == "smtp.disconnect":
                    reason[e["session"]] = e["reason"]
            got = {p: reason.get(session_of.get(p)) for p in (port_eof, port_quit)}
            return got if all(got.values()) else None
        got = wait_until(reasons, 5, what="both smtp.disconnect events")
        self.assertEqual(got[port_quit], "quit")
        self.assertEqual(got[port_eof], "eof",
                         "a client that hangs up is not a timeout (the command timeout is 300 s)")

    def test_ipv6_raw_session(self):
        c = self.new_client(host="::1")
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<v6@acme.example>\r\nDATA\r\n")
        self.assertEqual(self.codes(c.read_replies(3)), [250, 250, 354])
        msg = harness.message(subject="v6raw")
        c.send(msg + b".\r\nQUIT\r\n")
        self.assertEqual(self.codes(c.read_until_closed()), [250, 221])
        self.settle(1)
        self.assertIn(b"from client.example ([::1])", prepended(self.sink.messages[0]["data"]))


class TimeoutTest(Base):
    def setUp(self):
        self.sink = harness.Sink().start()
        self.addCleanup(self.sink.stop)
        self.gw = harness.Gateway(smtp={"command_timeout_s": 2, "data_timeout_s": 2})
        self.addCleanup(self.gw.cleanup)
        self.gw.add_tenant_domain("acme", "acme.example", self.sink.port)
        self.gw.start()

    def expect_timeout(self, c, t0):
        code, lines = c.read_reply(timeout=10)
        elapsed = time.time() - t0
        self.assertEqual(code, 421, lines)
        self.assertTrue(lines[0].startswith("4.4.2"), lines)
        self.assertGreater(elapsed, 1.5, "timed out too early")
        self.assertLess(elapsed, 6, "timed out too late")
        self.assertEqual(c.read_until_closed(timeout=5), [], "not disconnected after the timeout")

    def test_idle_client_gets_421(self):
        c = self.new_client(ehlo=False)
        self.expect_timeout(c, time.time())

    def test_idle_after_commands_and_in_data(self):
        c = self.new_client()
        # Activity resets the timer: 3 commands 1 s apart stay within the 2 s timeout.
        for _ in range(3):
            time.sleep(1.0)
            self.assertEqual(c.cmd("NOOP")[0], 250)
        c2 = self.new_client()
        c2.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nDATA\r\n")
        self.assertEqual(self.codes(c2.read_replies(3)), [250, 250, 354])
        c2.send(b"Subject: half\r\n\r\nunfinished")
        self.expect_timeout(c2, time.time())
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), 0)
        self.assertEqual(self.gw.queue_list(), [])


class ConnectionLimitTest(Base):
    def setUp(self):
        self.gw = harness.Gateway(smtp={"max_sessions_per_ip": 3})
        self.addCleanup(self.gw.cleanup)
        self.gw.start()
        time.sleep(0.5)  # wait_ready's probe connection must be gone before we count

    def test_fourth_connection_refused(self):
        clients = [self.new_client(ehlo=False) for _ in range(3)]
        c4 = RawClient(self.gw.port)
        self.addCleanup(c4.close)
        replies = c4.read_until_closed(timeout=5)
        self.assertEqual(self.codes(replies), [421], replies)
        self.assertTrue(replies[0][1][0].startswith("4.7.0"), replies)
        # Another address has its own allowance.
        v6 = self.new_client(host="::1", ehlo=False)
        self.assertEqual(v6.cmd("NOOP")[0], 250)
        # The three still work; closing one frees a slot.
        for c in clients:
            self.assertEqual(c.cmd("NOOP")[0], 250)
        self.assertEqual(clients[0].cmd("QUIT")[0], 221)
        clients[0].close()

        def slot_free():
            c = RawClient(self.gw.port)
            try:
                code, _ = c.read_reply(timeout=5)
                return code == 220
            except (EOFError, OSError):
                return False
            finally:
                c.close()
        wait_until(slot_free, 5, interval=0.2, what="a freed connection slot")


if __name__ == "__main__":
    harness.main()
