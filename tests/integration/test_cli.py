"""The mailmoat command line: help, config validation, directory errors, queue administration
against a live server and offline (spool), signals."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")


def run(*args, timeout=30):
    return subprocess.run([harness.BIN, *args], capture_output=True, text=True, timeout=timeout)


class HelpTest(unittest.TestCase):
    SUBCOMMANDS = {
        "queue": ["list", "show", "flush", "delete", "hold", "release"],
        "tenant": ["add", "list", "suspend", "activate", "remove"],
        "domain": ["add", "list", "remove", "route", "recipient-validation"],
        "recipient": ["add", "remove", "list"],
        "track": ["--id", "--recipient", "--limit", "--json"],
        "serve": [],
        "check-config": [],
        "version": [],
    }

    def test_version(self):
        r = run("version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^mailmoat \d+\.\d+\.\d+\s*$")

    def test_top_level_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for sub in self.SUBCOMMANDS:
            self.assertIn(sub, r.stdout)
        self.assertIn("--config", r.stdout)

    def test_subcommand_help(self):
        for sub, words in self.SUBCOMMANDS.items():
            with self.subTest(sub=sub):
                r = run(sub, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(sub, r.stdout)
                for w in words:
                    self.assertIn(w, r.stdout)
        for sub, words in self.SUBCOMMANDS.items():
            for w in words:
                if w.startswith("-"):
                    continue
                with self.subTest(sub=f"{sub} {w}"):
                    r = run(sub, w, "--help")
                    self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
                    self.assertIn(w, r.stdout)

    def test_no_or_unknown_subcommand_fails(self):
        for args in ([], ["frobnicate"], ["queue"], ["queue", "frobnicate"]):
            with self.subTest(args=args):
                r = run(*args)
                self.assertNotEqual(r.returncode, 0)
                self.assertTrue((r.stderr + r.stdout).strip())


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.gw = harness.Gateway()
        self.addCleanup(self.gw.cleanup)
        with open(self.gw.config_path) as f:
            self.base = f.read()

    def check(self, text):
        path = os.path.join(self.gw.tmp, "test.toml")
        with open(path, "w") as f:
            f.write(text)
        return run("-c", path, "check-config")

    def add_key(self, section, line):
        return self.base.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)

    def test_valid(self):
        r = self.gw.cli("check-config")
        self.assertEqual(r.returncode, 0)
        self.assertIn("configuration OK", r.stdout)
        self.assertIn("mx.test.example", r.stdout)
        self.assertIn(str(self.gw.port), r.stdout)
        self.assertIn("[::1]", r.stdout)

    def test_invalid(self):
        cases = [
            (self.add_key("smtp", "max_mesage_size = 5000"), ["max_mesage_size", "unknown"]),
            (self.add_key("queue", "retry_forever = true"), ["retry_forever"]),
            (self.add_key("smtp", "max_sessions_per_ip = 0"), ["max_sessions_per_ip"]),
            (self.add_key("smtp", "max_message_size = \"big\""), ["max_message_size"]),
            (self.add_key("server", "io_threads = 1000"), ["io_threads"]),
            (self.add_key("log", "level = \"verbose\"") if "[log]" in self.base
             else self.base + "[log]\nlevel = \"verbose\"\n", ["level"]),
            (self.base + "[tls]\nmin_version = \"1.0\"\n", ["min_version"]),
            (self.base + "[antispam]\nenabled = true\n", ["antispam"]),
            (self.base.replace(f"127.0.0.1:{self.gw.port}", "127.0.0.1:99999"), ["listen"]),
            (self.base.replace("[queue]\n", "[queue]\nmin_backoff_s = 100\nmax_backoff_s = 10\n", 1)
             .replace("min_backoff_s = 1\n", "").replace("max_backoff_s = 2\n", ""), ["min_backoff_s"]),
            (self.base + "[delivery\n", ["test.toml"]),
        ]
        for text, words in cases:
            with self.subTest(words=words):
                r = self.check(text)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertNotIn("configuration OK", r.stdout)
                for w in words:
                    self.assertIn(w, r.stderr)

    def test_all_errors_reported_at_once(self):
        text = self.add_key("smtp", "max_mesage_size = 5000\nmax_errors = 0")
        r = self.check(text)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("max_mesage_size", r.stderr)
        self.assertIn("max_errors", r.stderr)

    def test_serve_refuses_bad_config(self):
        path = os.path.join(self.gw.tmp, "bad.toml")
        with open(path, "w") as f:
            f.write(self.add_key("smtp", "max_mesage_size = 5000"))
        r = run("-c", path, "serve", timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("max_mesage_size", r.stderr)


class DirectoryErrorsTest(unittest.TestCase):
    def setUp(self):
        self.gw = harness.Gateway()
        self.addCleanup(self.gw.cleanup)
        self.gw.cli("tenant", "add", "acme")
        self.gw.cli("domain", "add", "acme.example", "--tenant", "acme", "--route", "127.0.0.1:2600")

    def fails(self, *args, words=()):
        r = self.gw.cli(*args, check=False)
        self.assertNotEqual(r.returncode, 0, f"{args} succeeded: {r.stdout}")
        msg = r.stderr.strip()
        self.assertTrue(msg.startswith("mailmoat: ") or msg, r.stderr)
        for w in words:
            self.assertIn(w, msg, args)
        return msg

    def domains(self):
        return self.gw.cli("domain", "list").stdout

    def test_tenant_errors(self):
        self.fails("tenant", "add", "Bad_Name", words=["Bad_Name", "not valid"])
        self.fails("tenant", "add", "-x", words=[])
        self.fails("tenant", "add", "acme", words=["acme", "already exists"])
        self.fails("tenant", "suspend", "nosuch", words=["nosuch", "does not exist"])
        self.fails("tenant", "remove", "nosuch", words=["nosuch", "does not exist"])
        self.fails("tenant", "remove", "acme", words=["acme", "1 domain"])
        self.assertIn("acme", self.gw.cli("tenant", "list").stdout)
        self.gw.cli("domain", "remove", "acme.example")
        self.gw.cli("tenant", "remove", "acme")
        self.assertNotIn("acme", self.gw.cli("tenant", "list").stdout)

    def test_domain_errors(self):
        for bad in ("bad..example", "-bad.example", "bad_domain.example", "localhost", "1.2.3.4",
                    "exa mple.com", "a" * 64 + ".example"):
            with self.subTest(domain=bad):
                self.fails("domain", "add", "--tenant", "acme", "--", bad, words=["not a valid domain name"])
        self.fails("domain", "add", "new.example", "--tenant", "nosuch", words=["nosuch", "does not exist"])
        self.fails("domain", "add", "acme.example", "--tenant", "acme", words=["acme.example", "already exists"])
        self.fails("domain", "add", "ACME.Example.", "--tenant", "acme", words=["already exists"])
        self.gw.cli("tenant", "add", "beta")
        self.fails("domain", "add", "acme.example", "--tenant", "beta", words=["belongs to tenant 'acme'"])
        # A failed route or TLS mode must not leave a half-created domain behind.
        self.fails("domain", "add", "half.example", "--tenant", "beta", "--route", "127.0.0.1:0")
        self.fails("domain", "add", "half.example", "--tenant", "beta", "--route", "127.0.0.1:x")
        self.fails("domain", "add", "half.example", "--tenant", "beta", "--route", "127.0.0.1:25",
                   "--tls", "sometimes", words=["--tls"])
        self.assertNotIn("half.example", self.domains())
        self.fails("domain", "remove", "nosuch.example", words=["nosuch.example"])
        self.fails("domain", "route", "nosuch.example", "127.0.0.1:25", words=["nosuch.example"])
        self.fails("domain", "recipient-validation", "acme.example", "maybe")
        self.fails("recipient", "add", "bob@other.example", words=["other.example"])
        self.fails("recipient", "add", "not-an-address")
        self.gw.cli("recipient", "add", "bob@acme.example")
        self.fails("recipient", "add", "bob@acme.example", words=["already exists"])
        self.fails("recipient", "remove", "carol@acme.example", words=["does not exist"])
        listing = self.domains()
        self.assertIn("acme.example", listing)
        self.assertIn("127.0.0.1:2600", listing)
        self.assertEqual(listing.count("acme.example"), 1)


class QueueAdminTest(unittest.TestCase):
    def setUp(self):
        self.sink = harness.Sink().start()
        self.addCleanup(self.sink.stop)

    def gateway(self, queue=None):
        self.gw = harness.Gateway(queue=queue)
        self.addCleanup(self.gw.cleanup)
        self.gw.add_tenant_domain("acme", "acme.example", self.sink.port)
        self.gw.add_tenant_domain("senders", "sender.example", self.sink.port)
        self.gw.start()
        return self.gw

    def submit(self, subject, rcpt="bob@acme.example"):
        s = self.gw.smtp()
        try:
            s.ehlo()
            s.mail("alice@sender.example")
            s.rcpt(rcpt)
            code, text = s.data(harness.message(subject=subject, to=rcpt))
            self.assertEqual(code, 250, text)
            s.quit()
        finally:
            s.close()
        return QID.search(text.decode()).group(1)

    def entry(self, qid):
        return self.gw.queue_entry(qid)

    def wait_deferred(self, qid):
        return wait_until(lambda: (lambda e: e if e and e["attempts"] >= 1 else None)(self.entry(qid)),
                          10, what=f"{qid} to be deferred")

    def subjects(self):
        with self.sink.lock:
            return [re.search(rb"Subject: (\S+)", m["data"]).group(1).decode() for m in self.sink.messages]

    def test_hold_release_delete_live(self):
        self.gateway()
        self.sink.mode = "tempfail"
        held = self.submit("held-msg")
        gone = self.submit("deleted-msg")
        self.wait_deferred(held)
        self.wait_deferred(gone)
        r = self.gw.cli("queue", "hold", held)
        self.assertIn(f"held {held}", r.stdout)
        self.assertTrue(self.entry(held)["held"])
        self.assertRegex(self.gw.cli("queue", "list").stdout, rf"{held}\s+\d+\s+\S+\s+held")
        self.assertIn("already held", self.gw.cli("queue", "hold", held, check=False).stderr)
        r = self.gw.cli("queue", "delete", gone)
        self.assertIn(f"deleted {gone}", r.stdout)
        self.assertIsNone(self.entry(gone))
        self.sink.mode = "accept"
        time.sleep(3.5)  # retries are 1-2 s apart: anything not held would have gone out
        self.assertEqual(self.subjects(), [], "a held or deleted message was delivered (or a DSN sent)")
        self.assertIsNotNone(self.entry(held))
        r = self.gw.cli("queue", "release", held)
        self.assertIn(f"released {held}", r.stdout)
        self.sink.wait_for(1, 10)
        wait_until(lambda: self.gw.queue_list() == [], 10, what="an empty queue")
        time.sleep(1)
        self.assertEqual(self.subjects(), ["held-msg"])
        track = self.gw.cli("track", "--id", gone).stdout
        self.assertIn("deleted", track)
        self.assertNotRegex(track, r"\bdsn\b")
        track = self.gw.cli("track", "--id", held).stdout
        for ev in ("held", "released", "delivered"):
            self.assertRegex(track, rf"\b{ev}\b")
        # Errors for unknown ids.
        for op in ("hold", "release", "delete", "show"):
            r = self.gw.cli("queue", op, "NOSUCHID", check=False)
            self.assertNotEqual(r.returncode, 0, op)
            self.assertIn("NOSUCHID", r.stderr)

    def test_flush_live(self):
        self.gateway(queue={"first_retry_s": 60, "min_backoff_s": 60, "max_backoff_s": 120})
        self.sink.mode = "tempfail"
        qid = self.submit("flushed")
        e = self.wait_deferred(qid)
        self.sink.mode = "accept"
        time.sleep(2)
        self.assertEqual(self.sink.count(), 0, "retried before next_attempt without a flush")
        show = self.gw.cli("queue", "show", qid).stdout
        self.assertIn(qid, show)
        self.assertIn("<bob@acme.example> pending", show)
        self.assertIn("1 attempt(s)", show)
        r = self.gw.cli("queue", "flush")
        self.assertIn("flushed: 1", r.stdout)
        self.sink.wait_for(1, 10)
        wait_until(lambda: self.gw.queue_list() == [], 10, what="an empty queue")
        self.assertEqual(self.subjects(), ["flushed"])
        self.assertEqual(e["attempts"], 1)

    def test_offline_queue_admin_honoured_at_start(self):
        self.gateway(queue={"first_retry_s": 60, "min_backoff_s": 60, "max_backoff_s": 120})
        self.sink.mode = "tempfail"
        ids = {name: self.submit(name) for name in ("off-held", "off-deleted", "off-flushed", "off-waiting")}
        for qid in ids.values():
            self.wait_deferred(qid)
        self.assertEqual(self.gw.stop(), 0, self.gw.stderr()[-2000:])
        # Offline: the CLI reads and changes the spool itself.
        listed = {e["id"]: e for e in self.gw.queue_list()}
        self.assertEqual(set(listed), set(ids.values()))
        for e in listed.values():
            self.assertGreaterEqual(e["attempts"], 1)
        text = self.gw.cli("queue", "list").stdout
        self.assertIn("-- 4 message(s)", text)
        self.assertIn(f"held {ids['off-held']}", self.gw.cli("queue", "hold", ids["off-held"]).stdout)
        self.assertIn(f"deleted {ids['off-deleted']}", self.gw.cli("queue", "delete", ids["off-deleted"]).stdout)
        self.gw.cli("queue", "flush")
        listed = {e["id"]: e for e in self.gw.queue_list()}
        self.assertEqual(set(listed), {ids["off-held"], ids["off-flushed"], ids["off-waiting"]})
        self.assertTrue(listed[ids["off-held"]]["held"])
        show = self.gw.cli("queue", "show", ids["off-waiting"]).stdout
        self.assertIn("<bob@acme.example> pending", show)
        # Restart: flushed messages go at once, the held one stays, the deleted one is gone.
        self.sink.mode = "accept"
        self.gw.start()
        wait_until(lambda: {"off-flushed", "off-waiting"} <= set(self.subjects()), 10,
                   what="the flushed messages after the restart")
        time.sleep(2)
        self.assertEqual(sorted(self.subjects()), ["off-flushed", "off-waiting"])
        self.assertTrue(self.entry(ids["off-held"])["held"])
        self.gw.cli("queue", "release", ids["off-held"])
        self.sink.wait_for(3, 10)
        wait_until(lambda: self.gw.queue_list() == [], 10, what="an empty queue")
        time.sleep(0.5)
        self.assertEqual(sorted(self.subjects()), ["off-flushed", "off-held", "off-waiting"])

    def test_offline_without_spool(self):
        gw = harness.Gateway()
        self.addCleanup(gw.cleanup)
        r = gw.cli("queue", "list")
        self.assertIn("The queue is empty", r.stdout)
        self.assertEqual(gw.queue_list(), [])
        self.assertNotEqual(gw.cli("queue", "hold", "NOSUCHID", check=False).returncode, 0)


class SignalTest(unittest.TestCase):
    def setUp(self):
        self.gw, self.sink = harness.start_acme(self)

    def send(self, subject):
        s = self.gw.smtp()
        try:
            s.sendmail("alice@sender.example", ["bob@acme.example"], harness.message(subject=subject))
            s.quit()
        finally:
            s.close()

    def test_sighup_keeps_running(self):
        self.send("before-hup")
        self.sink.wait_for(1)
        pid = self.gw.proc.pid

        def reloads():
            return len([e for e in self.gw.log_events() if e.get("event") == "server.reloaded"])
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: reloads() == 1, 10, what="server.reloaded in the log")
        time.sleep(0.5)
        self.assertIsNone(self.gw.proc.poll(), "SIGHUP stopped the server")
        self.assertEqual(self.gw.proc.pid, pid)
        # A domain added before the HUP is known right away, and mail still flows.
        self.gw.cli("domain", "add", "hup.example", "--tenant", "acme", "--route",
                    f"127.0.0.1:{self.sink.port}", "--tls", "none")
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: reloads() == 2, 10, what="the second server.reloaded")
        s = self.gw.smtp()
        s.ehlo()
        s.mail("alice@sender.example")
        self.assertEqual(s.rcpt("x@hup.example")[0], 250)
        s.rset()
        s.quit()
        self.send("after-hup")
        self.sink.wait_for(2)
        # The log file is reopened (logrotate): events keep arriving after a rename + HUP.
        logp = os.path.join(self.gw.tmp, "var", "log", "mailmoat.jsonl")
        os.rename(logp, logp + ".1")
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: os.path.exists(logp), 5, what="a new log file after SIGHUP")
        self.send("after-rotate")
        self.sink.wait_for(3)
        wait_until(lambda: [e for e in self.gw.log_events() if e.get("event") == "track.delivered"], 5,
                   what="delivery logged to the new file")

    def test_sigterm_exits_zero_and_restart_delivers(self):
        self.sink.mode = "tempfail"
        s = self.gw.smtp()
        s.ehlo()
        s.mail("alice@sender.example")
        s.rcpt("bob@acme.example")
        code, text = s.data(harness.message(subject="survives-restart"))
        s.quit()
        qid = QID.search(text.decode()).group(1)
        wait_until(lambda: [e for e in self.gw.queue_list() if e["attempts"] >= 1], 10, what="a deferral")
        idle = harness.RawClient(self.gw.port)
        self.addCleanup(idle.close)
        self.assertEqual(idle.read_reply()[0], 220)
        self.assertEqual(idle.cmd("EHLO client.example")[0], 250)
        t0 = time.time()
        self.gw.proc.send_signal(signal.SIGTERM)
        # An idle session is told the service is going away.
        code, lines = idle.read_reply(timeout=5)
        self.assertEqual(code, 421, lines)
        self.assertTrue(lines[0].startswith("4.3.2"), lines)
        self.assertEqual(self.gw.proc.wait(15), 0, self.gw.stderr()[-2000:])
        self.assertLess(time.time() - t0, 6, "shutdown took longer than the grace period")
        self.assertFalse(os.path.exists(os.path.join(self.gw.tmp, "var", "run", "mailmoat.pid")))
        self.assertEqual([e["id"] for e in self.gw.queue_list()], [qid])
        self.sink.mode = "accept"
        self.gw.start()
        self.sink.wait_for(1, 15)
        wait_until(lambda: self.gw.queue_list() == [], 10, what="an empty queue")
        self.assertIn(b"Subject: survives-restart", self.sink.messages[0]["data"])
        time.sleep(1)
        self.assertEqual(self.sink.count(), 1)

    def test_sigterm_lets_a_transaction_finish(self):
        c = harness.RawClient(self.gw.port)
        self.addCleanup(c.close)
        c.read_reply()
        c.cmd("EHLO client.example")
        c.send("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@acme.example>\r\nDATA\r\n")
        self.assertEqual([r[0] for r in c.read_replies(3)], [250, 250, 354])
        self.gw.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(self.gw.proc.poll(), "exited while a transaction was in progress")
        # New sessions are no longer started...
        greeting = None
        try:
            probe = harness.RawClient(self.gw.port, timeout=2)
            try:
                greeting = probe.read_reply(timeout=2)
            finally:
                probe.close()
        except (OSError, EOFError):
            pass
        self.assertIsNone(greeting, "a new session was accepted after SIGTERM")
        # ...but the message in progress is still taken (and kept for the next start).
        c.send(harness.message(subject="in-flight-at-term") + b".\r\n")
        code, lines = c.read_reply()
        self.assertEqual(code, 250, lines)
        qid = QID.search(lines[0]).group(1)
        self.assertEqual(self.gw.proc.wait(15), 0)
        if self.sink.count() == 0:
            self.assertEqual([e["id"] for e in self.gw.queue_list()], [qid])
            self.gw.start()
        self.sink.wait_for(1, 10)
        self.assertIn(b"Subject: in-flight-at-term", self.sink.messages[0]["data"])
        wait_until(lambda: self.gw.queue_list() == [], 10, what="an empty queue")


if __name__ == "__main__":
    harness.main()
