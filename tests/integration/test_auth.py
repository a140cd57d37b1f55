"""Sender authentication on the mail path against a real DNS server (dnsmasq on a loopback port,
started here): SPF pass/fail/softfail/neutral/none/permerror/temperror at MAIL FROM, DKIM
signatures made here (RSA keys generated per run, published in the test zone) verified or
refused, DMARC with the sender's policy, one Authentication-Results header of ours (forged ones
claiming our authserv-id removed), and a DNS outage giving 451 4.4.3 instead of a verdict."""
import base64
import hashlib
import os
import re
import smtplib
import sys
import time
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Dnsmasq  # noqa: E402

AUTHSERV = "mx.test.example"  # the harness's [server] hostname: the default authserv-id


def txt(name, value):
    # dnsmasq splits a TXT record's character-strings at commas (no quoting when there is no
    # shell): long keys go in 200-byte pieces, which the resolver joins again.
    assert "," not in value
    parts = [value[i:i + 200] for i in range(0, len(value), 200)]
    return f"--txt-record={name}," + ",".join(parts)


def relaxed_header(name, value):
    value = re.sub(r"\r\n(?=[ \t])", "", value)
    value = re.sub(r"[ \t]+", " ", value).strip()
    return f"{name.lower().strip()}:{value}"


def relaxed_body(body):
    lines = body.split(b"\r\n")
    out = [re.sub(rb"[ \t]+", b" ", l).rstrip(b" ") for l in lines]
    while out and out[-1] == b"":
        out.pop()
    return b"".join(l + b"\r\n" for l in out)


