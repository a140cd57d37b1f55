"""Tenancy, policy and quarantine end to end with the real binary: each policy action through the
gateway (quarantine then release of the byte-identical original, delete, reject, tag, a message
split between recipients with different decisions), approved senders never skipping malware
handling, the licence (refused accounts, counted recipients with an alert, usage report), and
tenant isolation of quarantine and tracking through the CLI acting as console users."""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

QID = re.compile(r"queued as ([0-9A-Z]+)")
SPAM = "MMTEST-SPAM-MARKER"
MALWARE = "MMTEST-MALWARE-MARKER"
TEST_RULES = f"""
rule TEST_SPAM_MARKER
  body =~ /{SPAM}/
  score 10
  describe test spam marker
  class spam

rule TEST_MALWARE_MARKER
  body =~ /{MALWARE}/
  score 3
  describe test malware marker
  class malware
"""
PASSWORD = "correct horse battery staple\n"


class TenancyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = harness.rules_dir_with(TEST_RULES)
        cls.sink = harness.Sink().start()
        cls.beta_sink = harness.Sink().start()
        cls.gw = harness.Gateway(scan={"rules_dir": cls.rules})
        gw = cls.gw
        gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
        gw.add_tenant_domain("beta", "beta.example", cls.beta_sink.port)
        gw.add_tenant_domain("omega", "omega.example", cls.sink.port)  # attachment overrides
        for who in ("bob", "carol", "dave", "erin"):
            gw.cli("account", "add", f"{who}@acme.example", "--tenant", "acme")
        gw.cli("policy", "set", "acme", "spam=delete", "--account", "carol@acme.example")
        gw.cli("policy", "set", "acme", "spam=tag", "--account", "dave@acme.example")
        gw.cli("policy", "set", "acme", "spam=reject", "--account", "erin@acme.example")
        cls.user("beta-admin", "admin", "beta")
        cls.user("acme-admin", "admin", "acme")
        cls.user("bob", "user", "acme", "bob@acme.example")
        gw.start()

    @classmethod
    def user(cls, name, role, tenant, account=None):
        import subprocess
        args = [harness.BIN, "-c", cls.gw.config_path, "user", "add", name, "--role", role, "--tenant", tenant]
        if account:
            args += ["--account", account]
        r = subprocess.run(args, input=PASSWORD, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.beta_sink.stop()
        shutil.rmtree(cls.rules, ignore_errors=True)

    def send(self, raw, rcpts, sender="alice@sender.example"):
        with self.gw.smtp() as s:
            s.ehlo("client.example")
            s.mail(sender)
            for r in rcpts:
                code, _ = s.rcpt(r)
                self.assertEqual(code, 250)
            return s.data(raw)

    def quarantined(self, *args):
        out = self.gw.cli("quarantine", "list", "--json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def at_sink(self, marker, sink=None):
        sink = sink or self.sink
        with sink.lock:
            return [m for m in sink.messages if marker.encode() in m["data"]]

    def test_quarantine_then_release_delivers_the_original_bytes(self):
        raw = harness.message(subject="quarantine-me", to="bob@acme.example",
                              body=f"Buy now {SPAM}\r\nX-Spam-Flag: NO stays in the body\r\n")
        code, reply = self.send(raw, ["bob@acme.example"])
        self.assertEqual(code, 250, reply)
        items = [i for i in self.quarantined("--recipient", "bob@acme.example") if i["subject"] == "quarantine-me"]
        self.assertEqual(len(items), 1, items)
        item = items[0]
        self.assertEqual((item["verdict"], item["reason"], item["tenant"]), ("spam", "spam", "acme"))
        time.sleep(1)
        self.assertEqual(self.at_sink("quarantine-me"), [])
        preview = self.gw.cli("quarantine", "show", item["id"]).stdout
        self.assertIn("Subject: quarantine-me", preview)
        self.assertIn("Buy now", preview)
        # Only administrators teach the (shared) classifier; the refusal releases nothing.
        r = self.gw.cli("--as", "bob", "quarantine", "release", item["id"], "--not-spam", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("only administrators", r.stderr)
        # The end user releases it himself (spam is in the tenant's user_release list).
        out = self.gw.cli("--as", "bob", "quarantine", "release", item["id"], "--approve-sender").stdout
        self.assertIn("released " + item["id"], out)
        self.assertIn("sender approved", out)
        wait_until(lambda: self.at_sink("quarantine-me"), 20, what="the released message")
        data = self.at_sink("quarantine-me")[0]["data"]
        self.assertIn(b"X-Mailmoat-Released: " + item["id"].encode() + b" by bob", data)
        self.assertEqual(harness.strip_received(data), raw)
        self.assertEqual(self.quarantined("--recipient", "bob@acme.example", "--subject", "quarantine-me"), [])
        self.assertIn("alice@sender.example", self.gw.cli("list", "show", "--tenant", "acme").stdout)
        r = self.gw.cli("quarantine", "release", item["id"], check=False)
        self.assertNotEqual(r.returncode, 0, "released twice")

    def test_delete_reject_tag_and_a_split_transaction(self):
        raw = harness.message(subject="delete-me", to="carol@acme.example", body=f"{SPAM}\r\n")
        code, reply = self.send(raw, ["carol@acme.example"])
        self.assertEqual(code, 250)
        qid = QID.search(reply.decode()).group(1)
        wait_until(lambda: "deleted" in self.gw.cli("track", "--id", qid).stdout, 10, what="deleted in tracking")

        code, reply = self.send(harness.message(subject="reject-me", to="erin@acme.example", body=f"{SPAM}\r\n"),
                                ["erin@acme.example"])
        self.assertEqual(code, 550, reply)
        self.assertIn(b"Message refused as spam", reply)

        raw = harness.message(subject="split-me", to="dave@acme.example", body=f"{SPAM}\r\n")
        code, reply = self.send(raw, ["dave@acme.example", "bob@acme.example", "carol@acme.example",
                                      "erin@acme.example"])
        self.assertEqual(code, 250, reply)
        wait_until(lambda: self.at_sink("split-me"), 20, what="dave's tagged copy")
        time.sleep(1)
        copies = self.at_sink("split-me")
        self.assertEqual(len(copies), 1, [c["rcpts"] for c in copies])
        self.assertEqual(copies[0]["rcpts"], ["dave@acme.example"])
        self.assertRegex(copies[0]["data"], rb"\r\nSubject: \[SPAM\] split-me")
        held = {i["recipient"]: i for i in self.quarantined("--subject", "split-me")}
        # bob: quarantined by default; erin: reject in a mixed transaction is quarantined; carol: deleted.
        self.assertEqual(sorted(held), ["bob@acme.example", "erin@acme.example"])
        qid = QID.search(reply.decode()).group(1)
        hits = wait_until(lambda: [json.loads(x) for x in self.gw.cli(
            "track", "--tenant", "acme", "--subject", "split-me", "--json").stdout.splitlines()], 10,
            what="the summary")
        self.assertEqual(hits[0]["queue_id"], qid)
        self.assertEqual(hits[0]["action"], "tag:1 quarantine:2 delete:1")

    def test_approved_senders_never_skip_malware_handling(self):
        self.gw.cli("tenant", "contract", "acme", "--approve-unauthenticated", "on")
        self.gw.cli("list", "add", "allow", "*@friend.example", "--tenant", "acme")
        time.sleep(1.5)  # the running server picks up the change within a second
        raw = harness.message(subject="approved-spam", to="bob@acme.example", sender="pal@friend.example",
                              body=f"{SPAM}\r\n")
        code, _ = self.send(raw, ["bob@acme.example"], sender="pal@friend.example")
        self.assertEqual(code, 250)
        wait_until(lambda: self.at_sink("approved-spam"), 20, what="the approved sender's spam delivered")
        code, reply = self.send(harness.message(subject="approved-malware", to="bob@acme.example",
                                                sender="pal@friend.example", body=f"{MALWARE}\r\n"),
                                ["bob@acme.example"], sender="pal@friend.example")
        self.assertEqual(code, 550, reply)
        self.assertIn(b"Message refused as malware", reply)
        # Quarantined malware: never released by the end user.
        self.gw.cli("policy", "set", "acme", "malware=quarantine", "--account", "bob@acme.example")
        time.sleep(1.5)
        code, _ = self.send(harness.message(subject="held-malware", to="bob@acme.example", sender="pal@friend.example",
                                            body=f"{MALWARE}\r\n"), ["bob@acme.example"], sender="pal@friend.example")
        self.assertEqual(code, 250)
        item = self.quarantined("--subject", "held-malware")[0]
        self.assertEqual(item["verdict"], "malware")
        r = self.gw.cli("--as", "bob", "quarantine", "release", item["id"], check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("malware is never released by end users", r.stderr)
        r = self.gw.cli("quarantine", "release", item["id"], check=False)
        self.assertIn("finds malware", r.stderr)
        self.gw.cli("--as", "acme-admin", "quarantine", "delete", item["id"])
        self.assertEqual(self.quarantined("--subject", "held-malware"), [])
        self.assertEqual(self.at_sink("held-malware"), [])

    def test_tenants_never_see_each_others_quarantine_or_tracking(self):
        # Not alice: an earlier test approved her for bob (and acme takes unauthenticated approvals).
        code, reply = self.send(harness.message(subject="acme-secret", to="bob@acme.example", body=f"{SPAM}\r\n",
                                                sender="eve@elsewhere.example"),
                                ["bob@acme.example"], sender="eve@elsewhere.example")
        self.assertEqual(code, 250)
        self.send(harness.message(subject="beta-mail", to="x@beta.example", sender="eve@elsewhere.example",
                                  body=f"{SPAM}\r\n"), ["x@beta.example"], sender="eve@elsewhere.example")
        acme_item = self.quarantined("--subject", "acme-secret")[0]
        beta_view = self.quarantined("--tenant", "beta") + [
            json.loads(x) for x in self.gw.cli("--as", "beta-admin", "quarantine", "list", "--json").stdout.splitlines()]
        self.assertTrue(beta_view)
        self.assertTrue(all(i["tenant"] == "beta" for i in beta_view), beta_view)
        for args in (["quarantine", "show", acme_item["id"]], ["quarantine", "release", acme_item["id"]],
                     ["quarantine", "delete", acme_item["id"]], ["quarantine", "list", "--tenant", "acme"],
                     ["track", "--tenant", "acme"], ["policy", "show", "acme"], ["account", "list", "--tenant", "acme"]):
            r = self.gw.cli("--as", "beta-admin", *args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertNotIn("acme-secret", r.stdout)
        qid = QID.search(reply.decode()).group(1)
        wait_until(lambda: "acme-secret" in self.gw.cli("track", "--subject", "acme-secret").stdout, 10,
                   what="tracking")
        self.assertNotIn("acme-secret", self.gw.cli("--as", "beta-admin", "track", "--subject", "acme-secret").stdout)
        self.assertNotIn(qid, self.gw.cli("--as", "beta-admin", "track", "--id", qid).stdout)
        self.assertIn("acme-secret", self.gw.cli("--as", "acme-admin", "track", "--subject", "acme-secret").stdout)
        # The end user sees his own mail only.
        self.assertIn("acme-secret", self.gw.cli("--as", "bob", "quarantine", "list").stdout)
        self.assertNotIn("split-me", self.gw.cli("--as", "bob", "track", "--recipient", "dave@acme.example").stdout)

    def test_tenant_attachment_overrides(self):
        import base64
        gw = self.gw

        def attached(subject, to, name, data):
            return (f"From: alice@sender.example\r\nTo: {to}\r\nSubject: {subject}\r\n"
                    f"Message-ID: <{subject}@test>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                    "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
                    f"--b1\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n"
                    f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                    f"{base64.b64encode(data).decode()}\r\n--b1--\r\n").encode()

        script = b"function hello() { WScript.Echo('hi'); }\nhello();\n"
        n = [0]

        def result(to, name, data):
            n[0] += 1
            code, _ = self.send(attached(f"att-ovr-{n[0]}", to, name, data), [to])
            return code

        self.assertEqual(result("ann@omega.example", "tool.js", script), 550)  # blocked by default
        r = gw.cli("policy", "attachments", "omega", "--allow", "js", "--block", ".CFG")
        self.assertIn("allow=js block=cfg", r.stdout)
        self.assertNotEqual(gw.cli("policy", "attachments", "omega", "--allow", "js", "--block", "js",
                                   check=False).returncode, 0)
        self.assertNotEqual(gw.cli("policy", "attachments", "omega", "--allow", "../x", check=False).returncode, 0)
        self.assertNotEqual(gw.cli("--as", "beta-admin", "policy", "attachments", "omega", "--allow", "exe",
                                   check=False).returncode, 0)
        self.assertIn("allow=js block=cfg", gw.cli("policy", "attachments", "omega").stdout)
        # The gateway takes the change from its directory snapshot (refreshed every second).
        wait_until(lambda: result("ann@omega.example", "tool.js", script) == 250, 10, what="js allowed for omega")
        self.assertEqual(result("x@beta.example", "tool.js", script), 550)  # another tenant: still blocked
        self.assertEqual(result("ann@omega.example", "settings.cfg", b"a=1\n"), 550)
        self.assertEqual(result("x@beta.example", "settings.cfg", b"a=1\n"), 250)
        # Allowing .js does not let other executables through.
        self.assertEqual(result("ann@omega.example", "invoice.pdf.js", script), 550)
        self.assertEqual(result("ann@omega.example", "tool.exe", b"MZ" + b"\0" * 200), 550)
        gw.cli("policy", "attachments", "omega", "--clear")
        wait_until(lambda: result("ann@omega.example", "tool.js", script) == 550, 10, what="js blocked again")

    def test_tracking_finds_attachments_by_name_and_sha256(self):
        import base64
        import hashlib
        content = b"region,total\r\nnorth,1234\r\nsouth,987\r\n"
        digest = hashlib.sha256(content).hexdigest()

        def with_attachment(subject, to):
            return (f"From: alice@sender.example\r\nTo: {to}\r\nSubject: {subject}\r\n"
                    f"Message-ID: <{subject}@test>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                    "--b1\r\nContent-Type: text/plain\r\n\r\nFigures attached.\r\n"
                    "--b1\r\nContent-Type: text/csv; name=\"Quarterly-Figures.csv\"\r\n"
                    "Content-Disposition: attachment; filename=\"Quarterly-Figures.csv\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n"
                    f"{base64.b64encode(content).decode()}\r\n--b1--\r\n").encode()

        code, reply = self.send(with_attachment("att-acme", "bob@acme.example"), ["bob@acme.example"])
        self.assertEqual(code, 250, reply)
        acme_qid = QID.search(reply.decode()).group(1)
        code, reply = self.send(with_attachment("att-beta", "x@beta.example"), ["x@beta.example"])
        self.assertEqual(code, 250, reply)
        beta_qid = QID.search(reply.decode()).group(1)

        def found(*args):
            out = self.gw.cli(*args, "--json").stdout
            return {json.loads(line)["queue_id"] for line in out.splitlines() if line.strip()}

        wait_until(lambda: {acme_qid, beta_qid} <= found("track", "--sha256", digest), 10, what="summaries")
        self.assertEqual(found("track", "--sha256", digest.upper()), {acme_qid, beta_qid})
        self.assertEqual(found("track", "--tenant", "acme", "--attachment", "quarterly-figures"), {acme_qid})
        self.assertEqual(found("--as", "beta-admin", "track", "--sha256", digest), {beta_qid})
        self.assertEqual(found("--as", "acme-admin", "track", "--attachment", "FIGURES.csv"), {acme_qid})
        self.assertEqual(found("track", "--sha256", hashlib.sha256(content + b"x").hexdigest()), set())
        self.assertEqual(found("track", "--attachment", "no-such-file"), set())
        r = self.gw.cli("track", "--sha256", "abc", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_digest_links_release_and_block(self):
        raw = harness.message(subject="digest-me", to="bob@acme.example", sender="spammer@junk.example",
                              body=f"{SPAM}\r\n")
        code, _ = self.send(raw, ["bob@acme.example"], sender="spammer@junk.example")
        self.assertEqual(code, 250)
        item = self.quarantined("--subject", "digest-me")[0]
        out = self.gw.cli("quarantine", "digest", "--base-url", "https://mx.test/q", "--since", "1h").stdout
        self.assertRegex(out, r"\d+ digest\(s\) queued")
        wait_until(lambda: [m for m in self.at_sink("Quarantine digest") if "bob@acme.example" in m["rcpts"]], 20,
                   what="bob's digest")
        digest = next(m for m in self.at_sink("Quarantine digest") if "bob@acme.example" in m["rcpts"])
        self.assertEqual(digest["sender"], "<>")
        text = digest["data"].decode()
        block = text[text.index("Subject: digest-me"):]
        release = re.search(r"  release: https://mx\.test/q\?t=(\S+)", block).group(1)
        block_tok = re.search(r"  block the sender: https://mx\.test/q\?t=(\S+)", block).group(1)
        bad = self.gw.cli("quarantine", "redeem", release[:-3] + "AAA", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("not valid", bad.stderr)
        self.assertIn("released " + item["id"], self.gw.cli("quarantine", "redeem", release).stdout)
        released = lambda: [m for m in self.at_sink("digest-me") if b"Quarantine digest" not in m["data"]]  # noqa: E731
        wait_until(released, 20, what="the message released from the digest")
        self.assertEqual(harness.strip_received(released()[0]["data"]), raw)
        self.assertIn("blocked spammer@junk.example", self.gw.cli("quarantine", "redeem", block_tok).stdout)
        self.assertIn("spammer@junk.example", self.gw.cli("list", "show", "--user", "bob@acme.example",
                                                          "--tenant", "acme").stdout)

    def test_content_rules(self):
        import subprocess
        rules = ('rule no-exe: attachment ~ "*.exe" => reject\n'
                 'rule mark: sender ~ "*@marked.example" => add-header "X-Acme-Rule: marked"\n')
        r = subprocess.run([harness.BIN, "-c", self.gw.config_path, "policy", "rules", "acme", "-"],
                           input=rules + "rule broken: size > lots => reject\n", capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("line 3", r.stderr)
        r = subprocess.run([harness.BIN, "-c", self.gw.config_path, "policy", "rules", "acme", "-"],
                           input=rules, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(1.5)
        exe = (b"From: x@sender.example\r\nTo: dave@acme.example\r\nSubject: rule-exe\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
               b"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=a.exe\r\n"
               b"\r\nAAAA\r\n--b--\r\n")
        code, reply = self.send(exe, ["dave@acme.example"])
        self.assertEqual(code, 550, reply)
        raw = harness.message(subject="rule-mark", to="dave@acme.example", sender="m@marked.example")
        code, _ = self.send(raw, ["dave@acme.example"], sender="m@marked.example")
        self.assertEqual(code, 250)
        wait_until(lambda: self.at_sink("rule-mark"), 20, what="the marked message")
        data = self.at_sink("rule-mark")[0]["data"]
        self.assertIn(b"\r\nX-Acme-Rule: marked\r\nFrom: m@marked.example", data)
        subprocess.run([harness.BIN, "-c", self.gw.config_path, "policy", "rules", "acme", "-"], input="",
                       capture_output=True, text=True, timeout=60, check=True)

    def test_content_rules_redirect_and_copy(self):
        import subprocess

        def set_rules(text, tenant="beta"):
            return subprocess.run([harness.BIN, "-c", self.gw.config_path, "policy", "rules", tenant, "-"],
                                  input=text, capture_output=True, text=True, timeout=60)

        # Validated when saved: only addresses in the tenant's own domains.
        r = set_rules('rule out: subject contains "x" => redirect "thief@elsewhere.example"\n')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not in a domain of tenant", r.stderr)
        r = set_rules('rule out: subject contains "x" => copy "bob@acme.example"\n')
        self.assertNotEqual(r.returncode, 0)
        r = set_rules('rule legal: subject contains "rr-redirect" => redirect "legal@beta.example"\n'
                      'rule audit: subject contains "rr-copy" => copy "audit@beta.example"\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(1.5)  # the running server picks up the change within a second
        code, _ = self.send(harness.message(subject="rr-redirect", to="sam@beta.example"), ["sam@beta.example"])
        self.assertEqual(code, 250)
        code, _ = self.send(harness.message(subject="rr-copy", to="sam@beta.example"), ["sam@beta.example"])
        self.assertEqual(code, 250)
        wait_until(lambda: self.at_sink("rr-redirect", self.beta_sink), 20, what="the redirected message")
        wait_until(lambda: sum(len(m["rcpts"]) for m in self.at_sink("rr-copy", self.beta_sink)) >= 2, 20,
                   what="the message and its copy")
        time.sleep(0.5)
        redirected = self.at_sink("rr-redirect", self.beta_sink)
        self.assertEqual([m["rcpts"] for m in redirected], [["legal@beta.example"]])
        copied = self.at_sink("rr-copy", self.beta_sink)
        self.assertEqual(sorted(r for m in copied for r in m["rcpts"]), ["audit@beta.example", "sam@beta.example"])
        set_rules("")

    def test_licence(self):
        gw = self.gw
        gw.cli("tenant", "add", "gamma")
        gw.cli("domain", "add", "gamma.example", "--tenant", "gamma", "--route", f"127.0.0.1:{self.sink.port}",
               "--tls", "none")
        gw.cli("tenant", "contract", "gamma", "--licensed", "2", "--account-list", "on")
        gw.cli("account", "add", "a@gamma.example", "--tenant", "gamma")
        gw.cli("account", "add", "b@gamma.example", "--tenant", "gamma")
        r = gw.cli("account", "add", "c@gamma.example", "--tenant", "gamma", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("licensed for 2 protected accounts and already has 2", r.stderr)
        # Without an account list, recipients seen in traffic count; over the licence: an alert,
        # and the mail is still delivered.
        gw.cli("tenant", "contract", "gamma", "--account-list", "off")
        time.sleep(1.5)
        raw = harness.message(subject="licence-mail", to="x@gamma.example")
        code, _ = self.send(raw, ["x@gamma.example", "y@gamma.example", "z@gamma.example"])
        self.assertEqual(code, 250)
        wait_until(lambda: self.at_sink("licence-mail"), 20, what="delivery despite the licence")
        usage = [json.loads(x) for x in gw.cli("tenant", "usage", "gamma", "--json").stdout.splitlines()]
        self.assertEqual(usage[0]["seen"], 3)
        self.assertTrue(usage[0]["over"])
        self.assertIn("OVER", gw.cli("tenant", "usage").stdout)
        self.assertIn("licence_exceeded", gw.cli("tenant", "events", "gamma").stdout)
        self.assertIn("tenant.licence_exceeded", gw.stderr())


def make_rules_and_sink(case):
    """A rules directory with the test markers' rules and a started sink, both cleaned up."""
    rules = tempfile.mkdtemp(prefix="mm-rules-")
    case.addCleanup(shutil.rmtree, rules, True)
    shutil.copytree(os.path.join(harness.SOURCE, "rules", "links"), os.path.join(rules, "links"))
    with open(os.path.join(rules, "99_test.rules"), "w") as f:
        f.write(TEST_RULES)
    sink = harness.Sink().start()
    case.addCleanup(sink.stop)
    return rules, sink


class RescanPolicyTest(unittest.TestCase):
    """A message accepted while the scanner failed gets the policy at its rescan: spam is
    quarantined (and a reject after acceptance is quarantined too), never delivered or bounced."""

    def test_rescan_applies_the_policy(self):
        rules, sink = make_rules_and_sink(self)
        tmp = tempfile.mkdtemp(prefix="mm-it-")
        gw = harness.Gateway(scan={"timeout_ms": 1, "rules_dir": rules}, tmp=tmp)
        try:
            gw.add_tenant_domain("acme", "acme.example", sink.port)
            gw.cli("account", "add", "erin@acme.example", "--tenant", "acme")
            gw.cli("policy", "set", "acme", "spam=reject", "--account", "erin@acme.example")
            gw.start()
            big = harness.message(subject="late-spam", body=f"{SPAM}\r\n") + b"line of text\r\n" * 300000
            with gw.smtp() as s:
                s.sendmail("a@sender.example", ["bob@acme.example", "erin@acme.example"], big)
            self.assertTrue(gw.queue_list()[0]["scan_pending"])
            gw.stop()
        finally:
            if gw.proc and gw.proc.poll() is None:
                gw.stop()
        gw2 = harness.Gateway(scan={"rules_dir": rules}, tmp=tmp)
        self.addCleanup(gw2.cleanup)
        gw2.start()
        wait_until(lambda: gw2.queue_list() == [], 30, what="the rescan to take the message out of the queue")
        out = gw2.cli("quarantine", "list", "--json").stdout
        held = sorted(json.loads(x)["recipient"] for x in out.splitlines())
        self.assertEqual(held, ["bob@acme.example", "erin@acme.example"])
        self.assertEqual(sink.count(), 0)



class DigestScheduleTest(unittest.TestCase):
    """The server sends end-user digests on its own schedule ([quarantine] digest_interval), each
    tenant's covering what was held since its last run: an item is listed once, not again."""

    def test_scheduled_digests_list_each_item_once(self):
        rules, sink = make_rules_and_sink(self)
        gw = harness.Gateway(scan={"rules_dir": rules},
                             extra_config='[quarantine]\ndigest_interval = 2\ndigest_base_url = "https://mx.test/q"\n')
        self.addCleanup(gw.cleanup)
        gw.add_tenant_domain("acme", "acme.example", sink.port)
        gw.start()

        def digests():
            with sink.lock:
                return [m["data"].decode() for m in sink.messages if b"Quarantine digest" in m["data"]]

        with gw.smtp() as s:
            s.sendmail("a@sender.example", ["bob@acme.example"], harness.message(subject="sched-one", body=f"{SPAM}\r\n"))
        wait_until(lambda: any("sched-one" in d for d in digests()), 20, what="the first scheduled digest")
        with gw.smtp() as s:
            s.sendmail("a@sender.example", ["bob@acme.example"], harness.message(subject="sched-two", body=f"{SPAM}\r\n"))
        wait_until(lambda: any("sched-two" in d for d in digests()), 20, what="the second scheduled digest")
        time.sleep(2.5)  # another run or two: nothing new, no digest
        found = digests()
        self.assertEqual(sum("sched-one" in d for d in found), 1, found)
        self.assertEqual(sum("sched-two" in d for d in found), 1, found)
        self.assertEqual(len(found), 2, found)
        # From the CLI without --since: the remembered run, so nothing new is listed.
        self.assertIn("0 digest(s) queued",
                      gw.cli("quarantine", "digest", "--base-url", "https://mx.test/q").stdout)


if __name__ == "__main__":
    harness.main()
