"""Scanning on the mail path: every inbound message gets a verdict before the final reply;
spam is tagged, high-scoring spam is refused at DATA, forged verdict headers are removed, a
scanner failure holds the message (never delivered unscanned) until a rescan, and
`mailmoat scan` explains the verdict."""
import json
import os
import random
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")

SPAM_WORDS = ("viagra cialis pharmacy discount pills cheap meds winner lottery prize claim "
              "unclaimed funds wire transfer million dollars urgent beneficiary casino bonus").split()
HAM_WORDS = ("meeting agenda project review quarterly report attached draft budget schedule "
             "team lunch thursday minutes deadline design document feedback release notes").split()


def corpus_message(words, i, spam):
    rnd = random.Random(i * 2 + spam)
    body = " ".join(rnd.choice(words) for _ in range(60))
    sender = f"promo{i}@deals{i % 7}.example" if spam else f"colleague{i}@partner.example"
    subject = " ".join(rnd.choice(words) for _ in range(4))
    return (f"From: {sender}\r\nTo: someone@acme.example\r\nSubject: {subject}\r\n"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m{i}-{spam}@x.example>\r\n\r\n"
            f"{body}\r\n").encode()


class ScanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(scan={"reject_score": 40.0})
        cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
        # This test is about tagging: spam is delivered tagged (the default policy quarantines it).
        cls.gw.cli("policy", "set", "acme", "spam>=high=reject spam=tag")
        # A tenant that quarantines spam, for releases reported as not spam.
        cls.gw.add_tenant_domain("qt", "qt.example", cls.sink.port)
        cls.gw.cli("policy", "set", "qt", "spam=quarantine")
        cls.train_dir = tempfile.mkdtemp(prefix="mm-train-")
        for kind, words, spam in (("spam", SPAM_WORDS, 1), ("ham", HAM_WORDS, 0)):
            d = os.path.join(cls.train_dir, kind)
            os.makedirs(d)
            for i in range(80):
                with open(os.path.join(d, f"{i}.eml"), "wb") as f:
                    f.write(corpus_message(words, i, spam))
        out = cls.gw.cli("train", "--spam", os.path.join(cls.train_dir, "spam"),
                         "--ham", os.path.join(cls.train_dir, "ham")).stdout
        assert "learned 80 spam and 80 ham" in out, out
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()

    def send(self, raw, rcpt="bob@acme.example"):
        with self.gw.smtp() as s:
            s.ehlo("client.example")
            code, text = s.docmd("MAIL FROM:<x@sender.example>")
            self.assertEqual(code, 250)
            code, text = s.docmd(f"RCPT TO:<{rcpt}>")
            self.assertEqual(code, 250)
            s.putcmd("DATA")
            code, _ = s.getreply()
            self.assertEqual(code, 354)
            s.send(raw.replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
            return s.getreply()

    def delivered(self, qid):
        wait_until(lambda: any(qid.encode() in m["data"] for m in self.sink.messages), 20,
                   what=f"{qid} at the sink")
        return next(m for m in self.sink.messages if qid.encode() in m["data"])

    def test_spam_is_tagged_and_ham_is_not(self):
        code, text = self.send(corpus_message(SPAM_WORDS, 1000, 1))
        self.assertEqual(code, 250, text)
        spam = self.delivered(QID.search(text.decode()).group(1))["data"]
        self.assertIn(b"X-Spam-Flag: YES\r\n", spam)
        self.assertRegex(spam, rb"X-Mailmoat-Verdict: spam; score=\d+\.\d\d")
        self.assertIn(b"BAYES_SPAM", spam)
        self.assertRegex(spam, rb"\r\nSubject: \[SPAM\] ")

        code, text = self.send(corpus_message(HAM_WORDS, 1000, 0))
        self.assertEqual(code, 250, text)
        ham = self.delivered(QID.search(text.decode()).group(1))["data"]
        self.assertIn(b"X-Spam-Flag: NO\r\n", ham)
        self.assertIn(b"X-Mailmoat-Verdict: clean;", ham)
        self.assertIn(b"BAYES_HAM", ham)
        self.assertNotIn(b"[SPAM]", ham)
        # The verdict is in message tracking too.
        qid = QID.search(text.decode()).group(1)
        track = wait_until(lambda: (lambda t: t if '"scanned"' in t else None)(
            self.gw.cli("track", "--id", qid, "--json").stdout), 10, what="tracking")
        scanned = [json.loads(line) for line in track.splitlines() if '"scanned"' in line]
        self.assertTrue(scanned and scanned[0]["detail"].startswith("clean score="), track)

    def test_forged_verdict_headers_are_removed(self):
        raw = corpus_message(SPAM_WORDS, 1001, 1).replace(
            b"Subject:", b"X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-50\r\nX-Mailmoat-Verdict: clean\r\nSubject:", 1)
        code, text = self.send(raw)
        self.assertEqual(code, 250, text)
        data = self.delivered(QID.search(text.decode()).group(1))["data"]
        self.assertNotIn(b"X-Spam-Flag: NO", data)
        self.assertNotIn(b"score=-50", data)
        self.assertEqual(data.count(b"X-Mailmoat-Verdict:"), 1)

    def test_cli_scan_explains(self):
        path = os.path.join(self.train_dir, "spam", "3.eml")
        r = self.gw.cli("scan", "--json", path)
        v = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual(v["file"], path)
        self.assertIn(v["class"], ("spam", "clean", "bulk"))
        names = [s["name"] for s in v["symbols"]]
        self.assertIn("BAYES_SPAM", names)
        self.assertTrue(all("detail" in s and "score" in s for s in v["symbols"]))
        text = self.gw.cli("scan", path).stdout
        self.assertIn("verdict:", text)
        self.assertIn("BAYES_SPAM", text)
        self.assertIn("probability", text)

    def test_learn_feedback_changes_the_live_verdict(self):
        # Words the model never saw: the classifier has no opinion and the message is clean.
        words = [f"novelterm{k}" for k in range(40)]
        raw = (b"From: vendor@supplier.example\r\nTo: bob@acme.example\r\nSubject: novelterm1 novelterm2\r\n"
               b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <fb1@supplier.example>\r\n\r\n"
               + " ".join(words).encode() + b"\r\n")
        score = re.compile(rb"X-Mailmoat-Verdict: (\w+); score=(-?\d+\.\d\d)")

        def verdict():
            code, text = self.send(raw)
            self.assertEqual(code, 250, text)
            m = score.search(self.delivered(QID.search(text.decode()).group(1))["data"])
            return m.group(1), float(m.group(2))

        cls_before, before = verdict()
        self.assertEqual(cls_before, b"clean")
        path = os.path.join(self.train_dir, "reported.eml")
        with open(path, "wb") as f:
            f.write(raw)
        out = self.gw.cli("learn", "--spam", path).stdout
        self.assertIn("as spam: learnt", out)
        self.assertIn("reloaded", out)  # the running server took the new model
        self.assertIn("already learnt", self.gw.cli("learn", "--spam", path).stdout)
        _, after = verdict()
        # One report moves the live verdict well towards spam (how far depends on the learnt
        # weight of the classifier; the unit test Feedback.* checks a class change).
        self.assertGreater(after, before + 1.5, (before, after))
        self.assertIn("relearnt", self.gw.cli("learn", "--ham", path).stdout)
        _, back = verdict()
        self.assertLess(back, after - 1.5, (before, after, back))

    def test_release_as_not_spam_teaches_the_classifier(self):
        raw = corpus_message(SPAM_WORDS, 2000, 1).replace(b"To: someone@acme.example", b"To: ann@qt.example")

        def scanned_score(qid):  # the message's tracking summary: class and score
            def get():
                t = self.gw.cli("track", "--tenant", "qt", "--id", qid, "--json").stdout
                return [json.loads(line) for line in t.splitlines() if line.strip()] or None
            s = wait_until(get, 10, what="the tracking summary")[0]
            return s["verdict"], float(s["score"])

        code, text = self.send(raw, rcpt="ann@qt.example")
        self.assertEqual(code, 250, text)
        cls_before, before = scanned_score(QID.search(text.decode()).group(1))
        self.assertEqual(cls_before, "spam")
        items = [json.loads(line) for line in
                 self.gw.cli("quarantine", "list", "--tenant", "qt", "--json").stdout.splitlines() if line.strip()]
        self.assertEqual(len(items), 1, items)
        out = self.gw.cli("quarantine", "release", items[0]["id"], "--not-spam").stdout
        self.assertIn("released " + items[0]["id"], out)
        self.assertIn("learnt as not spam", out)
        # The original bytes were learnt, not the tagged copy: the same message scores lower now.
        code, text = self.send(raw, rcpt="ann@qt.example")
        self.assertEqual(code, 250, text)
        _, after = scanned_score(QID.search(text.decode()).group(1))
        self.assertLess(after, before - 1.0, (before, after))
        # A second report of the same message changes nothing.
        items = [json.loads(line) for line in
                 self.gw.cli("quarantine", "list", "--tenant", "qt", "--json").stdout.splitlines() if line.strip()]
        if items:
            self.assertIn("already learnt", self.gw.cli("quarantine", "release", items[0]["id"], "--not-spam").stdout)


class RejectAndRescanTest(unittest.TestCase):
    def test_high_score_is_refused_at_data(self):
        sink = harness.Sink().start()
        gw = harness.Gateway(scan={"tag_score": 1.0, "reject_score": 2.0})
        try:
            gw.add_tenant_domain("acme", "acme.example", sink.port)
            gw.start()
            raw = (b"From: \"WINNER NOTICE\" <x@lotto.example>\r\nTo: bob@acme.example\r\n"
                   b"Subject: YOU HAVE WON THE LOTTERY!!! CLAIM YOUR PRIZE NOW!!!\r\n\r\n"
                   b"CONGRATULATIONS!!! You have won $1,000,000 USD in our international lottery. "
                   b"Send your bank details to claim your prize. Act now!!!\r\n")
            with gw.smtp() as s:
                s.ehlo("client.example")
                s.mail("x@lotto.example")
                s.rcpt("bob@acme.example")
                code, reply = s.data(raw)
            self.assertEqual(code, 550, reply)
            msg = reply.decode()
            self.assertRegex(msg, r"^5\.7\.1 Message refused as (spam|phishing) \(score \d+\.\d, reference [0-9A-Z]+\)")
            ref = re.search(r"reference ([0-9A-Z]+)", msg).group(1)
            wait_until(lambda: "rejected" in gw.cli("track", "--id", ref).stdout, 10,
                       what="the rejection in message tracking")
            self.assertEqual(gw.queue_list(), [])
            self.assertEqual(sink.count(), 0)
        finally:
            gw.cleanup()
            sink.stop()

    def test_scanner_failure_holds_the_message_until_a_rescan(self):
        sink = harness.Sink().start()
        tmp = tempfile.mkdtemp(prefix="mm-it-")
        # A 1 ms deadline cannot be met for a 4 MB message: the scan fails.
        gw = harness.Gateway(scan={"timeout_ms": 1}, tmp=tmp)
        try:
            gw.add_tenant_domain("acme", "acme.example", sink.port)
            gw.start()
            big = harness.message(subject="big", body="x" * 76 + "\r\n") + b"line of text\r\n" * 300000
            with gw.smtp() as s:
                s.sendmail("a@sender.example", ["bob@acme.example"], big)
            q = gw.queue_list()
            self.assertEqual(len(q), 1)
            self.assertTrue(q[0]["scan_pending"], q)
            qid = q[0]["id"]
            self.assertIn("rescan", gw.cli("queue", "list").stdout)
            # Not delivered unscanned, whatever the queue does meanwhile.
            gw.cli("queue", "flush")
            import time
            time.sleep(2)
            self.assertEqual(sink.count(), 0)
            gw.stop()
        finally:
            if gw.proc and gw.proc.poll() is None:
                gw.stop()
        # Restarted with a workable deadline: the rescan at start delivers it, with a verdict.
        gw2 = harness.Gateway(tmp=tmp)
        try:
            gw2.start()
            sink.wait_for(1, timeout=30)
            data = sink.messages[0]["data"]
            self.assertIn(b"X-Mailmoat-Verdict:", data)
            self.assertTrue(data.endswith(b"line of text\r\n"))
            self.assertEqual(gw2.queue_list(), [])
            wait_until(lambda: "rescanned as" in gw2.cli("track", "--id", qid).stdout, 10,
                       what="the rescan in message tracking")
        finally:
            gw2.cleanup()
            sink.stop()


if __name__ == "__main__":
    harness.main()
