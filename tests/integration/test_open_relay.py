"""The gateway must never be an open relay: only protected domains of active tenants are accepted,
routing tricks are refused whatever domain they end in, and directory changes made with the CLI
apply to the running server within about two seconds."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")


class OpenRelayTest(unittest.TestCase):
    def setUp(self):
        self.gw, self.sink = harness.start_acme(self)

    # ---- helpers

    def session(self):
        s = self.gw.smtp()
        self.addCleanup(s.close)
        code, _ = s.ehlo()
        self.assertEqual(code, 250)
        return s

    def rcpt_reply(self, addr, sender="alice@sender.example"):
        """(code, text) of RCPT TO:<addr> in a fresh session."""
        s = self.session()
        code, text = s.docmd("MAIL", f"FROM:<{sender}>")
        self.assertEqual(code, 250, text)
        code, text = s.docmd("RCPT", f"TO:<{addr}>")
        try:
            s.quit()
        except Exception:
            pass
        return code, text.decode("utf-8", "replace")

    def assert_becomes(self, addr, code, enhanced=None, timeout=3.0):
        """Polls RCPT for addr until it gets `code` (CLI changes apply within ~2 s)."""
        t0 = time.time()
        last = None
        for _ in range(100):
            last = self.rcpt_reply(addr)
            if last[0] == code and (enhanced is None or last[1].startswith(enhanced)):
                return time.time() - t0
            if time.time() - t0 > timeout:
                break
            time.sleep(0.2)
        self.fail(f"RCPT <{addr}> still answered {last} after {timeout}s (want {code} {enhanced})")

    def send_ok(self, rcpts, subject, sender="alice@sender.example"):
        s = self.session()
        s.docmd("MAIL", f"FROM:<{sender}>")
        for r in rcpts:
            code, text = s.docmd("RCPT", f"TO:<{r}>")
            self.assertEqual(code, 250, f"{r}: {text}")
        code, text = s.data(harness.message(subject=subject))
        self.assertEqual(code, 250, text)
        s.quit()
        return QID.search(text.decode()).group(1)

    # ---- tests

    def test_unprotected_domain_refused(self):
        code, text = self.rcpt_reply("bob@other.example")
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith("5.7.1"), text)
        self.assertIn("Relay access denied", text)
        # DATA with no valid recipient: nothing queued.
        s = self.session()
        s.docmd("MAIL", "FROM:<alice@sender.example>")
        self.assertEqual(s.docmd("RCPT", "TO:<bob@other.example>")[0], 550)
        code, text = s.docmd("DATA")
        self.assertEqual(code, 554, text)
        s.quit()
        self.assertEqual(self.gw.queue_list(), [])
        ev = wait_until(lambda: [e for e in self.gw.log_events() if e.get("event") == "smtp.rcpt_refused"
                                 and e.get("recipient") == "bob@other.example"], 5,
                        what="smtp.rcpt_refused in the log")
        self.assertIn("550 5.7.1", ev[0]["reply"])

    def test_relay_tricks_refused(self):
        tricks = [
            "user%other.example@acme.example",
            '"user@other.example"@acme.example',
            "@acme.example:user@other.example",
            "@other.example:user@acme.example",
            "@acme.example,@other.example:user@acme.example",
            "other.example!user@acme.example",
            "user@[127.0.0.1]",
            "bob@[IPv6:::1]",
            '"user%other.example"@acme.example',
            '"other.example!user"@acme.example',
            "user%acme.example@acme.example",
            "bob@OTHER.Example",
            "bob@other.example.",
            "bob@Other.EXAMPLE.",
            "bob@sub.acme.example",
            "bob@acme.example.other.example",
            "bob@xacme.example",
            "bob@example",
        ]
        for addr in tricks:
            with self.subTest(addr=addr):
                code, text = self.rcpt_reply(addr)
                self.assertEqual(code, 550, f"<{addr}>: {code} {text}")
                self.assertTrue(text.startswith("5.7.1"), f"<{addr}>: {code} {text}")
        # Positive control in the same server: a plain protected address (case-insensitive domain).
        self.assertEqual(self.rcpt_reply("bob@ACME.Example")[0], 250)
        # Nothing reached the sink: a message sent now is the first and only one.
        self.send_ok(["canary@acme.example"], "canary")
        self.sink.wait_for(1)
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(self.sink.messages[0]["rcpts"], ["canary@acme.example"])
        self.assertEqual(self.gw.queue_list(), [])

    def test_tricks_in_one_transaction_with_a_valid_recipient(self):
        # Mixed with a valid recipient, the tricks must still be refused and never delivered.
        s = self.session()
        s.docmd("MAIL", "FROM:<alice@sender.example>")
        self.assertEqual(s.docmd("RCPT", "TO:<bob@acme.example>")[0], 250)
        for addr in ["user%other.example@acme.example", "@acme.example:user@other.example",
                     "other.example!user@acme.example", '"user@other.example"@acme.example']:
            code, text = s.docmd("RCPT", f"TO:<{addr}>")
            self.assertEqual((code, text[:5]), (550, b"5.7.1"), addr)
        code, text = s.data(harness.message(subject="mixed"))
        self.assertEqual(code, 250)
        s.quit()
        self.sink.wait_for(1)
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), 1)
        self.assertEqual(self.sink.messages[0]["rcpts"], ["bob@acme.example"])

    def test_recipient_validation(self):
        self.assertEqual(self.rcpt_reply("nobody@acme.example")[0], 250)  # validation off
        self.gw.cli("recipient", "add", "known@acme.example")
        self.gw.cli("domain", "recipient-validation", "acme.example", "on")
        took = self.assert_becomes("nobody@acme.example", 550, "5.1.1")
        self.assertLess(took, 3.0)
        code, text = self.rcpt_reply("nobody@acme.example")
        self.assertIn("User unknown", text)
        self.assertEqual(self.rcpt_reply("known@acme.example")[0], 250)
        self.assertEqual(self.rcpt_reply("known@ACME.EXAMPLE")[0], 250)
        # A tenant's validation must not leak into routing tricks.
        self.assertEqual(self.rcpt_reply("known%other.example@acme.example")[0], 550)
        # In one transaction: unknown refused, known delivered.
        s = self.session()
        s.docmd("MAIL", "FROM:<alice@sender.example>")
        self.assertEqual(s.docmd("RCPT", "TO:<ghost@acme.example>")[0], 550)
        self.assertEqual(s.docmd("RCPT", "TO:<known@acme.example>")[0], 250)
        code, _ = s.data(harness.message(subject="validated"))
        self.assertEqual(code, 250)
        s.quit()
        self.sink.wait_for(1)
        self.assertEqual(self.sink.messages[0]["rcpts"], ["known@acme.example"])
        # Adding the address later makes it valid without a restart; removing it invalidates it.
        self.gw.cli("recipient", "add", "late@acme.example")
        self.assert_becomes("late@acme.example", 250)
        self.gw.cli("recipient", "remove", "late@acme.example")
        self.assert_becomes("late@acme.example", 550, "5.1.1")
        self.gw.cli("domain", "recipient-validation", "acme.example", "off")
        self.assert_becomes("nobody@acme.example", 250)

    def test_second_tenant_in_same_transaction(self):
        self.gw.add_tenant_domain("beta", "beta.example", self.sink.port)
        self.assert_becomes("x@beta.example", 250)
        s = self.session()
        s.docmd("MAIL", "FROM:<alice@sender.example>")
        self.assertEqual(s.docmd("RCPT", "TO:<a@acme.example>")[0], 250)
        code, text = s.docmd("RCPT", "TO:<b@beta.example>")
        self.assertEqual(code, 452, text)
        self.assertTrue(text.startswith(b"4.5.3"), text)
        self.assertEqual(s.docmd("RCPT", "TO:<a2@acme.example>")[0], 250)
        code, text = s.data(harness.message(subject="tenant-a"))
        self.assertEqual(code, 250, text)
        # The client retries the other tenant's recipient in its own transaction.
        s.docmd("MAIL", "FROM:<alice@sender.example>")
        self.assertEqual(s.docmd("RCPT", "TO:<b@beta.example>")[0], 250)
        code, text = s.data(harness.message(subject="tenant-b"))
        self.assertEqual(code, 250, text)
        s.quit()
        self.sink.wait_for(2)
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), 2)
        by_subject = {}
        for m in self.sink.messages:
            subj = re.search(rb"Subject: (\S+)", m["data"]).group(1).decode()
            by_subject[subj] = sorted(m["rcpts"])
        self.assertEqual(by_subject, {"tenant-a": ["a2@acme.example", "a@acme.example"],
                                      "tenant-b": ["b@beta.example"]})

    def test_suspended_tenant_gets_450(self):
        self.gw.cli("tenant", "suspend", "acme")
        self.assert_becomes("bob@acme.example", 450)
        code, text = self.rcpt_reply("bob@acme.example")
        self.assertTrue(text.startswith("4.7.1"), text)
        self.gw.cli("tenant", "activate", "acme")
        self.assert_becomes("bob@acme.example", 250)
        self.send_ok(["bob@acme.example"], "after-activation")
        self.sink.wait_for(1)

    def test_directory_changes_apply_while_running(self):
        self.assertEqual(self.rcpt_reply("bob@new.example")[0], 550)
        self.gw.cli("domain", "add", "new.example", "--tenant", "acme",
                    "--route", f"127.0.0.1:{self.sink.port}", "--tls", "none")
        self.assertLess(self.assert_becomes("bob@new.example", 250), 3.0)
        self.send_ok(["bob@new.example"], "new-domain")
        self.sink.wait_for(1)
        self.assertEqual(self.sink.messages[0]["rcpts"], ["bob@new.example"])
        self.gw.cli("domain", "remove", "new.example")
        self.assertLess(self.assert_becomes("bob@new.example", 550, "5.7.1"), 3.0)
        # A domain without a route is known but cannot be delivered: temporary refusal.
        self.gw.cli("domain", "add", "noroute.example", "--tenant", "acme")
        self.assert_becomes("bob@noroute.example", 451)
        self.assertEqual(self.gw.queue_list(), [])

    def test_null_sender_accepted_for_protected_only(self):
        # The null sender may send to protected domains (bounces must get through).
        s = self.session()
        self.assertEqual(s.docmd("MAIL", "FROM:<>")[0], 250)
        self.assertEqual(s.docmd("RCPT", "TO:<bob@acme.example>")[0], 250)
        self.assertEqual(s.docmd("RCPT", "TO:<bob@other.example>")[0], 550)
        code, _ = s.data(harness.message(subject="bounce-in", sender="MAILER-DAEMON@x.example"))
        self.assertEqual(code, 250)
        s.quit()
        self.sink.wait_for(1)
        self.assertEqual(self.sink.messages[0]["rcpts"], ["bob@acme.example"])
        self.assertIn(self.sink.messages[0]["sender"], ("", "<>"))


class PostmasterTest(unittest.TestCase):
    """RFC 5321 4.5.1: the bare <postmaster> must be accepted; it goes to the operator's address."""

    def test_bare_postmaster_goes_to_the_configured_address(self):
        sink = harness.Sink().start()
        self.addCleanup(sink.stop)
        gw = harness.Gateway(extra_config="")
        self.addCleanup(gw.cleanup)
        with open(gw.config_path) as f:
            cfg = f.read().replace("[server]\n", "[server]\npostmaster = \"ops@acme.example\"\n", 1)
        with open(gw.config_path, "w") as f:
            f.write(cfg)
        gw.add_tenant_domain("acme", "acme.example", sink.port)
        gw.start()
        with gw.smtp() as s:
            s.ehlo("client.example")
            s.mail("someone@sender.example")
            code, _ = s.rcpt("<Postmaster>")
            self.assertEqual(code, 250)
            code, _ = s.rcpt("<postmaster@other.example>")  # the domain form is still relaying
            self.assertEqual(code, 550)
            code, _ = s.data(harness.message(subject="to-postmaster", to="postmaster"))
            self.assertEqual(code, 250)
        sink.wait_for(1)
        self.assertEqual(sink.messages[0]["rcpts"], ["ops@acme.example"])

    def test_bare_postmaster_refused_without_an_address(self):
        gw = harness.Gateway()
        self.addCleanup(gw.cleanup)
        gw.start()
        with gw.smtp() as s:
            s.ehlo("client.example")
            s.mail("someone@sender.example")
            code, msg = s.rcpt("<postmaster>")
        self.assertEqual(code, 550)
        self.assertIn(b"5.1.1", msg)


if __name__ == "__main__":
    harness.main()
