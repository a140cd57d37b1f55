"""Relaying: what a client submits for a protected domain arrives downstream unchanged apart from
one prepended Received: header, with the right envelope, exactly once, and is tracked."""
import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")


def received_of(data: bytes) -> str:
    """The prepended Received: field (folding line breaks kept)."""
    return harness.received_field(data).decode("utf-8", "replace")


class RelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway()
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
        self.sink.mode = "accept"
        self.sink.rcpt_codes = {}

    # ---- helpers

    def submit(self, msg, rcpts, sender="alice@sender.example", host="127.0.0.1", tls=False,
               mail_options=()):
        """Sends one message over smtplib; returns (queue id, final reply text, smtp object info)."""
        s = harness.smtplib.SMTP(host, self.gw.port, local_hostname="client.example", timeout=60)
        try:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            tls_version = None
            if tls:
                self.assertTrue(s.has_extn("starttls"), "STARTTLS not advertised")
                code, _ = s.starttls(context=harness.unverified_tls_context())
                self.assertEqual(code, 220)
                tls_version = s.sock.version()
                s.ehlo()
                self.assertFalse(s.has_extn("starttls"), "STARTTLS still advertised inside TLS")
            code, text = s.mail(sender, list(mail_options))
            self.assertEqual(code, 250, text)
            for r in rcpts:
                code, text = s.rcpt(r)
                self.assertEqual(code, 250, f"RCPT {r}: {text}")
            code, text = s.data(msg)
            text = text.decode()
            self.assertEqual(code, 250, text)
            m = QID.search(text)
            self.assertIsNotNone(m, f"no queue id in the DATA reply {text!r}")
            s.quit()
            return m.group(1), tls_version
        finally:
            s.close()

    def only_message(self, timeout=30):
        self.sink.wait_for(1, timeout)
        time.sleep(0.3)  # a duplicate would usually be right behind
        self.assertEqual(self.sink.count(), 1, "message delivered more than once")
        return self.sink.messages[0]

    def wait_queue_empty(self):
        wait_until(lambda: self.gw.queue_list() == [], 15, what="the queue to be empty")

    # ---- tests

    def test_smtplib_relay_byte_identical_with_received_header(self):
        msg = harness.message(subject="plain-relay",
                              body="Hello Bob,\r\n\r\nsee you at 10.\r\n  indented line\r\n\tTabbed\r\n",
                              extra="Received: from upstream.example by mx.other.example; "
                                    "Mon, 1 Jan 2024 00:00:00 +0000\r\nX-Custom: keep me\r\n")
        qid, _ = self.submit(msg, ["bob@acme.example"])
        m = self.only_message()
        self.assertEqual(m["sender"], "alice@sender.example")
        self.assertEqual(m["rcpts"], ["bob@acme.example"])
        self.assertEqual(harness.strip_received(m["data"]), msg)
        rec = received_of(m["data"])
        self.assertIn("from client.example ([127.0.0.1])", rec)
        self.assertIn("by mx.test.example (mailmoat) with ESMTP\r\n", rec)
        self.assertNotIn("ESMTPS", rec)
        self.assertRegex(rec, rf"\bid {qid}\b")
        self.assertIn("for <bob@acme.example>;", rec)
        # Date part parses and is recent.
        date = rec.rsplit(";", 1)[1].strip()
        from email.utils import parsedate_to_datetime
        ts = parsedate_to_datetime(date).timestamp()
        self.assertLess(abs(ts - time.time()), 120, date)
        # Every physical line of the header is CRLF-terminated and continuation lines are folded.
        for i, line in enumerate(rec.split("\r\n")[:-1]):
            if i:
                self.assertTrue(line.startswith(("\t", " ")), repr(line))

    def test_swaks_relay(self):
        msg = harness.message(subject="swaks-relay", body="Sent by swaks.\r\n.leading dot\r\nbye\r\n")
        path = os.path.join(self.gw.tmp, "swaks.eml")
        with open(path, "wb") as f:
            f.write(msg[:-2])  # swaks appends the final CRLF itself
        r = subprocess.run(["swaks", "--server", f"127.0.0.1:{self.gw.port}", "--helo", "swaks.example",
                            "--from", "carol@sender.example", "--to", "bob@acme.example",
                            "--data", "@" + path, "--timeout", "30"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        mq = QID.search(r.stdout)
        self.assertIsNotNone(mq, r.stdout)
        m = self.only_message()
        self.assertEqual(m["sender"], "carol@sender.example")
        self.assertEqual(m["rcpts"], ["bob@acme.example"])
        self.assertEqual(harness.strip_received(m["data"]), msg)
        rec = received_of(m["data"])
        self.assertIn("from swaks.example ([127.0.0.1])", rec)
        self.assertRegex(rec, rf"\bid {mq.group(1)}\b")

    def test_multi_recipient_delivered_once_without_for_clause(self):
        msg = harness.message(subject="multi", to="bob@acme.example, carol@acme.example")
        rcpts = ["bob@acme.example", "carol@acme.example", "dave@acme.example"]
        qid, _ = self.submit(msg, rcpts)
        m = self.only_message()
        time.sleep(1.0)
        self.assertEqual(self.sink.count(), 1, "a multi-recipient message must be delivered once")
        self.assertEqual(sorted(m["rcpts"]), sorted(rcpts))
        self.assertEqual(harness.strip_received(m["data"]), msg)
        rec = received_of(m["data"])
        self.assertRegex(rec, rf"\bid {qid};")
        self.assertNotIn("for <", rec, "the Received header must not list several recipients")
        for r in rcpts:
            self.assertNotIn(r, rec)

    def test_starttls_session(self):
        msg = harness.message(subject="tls-relay", body="over TLS\r\n")
        qid, version = self.submit(msg, ["bob@acme.example"], tls=True)
        self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
        m = self.only_message()
        self.assertEqual(harness.strip_received(m["data"]), msg)
        rec = received_of(m["data"])
        self.assertIn(f"with ESMTPS ({version} ", rec)
        self.assertRegex(rec, rf"\bid {qid}\b")
        # The HELO given inside TLS is the one recorded (state reset after STARTTLS).
        self.assertIn("from client.example ([127.0.0.1])", rec)

    def test_ipv6_listener(self):
        try:
            with socket.create_connection(("::1", self.gw.port), timeout=5) as s:
                self.assertTrue(s.recv(512).startswith(b"220 mx.test.example"))
        except OSError as e:
            self.fail(f"no IPv6 listener on [::1]:{self.gw.port}: {e}")
        msg = harness.message(subject="ipv6-relay")
        qid, _ = self.submit(msg, ["bob@acme.example"], host="::1")
        m = self.only_message()
        self.assertEqual(harness.strip_received(m["data"]), msg)
        rec = received_of(m["data"])
        self.assertIn("from client.example ([::1])", rec)
        self.assertRegex(rec, rf"\bid {qid}\b")

    def test_dot_stuffing_and_8bit_utf8_body(self):
        body = ("Grüße aus Köln — 日本語テキスト ✓\r\n"
                ".a line starting with a dot\r\n"
                "..two dots\r\n"
                ".\r\n"
                "..\r\n"
                " .space dot\r\n"
                ". \r\n"
                "end\r\n").encode("utf-8")
        msg = harness.message(subject="eightbit", extra="MIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: 8bit\r\n") + body
        qid, _ = self.submit(msg, ["bob@acme.example"], mail_options=["BODY=8BITMIME"])
        m = self.only_message()
        self.assertEqual(harness.strip_received(m["data"]), msg)
        self.assertIn("BODY=8BITMIME", [o.upper() for o in m["mail_options"]],
                      "the 8-bit body must be relayed with BODY=8BITMIME")

    def test_large_message_intact(self):
        line = "".join(chr(ord("a") + i % 26) for i in range(76))
        lines = []
        size = 0
        i = 0
        while size < 5 * 1024 * 1024:
            ln = (f".{i:07d}" if i % 997 == 0 else f"{i:07d} ") + line + "\r\n"
            lines.append(ln)
            size += len(ln)
            i += 1
        msg = harness.message(subject="big") + "".join(lines).encode()
        self.assertGreater(len(msg), 5 * 1024 * 1024)
        qid, _ = self.submit(msg, ["bob@acme.example"])
        m = self.only_message(timeout=60)
        got = harness.strip_received(m["data"])
        self.assertEqual(len(got), len(msg))
        self.assertTrue(got == msg, "5 MB message changed in transit")

    def test_queue_empty_tracking_and_log_after_delivery(self):
        msg = harness.message(subject="tracked")
        qid, _ = self.submit(msg, ["trackme@acme.example"])
        self.only_message()
        self.wait_queue_empty()
        out = self.gw.cli("queue", "list").stdout
        self.assertIn("The queue is empty", out)

        def tracked():
            r = self.gw.cli("track", "--id", qid).stdout
            return r if ("delivered" in r and "received" in r) else None
        out = wait_until(tracked, 10, what="track to show received and delivered")
        lines = out.splitlines()
        rec = [l for l in lines if re.search(r"\breceived\b", l)]
        dlv = [l for l in lines if re.search(r"\bdelivered\b", l)]
        self.assertEqual(len(rec), 1, out)
        self.assertEqual(len(dlv), 1, out)
        self.assertIn(qid, dlv[0])
        self.assertIn("<trackme@acme.example>", dlv[0])
        self.assertIn("250 2.0.0 sink queued", dlv[0], "the sink's reply must be tracked")
        self.assertIn(f"127.0.0.1]:{self.sink.port}", dlv[0], "the downstream peer must be tracked")
        self.assertLess(lines.index(rec[0]), lines.index(dlv[0]), "events out of order")

        show = self.gw.cli("queue", "show", qid)
        self.assertEqual(show.returncode, 0)
        self.assertIn("no longer in the queue", show.stdout)
        self.assertRegex(show.stdout, r"received\s+<trackme@acme.example>")
        self.assertRegex(show.stdout, r"delivered\s+<trackme@acme.example> 250 2.0.0 sink queued")

        js = self.gw.cli("track", "--id", qid, "--json").stdout
        events = [harness.json.loads(l) for l in js.splitlines() if l.strip()]
        self.assertEqual({e["event"] for e in events} >= {"received", "delivered"}, True, events)
        self.assertTrue(all(e["queue_id"] == qid for e in events))
        self.assertTrue(all(e.get("tenant") == "acme" for e in events), events)

        def logged():
            return [e for e in self.gw.log_events()
                    if e.get("event") == "track.delivered" and e.get("queue_id") == qid]
        ev = wait_until(logged, 10, what="track.delivered in the JSON log")
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["recipient"], "trackme@acme.example")
        self.assertIn("sink queued", ev[0]["detail"])
        self.assertTrue([e for e in self.gw.log_events()
                         if e.get("event") == "track.received" and e.get("queue_id") == qid])

    def test_smtputf8_relay(self):
        msg = ("From: jürgen@sender.example\r\nTo: bob@acme.example\r\nSubject: ünïcödé\r\n"
               "Message-ID: <utf8@test>\r\n\r\nGrüße\r\n").encode("utf-8")
        s = self.gw.smtp()
        try:
            s.ehlo()
            self.assertTrue(s.has_extn("smtputf8"))
            s.command_encoding = "utf-8"
            code, text = s.docmd("MAIL", "FROM:<jürgen@sender.example> SMTPUTF8 BODY=8BITMIME")
            self.assertEqual(code, 250, text)
            self.assertEqual(s.docmd("RCPT", "TO:<bob@acme.example>")[0], 250)
            code, text = s.data(msg)
            self.assertEqual(code, 250, text)
            s.quit()
        finally:
            s.close()
        m = self.only_message()
        self.assertEqual(m["sender"], "jürgen@sender.example")
        self.assertEqual(harness.strip_received(m["data"]), msg)
        self.assertIn("SMTPUTF8", [o.upper() for o in m["mail_options"]])
        self.assertIn("with UTF8SMTP", received_of(m["data"]))

    def test_address_forms_preserved(self):
        # The local part is case-sensitive and must be relayed as given; the domain is not.
        msg = harness.message(subject="address-forms")
        s = self.gw.smtp()
        try:
            s.ehlo()
            s.docmd("MAIL", "FROM:<Alice.Sender@Sender.Example>")
            for r in ("Bob.Smith@ACME.Example", '"john doe"@acme.example', "x+tag@acme.example."):
                code, text = s.docmd("RCPT", f"TO:<{r}>")
                self.assertEqual(code, 250, f"{r}: {text}")
            code, text = s.data(msg)
            self.assertEqual(code, 250, text)
            s.quit()
        finally:
            s.close()
        m = self.only_message()
        self.assertEqual(sorted(m["rcpts"]),
                         sorted(["Bob.Smith@acme.example", '"john doe"@acme.example', "x+tag@acme.example"]))
        self.assertEqual(m["sender"].split("@")[0], "Alice.Sender")

    def test_helo_name_sanitized_in_received(self):
        c = harness.RawClient(self.gw.port)
        self.addCleanup(c.close)
        self.assertEqual(c.read_reply()[0], 220)
        self.assertEqual(c.cmd("EHLO evil(host)<x>;by=me")[0], 250)
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nDATA\r\n")
        self.assertEqual([r[0] for r in c.read_replies(3)], [250, 250, 354])
        msg = harness.message(subject="helo-sanitize")
        c.send(msg + b".\r\nQUIT\r\n")
        self.assertEqual([r[0] for r in c.read_until_closed()], [250, 221])
        m = self.only_message()
        rec = received_of(m["data"])
        self.assertIn("from evil?host??x??by?me ([127.0.0.1])", rec)
        self.assertEqual(harness.strip_received(m["data"]), msg)

    def test_message_in_one_session_each_gets_own_id(self):
        s = self.gw.smtp()
        try:
            ids = []
            for n in range(3):
                s.ehlo_or_helo_if_needed()
                s.mail("alice@sender.example")
                s.rcpt(f"user{n}@acme.example")
                code, text = s.data(harness.message(subject=f"same-session-{n}"))
                self.assertEqual(code, 250)
                ids.append(QID.search(text.decode()).group(1))
            s.quit()
        finally:
            s.close()
        self.assertEqual(len(set(ids)), 3, ids)
        self.sink.wait_for(3)
        time.sleep(0.3)
        self.assertEqual(self.sink.count(), 3)
        got = {m["rcpts"][0]: m for m in self.sink.messages}
        for n, qid in enumerate(ids):
            m = got[f"user{n}@acme.example"]
            self.assertEqual(harness.strip_received(m["data"]), harness.message(subject=f"same-session-{n}"))
            self.assertRegex(received_of(m["data"]), rf"\bid {qid}\b")


class BrokenTlsServer:
    """A downstream that offers STARTTLS, answers 220 and then hangs up instead of a handshake;
    without STARTTLS it is a plain recording SMTP server."""

    def __init__(self):
        self.port = harness.free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.messages, self.starttls_seen, self.stop = [], 0, False
        import threading
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        deadline = time.time() + 60
        while not self.stop and time.time() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.session(conn)
                except OSError:
                    pass

    def session(self, conn):
        f = conn.makefile("rb")
        conn.sendall(b"220 broken-tls.example ESMTP\r\n")
        data = None
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                conn.sendall(b"250-broken-tls.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
            elif cmd == b"STARTTLS":
                self.starttls_seen += 1
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                return  # no handshake: the client's TLS fails
            elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT") or cmd == b"RSET":
                conn.sendall(b"250 ok\r\n")
            elif cmd == b"DATA":
                conn.sendall(b"354 go\r\n")
                data = b""
                while True:
                    l = f.readline()
                    if l in (b".\r\n", b""):
                        break
                    data += l
                self.messages.append(data)
                conn.sendall(b"250 2.0.0 stored\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 no\r\n")

    def close(self):
        self.stop = True
        self.thread.join(5)
        self.sock.close()


class OpportunisticTlsFallbackTest(unittest.TestCase):
    def test_broken_starttls_falls_back_to_plaintext(self):
        srv = BrokenTlsServer()
        self.addCleanup(srv.close)
        gw = harness.Gateway()
        self.addCleanup(gw.cleanup)
        gw.add_tenant_domain("acme", "acme.example", srv.port, tls="opportunistic")
        gw.start()
        with gw.smtp() as s:
            s.sendmail("a@sender.example", ["bob@acme.example"], harness.message(subject="tlsfallback"))
        wait_until(lambda: srv.messages, 20, what="delivery in plaintext after the failed handshake")
        self.assertGreaterEqual(srv.starttls_seen, 1)
        self.assertIn(b"Subject: tlsfallback", srv.messages[0])

    def test_required_tls_never_falls_back(self):
        srv = BrokenTlsServer()
        self.addCleanup(srv.close)
        gw = harness.Gateway()
        self.addCleanup(gw.cleanup)
        gw.add_tenant_domain("acme", "acme.example", srv.port, tls="required")
        gw.start()
        with gw.smtp() as s:
            s.sendmail("a@sender.example", ["bob@acme.example"], harness.message(subject="mustencrypt"))
        wait_until(lambda: srv.starttls_seen >= 1 and gw.queue_list() and gw.queue_list()[0]["attempts"] >= 1,
                   20, what="a failed attempt")
        self.assertEqual(srv.messages, [])
        self.assertIn("TLS handshake", gw.queue_list()[0]["last_error"])


if __name__ == "__main__":
    harness.main()
