"""Links and phishing through the gateway: a phishing message gets the class "phishing" in its
verdict header (and is refused when over the reject score), an executive's name from outside is
flagged, the tenant's link block list (`mailmoat urllist`) applies to a running server within
seconds, ordinary mail stays clean, and `mailmoat scan` names the URL that fired."""
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")


def mail(sender, subject, html, to="bob@acme.example", extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{abs(hash(subject))}@x.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f"<html><body>{html}</body></html>\r\n").encode()


LOOKALIKE = mail('"PayPal" <service@paypa1.com>', "Your receipt",
                 '<p>Thanks for your payment. Details: <a href="https://paypa1.com/receipt">paypal.com</a></p>')
HEAVY = mail('"PayPal Security" <alert@paypa1.com>', "Account suspended",
             '<p>Your account has been suspended. Verify your account within 24 hours: '
             '<a href="https://www.paypal.com@0xCB.0.113.5/signin">https://www.paypal.com/signin</a></p>'
             '<form action="http://203.0.113.5/p.php"><input type="password" name="pw"></form>')
CLEAN = mail('"Partner News" <news@partner.example>', "November newsletter",
             '<p>Hello! Read <a href="https://click.esp.example/r/1?u=https%3A%2F%2Fwww.partner.example%2Fnov">'
             'www.partner.example</a>. <img src="https://img.esp.example/o.gif"> '
             '<a href="https://www.partner.example/unsubscribe">Unsubscribe</a></p>')


