"""Connection control on the mail path: a mixed sender (several 127.x addresses are distinct
clients, the client socket is bound to its source address) that crosses the spam threshold is
delayed, then refused, and accepted again once its record has decayed (half-life of a few
seconds here); a tenant allow list lets it through for that tenant only; a DNS block list served
by dnsmasq (started here) refuses a listed client; every recipient of a refused session is logged
as a security event and in message tracking; the reputation survives a restart."""
import os
import shutil
import smtplib
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402
from test_auth import Dnsmasq  # noqa: E402

SPAM = "MMTEST-SPAM-MARKER"
TEST_RULES = f"""
rule TEST_SPAM_MARKER
  body =~ /{SPAM}/
  score 10
  describe test spam marker
  class spam
"""
MIXED = "127.0.1.5"     # the mixed sender
LISTED = "127.0.2.5"    # listed in the test DNSBL
CLEAN = "127.0.3.9"     # another network, never listed
HALF_LIFE = 4


class ReputationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = harness.rules_dir_with(TEST_RULES)
        cls.dns = Dnsmasq(["--txt-record=ready.test,ok",
                           "--host-record=5.2.0.127.bl.test,127.0.0.2",
                           "--txt-record=partner.test,v=spf1 ip4:127.0.1.0/24 -all"])
        cls.sink = harness.Sink().start()
        cls.beta_sink = harness.Sink().start()
        cls.gw = harness.Gateway(scan={"rules_dir": cls.rules}, dns={"servers": f"127.0.0.1:{cls.dns.port}"},
                                 auth={"enabled": True},
                                 connection={"half_life_s": HALF_LIFE, "dns_lists": ["bl.test*3"],
                                             "save_interval_s": 1, "greylist_delay_s": 1})
        for tenant, domain, sink in (("acme", "acme.example", cls.sink), ("beta", "beta.example", cls.beta_sink),
                                     ("grey", "grey.example", cls.beta_sink)):
            cls.gw.add_tenant_domain(tenant, domain, sink.port, policy="spam=tag")
        cls.gw.cli("reputation", "greylist", "grey", "on")
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.beta_sink.stop()
        cls.dns.stop()
        shutil.rmtree(cls.rules, ignore_errors=True)

    def client(self, ip):
        return smtplib.SMTP("127.0.0.1", self.gw.port, local_hostname="client.example", timeout=30,
                            source_address=(ip, 0))

    def rcpt(self, ip, rcpts, sender="news@mixed.example"):
        """One session: MAIL, then each RCPT; returns the RCPT reply codes."""
        s = self.client(ip)
        s.ehlo()
        s.mail(sender)
        codes = [s.rcpt(r)[0] for r in rcpts]
        s.quit()
        return codes

    def action(self, ip):
        out = self.gw.cli("reputation", "show", ip).stdout
        line = next(line for line in out.splitlines() if line.startswith("strictness normal"))
        return line.split(": ", 1)[1].split(" ")[0]

    def test_1_mixed_sender_delayed_refused_recovers_and_tenant_allow(self):
        s = self.client(MIXED)
        sent, delayed_at = 0, None
        for i in range(10):  # good mail first, then spam until the server is delayed
            body = f"Newsletter {i}.\r\n" + (SPAM + "\r\n" if i >= 3 else "")
            try:
                s.sendmail("news@mixed.example", ["bob@acme.example"],
                           harness.message(subject=f"mixed-{i}", body=body, sender="news@mixed.example"))
                sent += 1
            except smtplib.SMTPRecipientsRefused as e:
                self.assertEqual(e.recipients["bob@acme.example"][0], 450)
                delayed_at = i
                break
        s.quit()
        # Three spam among six: a spam source although half of its mail is good. Delayed first.
        self.assertEqual((sent, delayed_at), (6, 6))
        self.assertEqual(self.sink.wait_for(6) and self.sink.count(), 6)
        self.assertEqual(self.action(MIXED), "tempfail")
        self.assertEqual(self.rcpt(MIXED, ["bob@acme.example"]), [450])
        # It keeps pushing recipients: refused recipients count, and it becomes persistent.
        codes = self.rcpt(MIXED, [f"user{i}@acme.example" for i in range(16)])
        self.assertEqual(codes[0], 450)
        self.assertTrue(all(c in (450, 550) for c in codes), codes)
        self.assertEqual(self.rcpt(MIXED, ["bob@acme.example"]), [550])
        # Every recipient of the refused sessions is a security event and in message tracking.
        events = wait_until(lambda: (lambda e: e if "user15@" in e else "")(self.gw.cli("tenant", "events", "acme").stdout),
                            10, what="the security event")
        for i in range(16):
            self.assertIn(f"user{i}@acme.example", events)
        self.assertIn("connection_", events)
        self.assertIn(MIXED, events)
        track = wait_until(lambda: self.gw.cli("track", "--recipient", "user15@acme.example").stdout, 10,
                           what="tracking of a refused recipient")  # the tracker writes in batches
        self.assertIn("refused", track)
        self.assertIn("spam source", track)
        # Another tenant allows this server: its recipients get through, acme's still do not.
        self.gw.cli("reputation", "allow", "add", "127.0.1.0/24", "--tenant", "beta", "--expires", "1d")
        self.assertIn("127.0.1.0/24", self.gw.cli("reputation", "allow", "list").stdout)
        wait_until(lambda: self.rcpt(MIXED, ["carol@beta.example"]) == [250], 10, what="beta's allow entry loaded")
        self.assertIn(self.rcpt(MIXED, ["bob@acme.example"])[0], (450, 550))
        # A sender-domain entry counts only for mail authenticated for that domain (SPF here).
        self.gw.cli("reputation", "allow", "add", "sender:partner.test", "--tenant", "acme")
        wait_until(lambda: self.rcpt(MIXED, ["bob@acme.example"], sender="news@partner.test") == [250], 10,
                   what="the sender-domain entry loaded")
        before = self.sink.count()
        s = self.client(MIXED)
        s.sendmail("news@partner.test", ["bob@acme.example"],
                   harness.message(subject="partner-ok", sender="news@partner.test"))
        s.quit()
        self.sink.wait_for(before + 1)
        forger = self.client(LISTED)  # not in partner.test's SPF: SPF fails, the listing applies after DATA
        with self.assertRaises(smtplib.SMTPDataError) as e:
            forger.sendmail("news@partner.test", ["bob@acme.example"],
                            harness.message(subject="partner-forged", sender="news@partner.test"))
        self.assertEqual(e.exception.smtp_code, 550)
        forger.quit()
        self.gw.cli("reputation", "allow", "remove", "sender:partner.test", "--tenant", "acme")
        # A clean server elsewhere is untouched.
        self.assertEqual(self.rcpt(CLEAN, ["bob@acme.example"], sender="a@clean.example"), [250])
        # Recovery: the record decays (half-life of HALF_LIFE s) and the server is accepted again.
        wait_until(lambda: self.action(MIXED) == "none", 12 * HALF_LIFE, interval=0.5, what="the record to decay")
        s = self.client(MIXED)
        s.sendmail("news@mixed.example", ["bob@acme.example"], harness.message(subject="mixed-after"))
        s.quit()
        # The top list names the sender.
        self.assertIn(MIXED, self.gw.cli("reputation", "top").stdout)

    def test_2_dnsbl_listing_at_connect(self):
        rcpts = ["bob@acme.example", "carol@acme.example", "dave@acme.example"]
        s = self.client(LISTED)
        s.ehlo()
        s.mail("someone@listed.example")
        replies = [s.rcpt(r) for r in rcpts]
        s.quit()
        self.assertEqual([c for c, _ in replies], [554, 554, 554])
        self.assertIn(b"bl.test", replies[0][1])
        # Not listed: accepted (a listing is per address).
        self.assertEqual(self.rcpt("127.0.2.6", ["bob@acme.example"], sender="a@ok.example"), [250])
        # All three recipients logged with the reason, once the session closed.
        wait_until(lambda: all(r in self.gw.cli("tenant", "events", "acme").stdout for r in rcpts), 10,
                   what="security event naming every recipient")
        ev = [line for line in self.gw.cli("tenant", "events", "acme").stdout.splitlines() if LISTED in line]
        self.assertTrue(ev and "connection_refused" in ev[-1] and "bl.test" in ev[-1], ev)

    def test_2b_greylisting_for_the_tenant_that_enables_it(self):
        ip, sender = "127.0.4.7", "first@grey-sender.example"
        s = self.client(ip)
        s.ehlo()
        s.mail(sender)
        code, text = s.rcpt("zoe@grey.example")
        self.assertEqual(code, 450)
        self.assertIn(b"Greylisted", text)
        self.assertEqual(s.rcpt("bob@acme.example")[0], 250)  # acme does not greylist
        s.quit()
        self.assertEqual(self.rcpt(ip, ["zoe@grey.example"], sender=sender), [450])  # retried too early
        time.sleep(1.2)
        before = self.beta_sink.count()
        s = self.client(ip)
        s.sendmail(sender, ["zoe@grey.example"], harness.message(subject="grey-retry", to="zoe@grey.example"))
        s.quit()
        self.beta_sink.wait_for(before + 1)
        # Another sender from the same client: a new triplet, greylisted again.
        self.assertEqual(self.rcpt(ip, ["zoe@grey.example"], sender="other@grey-sender.example"), [450])

    def test_3_state_survives_restart(self):
        self.rcpt(MIXED, ["bob@acme.example"])  # at least one record
        self.gw.stop()
        try:
            state = os.path.join(self.gw.tmp, "var", "reputation.state")
            with open(state) as f:
                self.assertIn(MIXED, f.read())
            out = self.gw.cli("reputation", "show", MIXED).stdout  # no server: from the saved state
            self.assertIn("ip " + MIXED, out)
            self.assertNotIn("clean=0.0 spam=0.0 phishing=0.0 malware=0.0 refused=0.0", out.splitlines()[0])
        finally:
            self.gw.start()


if __name__ == "__main__":
    harness.main()
