"""Retries and delivery status notifications: temporary failures stay queued and are retried,
permanent failures are not retried and bounce to the sender (RFC 3464), per recipient."""
import email
import email.policy
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")


def parse_dsn(data: bytes):
    """(message, {part content type: part}) of a multipart/report DSN."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    parts = {}
    if msg.is_multipart():
        for p in msg.get_payload():
            parts.setdefault(p.get_content_type(), p)
    return msg, parts


def part_text(part) -> str:
    """A part's body as text (message/delivery-status is parsed into blocks by the email package)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n\n".join(p.as_string() for p in payload)
    return payload


class RetryDsnTest(unittest.TestCase):
    def start(self, queue=None, sender_sink_separate=False):
        """Gateway with acme.example -> self.sink and sender.example (tenant 'senders') ->
        self.sender_sink (the same sink unless sender_sink_separate)."""
        self.sink = harness.Sink().start()
        self.addCleanup(self.sink.stop)
        if sender_sink_separate:
            self.sender_sink = harness.Sink().start()
            self.addCleanup(self.sender_sink.stop)
        else:
            self.sender_sink = self.sink
        self.gw = harness.Gateway(queue=queue)
        self.addCleanup(self.gw.cleanup)
        self.gw.add_tenant_domain("acme", "acme.example", self.sink.port)
        self.gw.add_tenant_domain("senders", "sender.example", self.sender_sink.port)
        self.gw.start()

    def submit(self, rcpts, subject, sender="alice@sender.example", body="Original body text.\r\n"):
        s = self.gw.smtp()
        try:
            s.ehlo()
            code, text = s.docmd("MAIL", f"FROM:<{sender}>")
            self.assertEqual(code, 250, text)
            for r in rcpts:
                code, text = s.docmd("RCPT", f"TO:<{r}>")
                self.assertEqual(code, 250, text)
            code, text = s.data(harness.message(subject=subject, sender=sender or "nobody@x.example",
                                                to=", ".join(rcpts), body=body))
            self.assertEqual(code, 250, text)
            s.quit()
        finally:
            s.close()
        return QID.search(text.decode()).group(1)

    def entry(self, qid):
        return self.gw.queue_entry(qid)

    def wait_gone(self, qid, timeout=15):
        wait_until(lambda: self.entry(qid) is None, timeout, what=f"{qid} to leave the queue")

    def track(self, qid):
        return self.gw.cli("track", "--id", qid).stdout

    def messages_to(self, sink, rcpt):
        with sink.lock:
            return [m for m in sink.messages if rcpt in m["rcpts"]]

    # ---- temporary failures

    def test_tempfail_then_accept(self):
        self.start()
        self.sink.mode = "tempfail"
        qid = self.submit(["bob@acme.example"], "tempfail-retry")

        def deferred():
            e = self.entry(qid)
            return e if e and e["attempts"] >= 1 and "451" in e["last_error"] else None
        e = wait_until(deferred, 10, what="the message to be deferred")
        self.assertFalse(e["held"])
        self.assertEqual(e["sender"], "alice@sender.example")
        self.assertEqual([r["status"] for r in e["recipients"]], ["pending"])
        self.assertIn("sink says try later", e["recipients"][0]["last_reply"])
        text = self.gw.cli("queue", "list").stdout
        self.assertRegex(text, rf"{qid}\s+\d+\s+\S+\s+deferred\s+<alice@sender.example>")
        # Retries keep happening (1-2 s apart here) while the sink keeps failing.
        wait_until(lambda: self.sink.attempts >= 2, 10, what="a second attempt")
        self.assertEqual(self.sink.count(), 0)
        self.sink.mode = "accept"
        self.sink.wait_for(1, 15)
        self.wait_gone(qid)
        time.sleep(1.5)
        self.assertEqual(self.sink.count(), 1, "delivered more than once")
        m = self.sink.messages[0]
        self.assertEqual(m["rcpts"], ["bob@acme.example"])
        self.assertEqual(harness.strip_received(m["data"]),
                         harness.message(subject="tempfail-retry", to="bob@acme.example",
                                         body="Original body text.\r\n"))
        out = wait_until(lambda: (lambda t: t if "delivered" in t else None)(self.track(qid)), 5,
                         what="delivered in tracking")
        self.assertIn("deferred", out)
        self.assertIn("451 4.3.0 sink says try later", out)
        # No DSN for a message that was finally delivered.
        self.assertEqual(self.messages_to(self.sink, "alice@sender.example"), [])

    def test_downstream_down_then_up(self):
        self.sink = None
        port = harness.free_port()
        self.sender_sink = harness.Sink().start()
        self.addCleanup(self.sender_sink.stop)
        self.gw = harness.Gateway()
        self.addCleanup(self.gw.cleanup)
        self.gw.add_tenant_domain("acme", "acme.example", port)
        self.gw.add_tenant_domain("senders", "sender.example", self.sender_sink.port)
        self.gw.start()
        qid = self.submit(["bob@acme.example"], "down-then-up")

        def deferred():
            e = self.entry(qid)
            return e if e and e["attempts"] >= 1 else None
        e = wait_until(deferred, 10, what="the message to be deferred")
        self.assertIn("451", e["last_error"])
        self.assertIn(f":{port}", e["last_error"], "the error should name the unreachable host")
        sink = harness.Sink(port=port).start()
        self.addCleanup(sink.stop)
        sink.wait_for(1, 15)
        self.wait_gone(qid)
        self.assertEqual(sink.messages[0]["rcpts"], ["bob@acme.example"])
        self.assertEqual(self.sender_sink.count(), 0, "no DSN for a delayed delivery")

    # ---- permanent failures

    def check_dsn(self, m, failed, subject, status_re, not_named=()):
        self.assertIn(m["sender"], ("", "<>"), "a DSN must have the null sender")
        self.assertEqual(m["rcpts"], ["alice@sender.example"])
        msg, parts = parse_dsn(m["data"])
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertIn("MAILER-DAEMON@mx.test.example", msg["From"])
        self.assertEqual(msg["To"].strip(), "<alice@sender.example>")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertIsNotNone(msg["Message-ID"])
        self.assertIsNotNone(msg["Date"])
        self.assertEqual([p.get_content_type() for p in msg.get_payload()],
                         ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        ds = part_text(parts["message/delivery-status"])
        self.assertRegex(ds, r"Reporting-MTA: dns; ?mx.test.example")
        for r in failed:
            self.assertRegex(ds, rf"Final-Recipient: rfc822; ?{re.escape(r)}")
        self.assertEqual(len(re.findall(r"Final-Recipient:", ds)), len(failed), ds)
        self.assertEqual(len(re.findall(r"Action: failed", ds)), len(failed), ds)
        statuses = re.findall(r"Status: (\S+)", ds)
        self.assertEqual(len(statuses), len(failed), ds)
        for st in statuses:
            self.assertRegex(st, status_re)
        for r in not_named:
            self.assertNotIn(r, ds)
            self.assertNotIn(r, part_text(parts["text/plain"]))
        headers = part_text(parts["text/rfc822-headers"])
        self.assertIn(f"Subject: {subject}", headers)
        self.assertNotIn("Original body text", m["data"].decode("utf-8", "replace"),
                         "the DSN must return only the headers")
        for r in failed:
            self.assertIn(f"<{r}>", part_text(parts["text/plain"]))
        return ds

    def test_reject_no_retry_and_dsn(self):
        self.start(sender_sink_separate=True)
        self.sink.mode = "reject"
        qid = self.submit(["bob@acme.example"], "rejected-subject")
        self.sender_sink.wait_for(1, 15)
        self.wait_gone(qid)
        dsn = self.sender_sink.messages[0]
        ds = self.check_dsn(dsn, ["bob@acme.example"], "rejected-subject", r"^5\.7\.1$")
        self.assertIn("550 5.7.1 sink rejects", ds)
        self.assertIn(f"X-Mailmoat-Queue-ID: {qid}", ds)
        time.sleep(2.5)  # retries are 1-2 s apart: a retry would have happened by now
        self.assertEqual(self.sink.attempts, 1, "a permanent failure must not be retried")
        self.assertEqual(self.sender_sink.count(), 1, "exactly one DSN")
        self.assertEqual(self.gw.queue_list(), [])
        out = self.track(qid)
        self.assertIn("bounced", out)
        self.assertRegex(out, r"\bdsn\b")
        self.assertNotIn("delivered", out)

    def test_null_sender_failure_gets_no_dsn(self):
        self.start()
        self.sink.mode = "reject"
        qid = self.submit(["bob@acme.example"], "null-sender", sender="")
        wait_until(lambda: "bounced" in self.track(qid), 10, what="the bounce to be tracked")
        self.wait_gone(qid)
        self.sink.mode = "accept"  # a DSN, if wrongly generated, could now be delivered
        time.sleep(2.5)
        self.assertEqual(self.sink.count(), 0, [m["rcpts"] for m in self.sink.messages])
        self.assertEqual(self.gw.queue_list(), [], "a DSN to the null sender must not be queued")
        self.assertNotRegex(self.track(qid), r"\bdsn\b")

    def test_dsn_that_fails_does_not_loop(self):
        # The sender's own server rejects the DSN too: the DSN (null sender) must not bounce again.
        self.start()
        self.sink.mode = "reject"
        qid = self.submit(["bob@acme.example"], "double-bounce")
        wait_until(lambda: self.sink.attempts >= 2, 10, what="the DSN delivery attempt")
        time.sleep(2.5)
        self.assertEqual(self.sink.attempts, 2, "only the message and its DSN may be attempted")
        self.assertEqual(self.gw.queue_list(), [])
        self.assertNotIn(qid, [e["id"] for e in self.gw.queue_list()])

    def test_expiry_after_max_lifetime(self):
        self.start(queue={"max_lifetime_s": 3}, sender_sink_separate=True)
        self.sink.mode = "tempfail"
        t0 = time.time()
        qid = self.submit(["bob@acme.example"], "expiring")
        self.sender_sink.wait_for(1, 20)
        took = time.time() - t0
        self.assertGreaterEqual(took, 2.5, "expired before max_lifetime_s")
        self.assertLess(took, 12)
        self.wait_gone(qid)
        self.assertGreaterEqual(self.sink.attempts, 2, "it must have been retried before expiring")
        self.assertEqual(self.sink.count(), 0)
        ds = self.check_dsn(self.sender_sink.messages[0], ["bob@acme.example"], "expiring", r"^5\.4\.7$")
        self.assertIn("451 4.3.0 sink says try later", ds, "the last error must be reported")
        self.assertIn("expired", ds)
        attempts = self.sink.attempts
        time.sleep(2)
        self.assertEqual(self.sink.attempts, attempts, "retried after expiry")

    def test_per_recipient_results(self):
        self.start()
        self.sink.rcpt_codes = {"nobody@acme.example": (550, "5.1.1 no such user here")}
        qid = self.submit(["bob@acme.example", "nobody@acme.example", "carol@acme.example"],
                          "partial-failure")
        wait_until(lambda: self.messages_to(self.sink, "alice@sender.example"), 15, what="the DSN")
        self.wait_gone(qid)
        time.sleep(1)
        originals = [m for m in self.sink.messages if "alice@sender.example" not in m["rcpts"]]
        self.assertEqual(len(originals), 1, [m["rcpts"] for m in self.sink.messages])
        self.assertEqual(sorted(originals[0]["rcpts"]), ["bob@acme.example", "carol@acme.example"])
        dsns = self.messages_to(self.sink, "alice@sender.example")
        self.assertEqual(len(dsns), 1)
        ds = self.check_dsn(dsns[0], ["nobody@acme.example"], "partial-failure", r"^5\.1\.1$",
                            not_named=["bob@acme.example", "carol@acme.example"])
        self.assertIn("no such user here", ds)
        out = self.track(qid)
        self.assertRegex(out, r"delivered\s+<bob@acme.example>")
        self.assertRegex(out, r"delivered\s+<carol@acme.example>")
        self.assertRegex(out, r"bounced\s+<nobody@acme.example>")

    def test_mixed_tempfail_and_permanent_recipients(self):
        # One recipient rejected for good, one temporarily: the DSN goes out at once for the first
        # only; the second is retried and finally delivered, without a second DSN.
        self.start()
        self.sink.rcpt_codes = {"nobody@acme.example": (550, "5.1.1 no such user here"),
                                "later@acme.example": (451, "4.2.1 mailbox busy")}
        qid = self.submit(["nobody@acme.example", "later@acme.example"], "mixed")
        wait_until(lambda: self.messages_to(self.sink, "alice@sender.example"), 15, what="the DSN")
        e = wait_until(lambda: self.entry(qid), 5, what="the message to stay queued")
        st = {r["address"]: r["status"] for r in e["recipients"]}
        self.assertEqual(st, {"nobody@acme.example": "failed", "later@acme.example": "pending"})
        self.sink.rcpt_codes = {}
        wait_until(lambda: self.messages_to(self.sink, "later@acme.example"), 15, what="the retry")
        self.wait_gone(qid)
        time.sleep(1.5)
        self.assertEqual(len(self.messages_to(self.sink, "alice@sender.example")), 1)
        self.assertEqual(len(self.messages_to(self.sink, "later@acme.example")), 1)
        self.assertEqual(self.messages_to(self.sink, "nobody@acme.example"), [])
        self.check_dsn(self.messages_to(self.sink, "alice@sender.example")[0], ["nobody@acme.example"],
                       "mixed", r"^5\.1\.1$", not_named=["later@acme.example"])


if __name__ == "__main__":
    harness.main()