class MailMixin:
    def send(self, raw):
        with self.gw.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.docmd("MAIL FROM:<x@sender.example>")[0], 250)
            self.assertEqual(s.docmd("RCPT TO:<bob@acme.example>")[0], 250)
            s.putcmd("DATA")
            self.assertEqual(s.getreply()[0], 354)
            s.send(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
            return s.getreply()

    def delivered(self, text):
        qid = QID.search(text.decode()).group(1)
        wait_until(lambda: any(qid.encode() in m["data"] for m in self.sink.messages), 20, what=f"{qid} at the sink")
        return next(m for m in self.sink.messages if qid.encode() in m["data"])["data"]


class PhishingTest(MailMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(scan={"date_checks": False})
        cls.gw.cli("tenant", "add", "acme", "--display-name", "Acme Widgets")
        cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port, policy=harness.Gateway.TAG_POLICY)
        out = cls.gw.cli("tenant", "protect-name", "add", "acme", "Jane Doe").stdout
        assert "protected 'Jane Doe' for tenant acme" in out, out
        cls.gw.cli("urllist", "add", "--tenant", "acme", "blocked-for-acme.example")
        cls.gw.cli("urllist", "add", "operator-blocked.example")
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()

    def test_lookalike_is_delivered_as_phishing(self):
        code, text = self.send(LOOKALIKE)
        self.assertEqual(code, 250, text)
        data = self.delivered(text)
        self.assertRegex(data, rb"X-Mailmoat-Verdict: phishing; score=\d+\.\d\d")
        self.assertIn(b"PHISH_LOOKALIKE_BRAND", data)
        self.assertIn(b"HTML_LINK_TEXT_MISMATCH", data)
        self.assertIn(b"X-Spam-Flag: YES", data)

    def test_heavy_phishing_is_refused(self):
        code, text = self.send(HEAVY)
        self.assertEqual(code, 550, text)
        self.assertIn(b"refused as phishing", text)

    def test_executive_impersonation(self):
        raw = mail('"Jane Doe" <jane.doe.office@freemail.example>', "Quick favour",
                   "<p>Are you at your desk? I need you to handle a payment today. Jane</p>")
        code, text = self.send(raw)
        self.assertEqual(code, 250, text)
        data = self.delivered(text)
        self.assertIn(b"PHISH_EXEC_IMPERSONATION", data)
        self.assertRegex(data, rb"X-Mailmoat-Verdict: phishing;")
        # The real Jane Doe, from the tenant's own domain, is not flagged.
        code, text = self.send(mail('"Jane Doe" <jane@acme.example>', "Lunch",
                                    "<p>Lunch at noon? Jane</p>"))
        self.assertNotIn(b"PHISH_EXEC_IMPERSONATION", self.delivered(text))

    def test_block_lists_apply_to_the_running_server(self):
        code, text = self.send(mail("a@partner.example", "links", '<a href="https://www.blocked-for-acme.example/x">a</a>'))
        self.assertEqual(code, 250, text)
        self.assertIn(b"URI_TENANT_BLOCKLISTED", self.delivered(text))
        code, text = self.send(mail("a@partner.example", "links2", '<a href="https://operator-blocked.example/">b</a>'))
        self.assertEqual(code, 250, text)
        self.assertIn(b"URI_BLOCKLISTED", self.delivered(text))
        # Both together pass the reject score.
        code, text = self.send(mail("a@partner.example", "links3",
                                    '<a href="https://www.blocked-for-acme.example/x">a</a> '
                                    '<a href="https://operator-blocked.example/">b</a>'))
        self.assertEqual(code, 550, text)
        # Added while the server runs: the directory reloads within a second or two.
        self.gw.cli("urllist", "add", "--tenant", "acme", "late.example")
        self.assertIn("late.example", self.gw.cli("urllist", "list", "--tenant", "acme").stdout)

        def flagged():
            code, text = self.send(mail("a@partner.example", "late", '<a href="https://late.example/">x</a>'))
            return b"URI_TENANT_BLOCKLISTED" in self.delivered(text)
        wait_until(flagged, 15, interval=0.5, what="the new block list entry to apply")
        r = self.gw.cli("urllist", "remove", "--tenant", "acme", "late.example")
        self.assertIn("unblocked late.example", r.stdout)
        self.assertNotEqual(self.gw.cli("urllist", "add", "--tenant", "nobody", "x.example", check=False).returncode, 0)

    def test_ordinary_newsletter_stays_clean(self):
        code, text = self.send(CLEAN)
        self.assertEqual(code, 250, text)
        data = self.delivered(text)
        self.assertRegex(data, rb"X-Mailmoat-Verdict: (clean|bulk);")  # a newsletter may be bulk
        for name in (b"PHISH_", b"HTML_LINK_TEXT_MISMATCH", b"URI_USERINFO", b"URI_OBFUSCATED", b"URI_BLOCKLISTED"):
            self.assertNotIn(name, data)

    def test_cli_scan_names_the_url(self):
        d = tempfile.mkdtemp(prefix="mm-phish-")
        path = os.path.join(d, "phish.eml")
        with open(path, "wb") as f:
            f.write(LOOKALIKE)
        out = self.gw.cli("scan", path).stdout
        self.assertIn("verdict: phishing", out)
        self.assertIn("href paypa1.com (homoglyph lookalike of paypal.com), text paypal.com", out)
        self.assertIn("From paypa1.com (homoglyph lookalike of paypal.com)", out)
        # The tenant comes from the To domain: its protected names apply in `scan` too.
        path2 = os.path.join(d, "ceo.eml")
        with open(path2, "wb") as f:
            f.write(mail('"Jane Doe" <jd@freemail.example>', "hi", "<p>hi</p>"))
        self.assertIn("PHISH_EXEC_IMPERSONATION", self.gw.cli("scan", path2).stdout)
        self.assertNotIn("PHISH_EXEC_IMPERSONATION",
                         self.gw.cli("scan", "--tenant", "acme", path).stdout + self.gw.cli("scan", path).stdout)


class UriDnsListTest(MailMixin, unittest.TestCase):
    """URI DNS block lists (SURBL style) asked through the server's resolver, against the test's
    own DNS server: a listed link's domain gives URI_DNSBL; an unlisted one nothing; with the DNS
    server gone the mail is still delivered (unknown is never "listed")."""

    @classmethod
    def setUpClass(cls):
        cls.dns = harness.Dnsmasq(["--address=/evil-landing.example.multi.uribl.test/127.0.0.2"])
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(scan={"date_checks": False},
                                 dns={"servers": f"127.0.0.1:{cls.dns.port}", "timeout_ms": 300, "tries": 1},
                                 extra_config='[links]\nuri_dnsbl_zones = ["multi.uribl.test"]\n'
                                              'uri_dnsbl_timeout_ms = 1500\n')
        cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port, policy=harness.Gateway.TAG_POLICY)
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.dns.stop()

    def test_listed_domain_and_unlisted_domain(self):
        code, text = self.send(mail("a@partner.example", "listed", '<a href="https://www.evil-landing.example/x">a</a>'))
        self.assertEqual(code, 250, text)
        data = self.delivered(text)
        self.assertIn(b"URI_DNSBL", data)
        code, text = self.send(mail("a@partner.example", "unlisted", '<a href="https://www.fine-landing.example/x">a</a>'))
        self.assertEqual(code, 250, text)
        self.assertNotIn(b"URI_DNSBL", self.delivered(text))

    def test_zz_dns_outage_is_unknown_not_listed(self):
        self.dns.stop()
        code, text = self.send(mail("a@partner.example", "outage", '<a href="https://www.other-landing.example/x">a</a>'))
        self.assertEqual(code, 250, text)
        self.assertNotIn(b"URI_DNSBL", self.delivered(text))


if __name__ == "__main__":
    harness.main()
