"""The web console in a real browser: Debian's chromium driven by playwright-core
(tests/browser/console.mjs) against the real binary serving the built console (web/dist) and the
API over TLS. Two tenants, users made with the CLI, spam sent through SMTP that the default
policy quarantines; the browser logs in (a wrong password first), previews and releases a message
(this side checks it reaches the sink), adds an approved sender, finds the message's symbols in
the tracking, switches to Japanese, is refused tenant B's pages as tenant A's administrator, and
sees only its own quarantine as an end user. Screenshots of every page go to MM_ARTIFACTS
(default build/test-artifacts/console)."""
import http.client
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

SPAM = "MMTEST-CONSOLE-SPAM-MARKER"
SYMBOL = "TEST_CONSOLE_SPAM_MARKER"
TEST_RULES = f"""
rule {SYMBOL}
  body =~ /{SPAM}/
  score 10
  describe console test spam marker
  class spam
"""
PASSWORD = "correct horse battery staple"
WEB = os.path.join(harness.SOURCE, "web")
SCRIPT = os.path.join(harness.SOURCE, "tests", "browser", "console.mjs")
CHROMIUM = os.environ.get("MM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.environ.get("MM_ARTIFACTS") or os.path.join(harness.SOURCE, "build", "test-artifacts", "console")

SCENARIO = {
    "tenantA": "acme", "tenantB": "beta",
    "operator": "root", "admin": "acme-admin", "auditor": "acme-auditor", "user": "bob", "totpUser": "carol",
    "subject": "console-release-me", "userSubject": "console-bob-keeps",
    "otherSubject": "console-carol-only", "betaSubject": "console-beta-secret",
    "bodyMarker": "Hello from the console test", "htmlMarker": "<b>not bold</b>",
    "symbol": SYMBOL, "approve": "friend@partner.example", "bulkSubjects": ["console-bulk-one", "console-bulk-two"],
    "userBlock": "pest@nuisance.example", "policy": "spam>=high=reject spam=quarantine bulk=tag",
    "newAccount": "dave@acme.example", "newUser": "dave", "newDomain": "acme-two.example", "allowNet": "192.0.2.0/24", "allowIp": "192.0.2.7",
}


def api_call(port, method, path, body=None, cookie=None, csrf=None):
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=15, context=harness.unverified_tls_context())
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(raw) if raw and ctype.startswith("application/json") else raw), cookies
    finally:
        conn.close()


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # What the browser test needs is installed by scripts/setup.sh and built by scripts/build.sh:
        # missing pieces fail the test (never a silent skip).
        missing = [what for what, ok in (
            ("web/dist (npm run build in web/)", os.path.exists(os.path.join(WEB, "dist", "index.html"))),
            ("playwright-core (npm ci in web/)", os.path.isdir(os.path.join(WEB, "node_modules", "playwright-core"))),
            (CHROMIUM, os.path.exists(CHROMIUM)),
            ("node", shutil.which("node") is not None)) if not ok]
        if missing:
            raise AssertionError("the console test needs: " + ", ".join(missing) + " (scripts/setup.sh, scripts/build.sh)")
        cls.rules = harness.rules_dir_with(TEST_RULES)
        cls.sink = harness.Sink().start()
        cls.beta_sink = harness.Sink().start()
        # Connection control learns (for the reputation lookup) but only logs: "off" never delays
        # the test's own spam from 127.0.0.1.
        cls.gw = harness.Gateway(scan={"rules_dir": cls.rules}, api={"console_dir": os.path.join(WEB, "dist")},
                                 connection={"enabled": True, "strictness": "off"})
        gw = cls.gw
        gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
        gw.add_tenant_domain("beta", "beta.example", cls.beta_sink.port)
        for addr, tenant in (("bob@acme.example", "acme"), ("carol@acme.example", "acme"), ("zed@beta.example", "beta")):
            gw.cli("account", "add", addr, "--tenant", tenant)
        for name, role, tenant, account in (("root", "operator", None, None), ("acme-admin", "admin", "acme", None),
                                            ("acme-auditor", "auditor", "acme", None),
                                            ("bob", "user", "acme", "bob@acme.example"),
                                            ("carol", "user", "acme", "carol@acme.example"),
                                            ("beta-admin", "admin", "beta", None)):
            gw.add_user(name, role, tenant, account, PASSWORD)
        gw.start()
        wait_until(lambda: api_call(gw.api_port, "GET", "/api/v1/openapi.json")[0] == 200, 20, what="the API to listen")
        for subject, rcpt in ((SCENARIO["subject"], "bob@acme.example"), (SCENARIO["userSubject"], "bob@acme.example"),
                              (SCENARIO["otherSubject"], "carol@acme.example"), (SCENARIO["betaSubject"], "zed@beta.example"),
                              *((subj, "carol@acme.example") for subj in SCENARIO["bulkSubjects"])):
            body = f"{SPAM}\r\n{SCENARIO['bodyMarker']}\r\n{SCENARIO['htmlMarker']}\r\n"
            with gw.smtp() as s:
                s.sendmail("spammer@sender.example", [rcpt], harness.message(subject=subject, to=rcpt, body=body))
        status, body, cookies = api_call(gw.api_port, "POST", "/api/v1/login", {"name": "root", "password": PASSWORD})
        assert status == 200, body
        cls.root_cookie = [c for c in cookies if c.startswith("mm_session=")][0].split(";")[0]
        wait_until(lambda: api_call(gw.api_port, "GET", "/api/v1/quarantine?limit=50", cookie=cls.root_cookie)[1]["total"] == 6,
                   20, what="six messages in quarantine")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.beta_sink.stop()
        shutil.rmtree(cls.rules, ignore_errors=True)

    def test_console_in_a_browser(self):
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        os.makedirs(ARTIFACTS, exist_ok=True)
        env = dict(os.environ, MM_URL=f"https://127.0.0.1:{self.gw.api_port}", MM_PASSWORD=PASSWORD,
                   MM_ARTIFACTS=ARTIFACTS, MM_SCENARIO=json.dumps(SCENARIO), MM_CHROMIUM=CHROMIUM)
        r = subprocess.run(["node", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
        self.assertTrue(lines, f"no JSON from the browser script (exit {r.returncode}):\n{r.stdout}\n{r.stderr}")
        report = json.loads(lines[-1])
        with open(os.path.join(ARTIFACTS, "report.json"), "w") as f:
            json.dump(report, f, indent=2)
        failed = [s for s in report["steps"] if not s["ok"]]
        self.assertEqual(failed, [], f"browser steps failed (screenshots in {ARTIFACTS}):\n{r.stderr[-3000:]}")
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertTrue(report["ok"])
        names = {s["name"] for s in report["steps"]}
        self.assertIn("tenant A's admin cannot reach tenant B", names)
        self.assertGreaterEqual(len(report["steps"]), 13)

        # The release made in the browser reaches the downstream server, for bob only.
        def delivered():
            with self.sink.lock:
                return [m for m in self.sink.messages if SCENARIO["subject"].encode() in m["data"]]
        wait_until(delivered, 20, what="the released message at the sink")
        self.assertEqual(delivered()[0]["rcpts"], ["bob@acme.example"])
        # ... and so does the one the end user released (approving its sender for himself).
        def delivered_user():
            with self.sink.lock:
                return [m["rcpts"] for m in self.sink.messages if SCENARIO["userSubject"].encode() in m["data"]]
        wait_until(delivered_user, 20, what="the end user's release at the sink")
        self.assertEqual(delivered_user(), [["bob@acme.example"]])
        with self.beta_sink.lock:
            self.assertEqual(self.beta_sink.messages, [])
        # The approved sender added in the browser is in tenant A's list.
        status, senders, _ = api_call(self.gw.api_port, "GET", "/api/v1/tenants/acme/senders", cookie=self.root_cookie)
        self.assertEqual(status, 200)
        entries = [(e["kind"], e["pattern"], e["owner"]) for e in senders["items"]]
        self.assertIn(("allow", SCENARIO["approve"], ""), entries)
        # ... and the end user's own block entry is his alone.
        self.assertIn(("block", SCENARIO["userBlock"], "bob@acme.example"), entries)
        self.assertIn(("allow", "bob@acme.example"), [(k, o) for k, p, o in entries if "sender.example" in p])
        # The symbols the browser showed are the scan's.
        self.assertIn(SYMBOL, report["facts"]["tracking_symbols"])
        # The dashboard counted tenant A's five messages (when the server has the stats endpoint).
        total = report["facts"].get("dashboard_total")
        if total is not None:
            self.assertEqual(total, 5, report["facts"])
        # The two messages deleted at once in the browser are deleted, the others held.
        items = api_call(self.gw.api_port, "GET", "/api/v1/quarantine?status=any&limit=50", cookie=self.root_cookie)[1]["items"]
        status = {i["subject"]: i["status"] for i in items}
        self.assertEqual([status[s] for s in SCENARIO["bulkSubjects"]], ["deleted", "deleted"], status)
        self.assertEqual(status[SCENARIO["userSubject"]], "released")
        self.assertEqual(status[SCENARIO["subject"]], "released")
        # The policy, account, user and domain made in the browser.
        pol = api_call(self.gw.api_port, "GET", "/api/v1/tenants/acme/policies", cookie=self.root_cookie)[1]["items"]
        self.assertIn(("tenant", SCENARIO["policy"]), [(p["level"], p["spec"]) for p in pol])
        users = api_call(self.gw.api_port, "GET", "/api/v1/users?tenant=acme", cookie=self.root_cookie)[1]["items"]
        self.assertIn(("dave", "user", "dave@acme.example"), [(u["name"], u["role"], u["account"]) for u in users])
        doms = api_call(self.gw.api_port, "GET", "/api/v1/tenants/acme/domains", cookie=self.root_cookie)[1]["items"]
        two = [d for d in doms if d["name"] == SCENARIO["newDomain"]]
        self.assertEqual([(r["host"], r["port"]) for r in two[0]["routes"]], [("127.0.0.1", 2526), ("::1", 2526)])
        # Connection control set in the browser (when the server has it).
        status, conn, _ = api_call(self.gw.api_port, "GET", "/api/v1/tenants/acme/connection", cookie=self.root_cookie)
        if status == 200:
            self.assertEqual(report["facts"].get("reputation"), "shown", report["facts"])
            self.assertEqual((conn["strictness"], conn["greylisting"]), ("strict", True))
            allow = api_call(self.gw.api_port, "GET", "/api/v1/tenants/acme/allowlist", cookie=self.root_cookie)[1]
            self.assertEqual([(e["entry"], e["note"]) for e in allow["items"]], [(SCENARIO["allowNet"], "partner relay")])
            self.assertGreaterEqual(report["facts"]["reputation_spam"], 5)
        # TOTP: enrolled in the browser and used at login, when the server has it.
        session = api_call(self.gw.api_port, "GET", "/api/v1/session", cookie=self.root_cookie)[1]
        if "totp" in session:
            self.assertEqual(report["facts"].get("totp"), "enrolled", report["facts"])
            # ... and reset by the operator in the browser: the password alone signs in again.
            self.assertTrue(report["facts"].get("totp_reset"))
            status, body, _ = api_call(self.gw.api_port, "POST", "/api/v1/login",
                                       {"name": SCENARIO["totpUser"], "password": PASSWORD})
            self.assertEqual(status, 200, body)
        for name in ("dashboard", "quarantine", "quarantine-preview", "tracking", "senders", "policies", "connection",
                     "domains", "accounts", "users", "audit", "settings", "cookies", "quarantine-ja",
                     "tenant-b-refused", "enduser-quarantine", "dashboard-768", "quarantine-768", "settings-totp"):
            self.assertTrue(os.path.getsize(os.path.join(ARTIFACTS, name + ".png")) > 1000, name)


if __name__ == "__main__":
    harness.main()