def dkim_sign(key, domain, selector, headers, body):
    """A DKIM-Signature (relaxed/relaxed, rsa-sha256) made independently of libopendkim."""
    bh = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
    names = [n for n, _ in headers]
    sig = f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s={selector}; h={':'.join(names)}; bh={bh}; b="
    data = "".join(relaxed_header(n, v) + "\r\n" for n, v in headers) + relaxed_header("DKIM-Signature", sig)
    b = base64.b64encode(key.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    return f"DKIM-Signature: {sig}{b}\r\n"


def public_key_record(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def signed_message(key, domain, selector, sender, subject, body=b"Hello from a signed sender.\r\n", extra=""):
    headers = [("From", f" {sender}"), ("To", " bob@acme.example"), ("Subject", f" {subject}")]
    sig = dkim_sign(key, domain, selector, headers, body)
    head = "".join(f"{n}:{v}\r\n" for n, v in headers)
    return (sig + extra + head + "Message-ID: <" + subject.replace(" ", "-") + "@t>\r\n\r\n").encode() + body


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cls.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        zone = [
            txt("ready.test", "yes"),
            txt("good.test", "v=spf1 ip4:127.0.0.0/8 -all"),
            txt("sel1._domainkey.good.test", public_key_record(cls.key)),
            txt("_dmarc.good.test", "v=DMARC1; p=reject"),
            txt("bank.test", "v=spf1 ip4:192.0.2.1 -all"),
            txt("_dmarc.bank.test", "v=DMARC1; p=reject; adkim=s; aspf=s"),
            txt("quar.test", "v=DMARC1"),  # not an SPF record: SPF none
            txt("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
            txt("fail.test", "v=spf1 ip4:192.0.2.1 -all"),
            txt("soft.test", "v=spf1 ~all"),
            txt("neutral.test", "v=spf1 ?all"),
            txt("perm.test", "v=spf1 ip4:10.0.0.1/99 -all"),
            txt("mx.test", "v=spf1 mx -all"),
            "--mx-host=mx.test,mail.mx.test,10",
            "--host-record=mail.mx.test,127.0.0.1",
            txt("ptr.test", "v=spf1 ptr -all"),
            "--ptr-record=1.0.0.127.in-addr.arpa,host.ptr.test",
            "--host-record=host.ptr.test,127.0.0.1",
            txt("inc.test", "v=spf1 include:good.test -all"),
            txt("outage.test", "v=spf1 ip4:127.0.0.1 -all"),
            txt("v6.test", "v=spf1 ip6:::1/128 -all"),
        ]
        cls.dns = Dnsmasq(zone)
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(scan={"reject_score": 40.0}, auth={"enabled": True},
                                 dns={"servers": f"127.0.0.1:{cls.dns.port}", "timeout_ms": 300, "tries": 1})
        cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port, policy=harness.Gateway.TAG_POLICY)
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.dns.stop()

    def send(self, mail_from, raw):
        """Sends one message; returns the delivered bytes (or raises SMTPDataError)."""
        n = self.sink.count()
        with self.gw.smtp() as s:
            s.sendmail(mail_from, ["bob@acme.example"], raw)
        self.sink.wait_for(n + 1)
        return self.sink.messages[n]["data"]

    def ar(self, data):
        head = data.split(b"\r\n\r\n", 1)[0].decode()
        fields = re.findall(r"^Authentication-Results:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", head, re.M | re.I)
        return [re.sub(r"\r\n[ \t]", " ", f) for f in fields]

    def symbols(self, data):
        m = re.search(rb"X-Mailmoat-Symbols: ([^\r\n]*(?:\r\n\t[^\r\n]*)*)", data)
        return re.sub(rb"\r\n\t", b" ", m.group(1)).decode() if m else ""

    def test_signed_aligned_mail_passes_everything(self):
        raw = signed_message(self.key, "good.test", "sel1", "alice@good.test", "all pass")
        data = self.send("alice@good.test", raw)
        ar = self.ar(data)
        self.assertEqual(len(ar), 1, ar)
        self.assertTrue(ar[0].startswith(f"Authentication-Results: {AUTHSERV};"), ar)
        self.assertIn("spf=pass", ar[0])
        self.assertIn("smtp.mailfrom=alice@good.test", ar[0])
        self.assertIn("dkim=pass header.d=good.test header.s=sel1", ar[0])
        self.assertIn("dmarc=pass (p=reject dis=none) header.from=good.test", ar[0])
        syms = self.symbols(data)
        for s in ("SPF_PASS", "DKIM_VALID", "DMARC_PASS"):
            self.assertIn(s, syms)
        # Our Received: first, the A-R right below it; the message bytes are otherwise unchanged.
        self.assertTrue(data.startswith(b"Received: "))
        self.assertTrue(data.endswith(raw.split(b"\r\n\r\n", 1)[1]))

    def test_tampered_body_fails_dkim(self):
        raw = signed_message(self.key, "good.test", "sel1", "alice@good.test", "tampered")
        raw = raw.replace(b"Hello from", b"Hullo from")
        ar = self.ar(self.send("alice@good.test", raw))[0]
        self.assertIn("dkim=fail (body hash did not verify) header.d=good.test", ar)
        self.assertIn("dmarc=pass", ar)  # SPF still aligned

    def test_wrong_key_fails_dkim_and_dmarc_reject_counts(self):
        # Signed for bank.test with a key that is not the published one (there is none), sent
        # from a server bank.test's SPF does not list: DMARC fails with p=reject.
        raw = signed_message(self.other_key, "bank.test", "sel1", "ceo@bank.test", "spoof")
        data = self.send("ceo@bank.test", raw)
        ar = self.ar(data)[0]
        self.assertIn("spf=fail", ar)
        self.assertIn("dkim=permerror", ar)
        self.assertIn("dmarc=fail (p=reject dis=reject", ar)
        syms = self.symbols(data)
        self.assertIn("DMARC_FAIL_REJECT", syms)
        self.assertIn("X-Spam-Flag: YES", data.decode())  # counted towards the verdict

    def test_every_signature_is_verified(self):
        # Two signatures: a valid one for good.test and one whose key lookup fails (SERVFAIL).
        # Each gets its own result; DMARC passes on the valid aligned one, so the DNS failure
        # does not hold the message.
        inner = signed_message(self.key, "good.test", "sel1", "alice@good.test", "two sigs")
        head, body = inner.split(b"\r\n\r\n", 1)
        fields = [l for l in head.decode().split("\r\n") if not l.startswith("DKIM-Signature")]
        headers = [(f.split(":", 1)[0], f.split(":", 1)[1]) for f in fields if f.split(":", 1)[0] in ("From", "To", "Subject")]
        second = dkim_sign(self.other_key, "broken.test", "s2", headers, body)
        data = self.send("alice@good.test", second.encode() + inner)
        ar = self.ar(data)[0]
        self.assertIn("dkim=pass header.d=good.test header.s=sel1", ar)
        self.assertRegex(ar, r"dkim=temperror \(key lookup: [^)]*\) header.d=broken.test header.s=s2")
        self.assertIn("dmarc=pass", ar)
        self.assertIn("DKIM_TEMPERROR", self.symbols(data))

    def test_strict_alignment_subdomain_signature_fails(self):
        # The libopendmarc bug case, end to end: d=good.test is not bank.test, and a pass for
        # good.test (SPF and DKIM) does not align with From bank.test.
        raw = signed_message(self.key, "good.test", "sel1", "ceo@bank.test", "strict")
        ar = self.ar(self.send("alice@good.test", raw))[0]
        self.assertIn("dkim=pass header.d=good.test", ar)
        self.assertIn("dmarc=fail", ar)

    def test_spf_results(self):
        cases = {"x@fail.test": "fail", "x@soft.test": "softfail", "x@neutral.test": "neutral",
                 "x@quar.test": "none", "x@nowhere.test": "none", "x@perm.test": "permerror",
                 "x@mx.test": "pass", "x@ptr.test": "pass", "x@inc.test": "pass"}
        for sender, want in cases.items():
            with self.subTest(sender=sender):
                data = self.send(sender, harness.message(subject="spf " + sender, sender=sender))
                self.assertIn(f"spf={want} ", self.ar(data)[0])
                self.assertIn("SPF_" + want.upper(), self.symbols(data))

    def test_spf_for_an_ipv6_client(self):
        n = self.sink.count()
        for host, want in (("::1", "pass"), ("127.0.0.1", "fail")):
            with self.gw.smtp(host=host) as s:
                s.sendmail("x@v6.test", ["bob@acme.example"], harness.message(subject="v6 " + want, sender="x@v6.test"))
            n += 1
            self.sink.wait_for(n)
            self.assertIn(f"spf={want} ", self.ar(self.sink.messages[n - 1]["data"])[0])

    def test_dmarc_quarantine_policy_without_spf(self):
        data = self.send("x@quar.test", harness.message(subject="quar", sender="x@quar.test"))
        self.assertIn("dmarc=fail (p=quarantine dis=quarantine", self.ar(data)[0])
        self.assertIn("DMARC_FAIL_QUARANTINE", self.symbols(data))

    def test_forged_authentication_results_are_removed(self):
        forged = (f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=bank.test\r\n"
                  "Authentication-Results: other.example; spf=pass\r\n")
        raw = harness.message(subject="forged", sender="alice@good.test", extra=forged)
        data = self.send("alice@good.test", raw)
        ars = self.ar(data)
        ours = [a for a in ars if a.startswith(f"Authentication-Results: {AUTHSERV};")]
        self.assertEqual(len(ours), 1, ars)
        self.assertNotIn("header.d=bank.test", ours[0])
        self.assertIn("Authentication-Results: other.example; spf=pass", ars)

    def test_spf_temperror_is_a_tempfail(self):
        raw = harness.message(subject="temp", sender="x@broken.test")
        with self.gw.smtp() as s:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail("x@broken.test", ["bob@acme.example"], raw)
        self.assertEqual(e.exception.smtp_code, 451)
        self.assertIn(b"4.4.3", e.exception.smtp_error)
        self.assertIn(b"broken.test", e.exception.smtp_error)

    def test_a_held_message_keeps_its_auth_results_at_the_rescan(self):
        import tempfile
        tmp = tempfile.mkdtemp(prefix="mm-it-")
        dns = {"servers": f"127.0.0.1:{self.dns.port}", "timeout_ms": 300, "tries": 1}
        # A 1 ms scan deadline cannot be met for a 4 MB message: accepted, held for a rescan,
        # with the auth results already in its Authentication-Results field.
        gw = harness.Gateway(scan={"timeout_ms": 1}, tmp=tmp, auth={"enabled": True}, dns=dns)
        forged = f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=quar.test\r\n"
        big = harness.message(subject="held", sender="x@quar.test", extra=forged) + b"line of text\r\n" * 300000
        try:
            gw.add_tenant_domain("acme", "acme.example", self.sink.port, policy=harness.Gateway.TAG_POLICY)
            gw.start()
            with gw.smtp() as s:
                s.sendmail("x@quar.test", ["bob@acme.example"], big)
            self.assertTrue(gw.queue_list()[0]["scan_pending"])
        finally:
            gw.stop()
        n = self.sink.count()
        gw2 = harness.Gateway(tmp=tmp, scan={"reject_score": 40.0}, auth={"enabled": True}, dns=dns)
        try:
            gw2.start()
            self.sink.wait_for(n + 1, timeout=30)
            data = self.sink.messages[n]["data"]
            ars = self.ar(data)
            self.assertEqual(len(ars), 1, ars)  # ours; the forged one was removed at DATA
            self.assertIn("dmarc=fail (p=quarantine dis=quarantine", ars[0])
            self.assertIn("DMARC_FAIL_QUARANTINE", self.symbols(data))  # counted at the rescan
        finally:
            gw2.cleanup()

    def test_zz_dns_outage_is_a_tempfail(self):  # last: stops the DNS server
        self.dns.stop()
        raw = harness.message(subject="outage", sender="x@outage.test")
        n = self.sink.count()
        with self.gw.smtp() as s:
            with self.assertRaises(smtplib.SMTPDataError) as e:
                s.sendmail("x@outage.test", ["bob@acme.example"], raw)
        self.assertEqual(e.exception.smtp_code, 451)
        self.assertIn(b"4.4.3", e.exception.smtp_error)
        time.sleep(0.5)
        self.assertEqual(self.sink.count(), n)  # nothing delivered without a verdict


if __name__ == "__main__":
    harness.main()
