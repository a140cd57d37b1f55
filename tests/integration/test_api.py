"""The management REST API against the real binary over TLS: login and the session cookie's
flags, CSRF refusal of cookie-authenticated changes, API tokens (read-only, tenant-narrowed,
expired, revoked), no session refused, security headers on every response, every endpoint
refused to a lower role and to another tenant's administrator, the audit log, and quarantine
search, preview and release through the API delivering to a sink. Issue 7 extensions: the web
console served from [api] console_dir (CSP, caching, SPA fallback, no path out of the directory),
dashboard statistics after real mail, a TOTP login with codes computed here from the secret, and
connection control (reputation lookups, allow lists reaching the store and letting a
DNS-listed client through, tenant strictness); every new endpoint refused without a session,
with an expired token, without the CSRF header, to another tenant's admin, an auditor (writes)
and an end user."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

SPAM = "MMTEST-API-SPAM-MARKER"
TEST_RULES = f"""
rule TEST_API_SPAM_MARKER
  body =~ /{SPAM}/
  score 10
  describe test spam marker
  class spam
"""
PASSWORD = "correct horse battery staple"
CONSOLE_INDEX = b"<!doctype html><title>mailmoat console</title><script type=module src=/assets/app-1a2b.js></script>"
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def totp(secret, t=None, step_delta=0):
    """RFC 6238 (HMAC-SHA1, 6 digits, 30 s) computed independently of the server."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int((time.time() if t is None else t) // 30) + step_delta
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)
SECURITY_HEADERS = {
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class Client:
    """One HTTPS connection per request, an optional session cookie, CSRF token or bearer token."""

    def __init__(self, port, cookie=None, csrf=None, token=None):
        self.port, self.cookie, self.csrf, self.token = port, cookie, csrf, token

    def call(self, method, path, body=None, csrf=True, content_type="application/json"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=15,
                                           context=harness.unverified_tls_context())
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.csrf and csrf:
            headers["X-CSRF-Token"] = self.csrf
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
            parsed = json.loads(raw) if raw and hdrs.get("content-type", "").startswith("application/json") else None
            return r.status, parsed, hdrs, cookies
        finally:
            conn.close()


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = harness.rules_dir_with(TEST_RULES)
        cls.sink = harness.Sink().start()
        cls.beta_sink = harness.Sink().start()
        cls.console = tempfile.mkdtemp(prefix="mm-console-")
        os.makedirs(os.path.join(cls.console, "dist", "assets"))
        with open(os.path.join(cls.console, "dist", "index.html"), "wb") as f:
            f.write(CONSOLE_INDEX)
        with open(os.path.join(cls.console, "dist", "assets", "app-1a2b.js"), "w") as f:
            f.write("document.title = 'console';\n")
        with open(os.path.join(cls.console, "secret.txt"), "w") as f:
            f.write("outside the console directory\n")
        os.symlink(os.path.join(cls.console, "secret.txt"), os.path.join(cls.console, "dist", "leak.txt"))
        cls.gw = harness.Gateway(scan={"rules_dir": cls.rules}, api={"console_dir": os.path.join(cls.console, "dist")})
        cls.api_port = cls.gw.api_port
        gw = cls.gw
        gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
        gw.add_tenant_domain("beta", "beta.example", cls.beta_sink.port)
        gw.cli("account", "add", "bob@acme.example", "--tenant", "acme")
        gw.cli("account", "add", "zed@beta.example", "--tenant", "beta")
        for name, role, tenant, account in (("root", "operator", None, None), ("acme-admin", "admin", "acme", None),
                                            ("acme-auditor", "auditor", "acme", None),
                                            ("bob", "user", "acme", "bob@acme.example"),
                                            ("beta-admin", "admin", "beta", None),
                                            ("lockme", "auditor", "beta", None),
                                            ("totp-user", "auditor", "acme", None)):
            gw.add_user(name, role, tenant, account, PASSWORD)
        gw.start()
        wait_until(lambda: cls.anon().call("GET", "/api/v1/openapi.json")[0] == 200, 20, what="the API to listen")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.beta_sink.stop()
        shutil.rmtree(cls.rules, ignore_errors=True)
        shutil.rmtree(cls.console, ignore_errors=True)

    @classmethod
    def anon(cls):
        return Client(cls.api_port)

    def login(self, name):
        status, body, _, cookies = self.anon().call("POST", "/api/v1/login", {"name": name, "password": PASSWORD})
        self.assertEqual(status, 200, body)
        session = [c for c in cookies if c.startswith("mm_session=")][0]
        return Client(self.api_port, cookie=session.split(";")[0], csrf=body["csrf_token"])

    def assert_headers(self, hdrs, what):
        for name, part in SECURITY_HEADERS.items():
            self.assertIn(part, hdrs.get(name, ""), f"{name} on {what}")

    def send_spam(self, subject, rcpt="bob@acme.example"):
        raw = harness.message(subject=subject, to=rcpt, body=f"{SPAM}\r\n")
        with self.gw.smtp() as s:
            s.sendmail("alice@sender.example", [rcpt], raw)

    # --- authentication ---
    def test_login_sets_a_strict_cookie_and_logout_ends_it(self):
        status, body, hdrs, cookies = self.anon().call("POST", "/api/v1/login",
                                                       {"name": "acme-admin", "password": PASSWORD})
        self.assertEqual(status, 200)
        self.assert_headers(hdrs, "login")
        session = [c for c in cookies if c.startswith("mm_session=")][0]
        for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Max-Age="):
            self.assertIn(flag, session)
        self.assertEqual(body["role"], "admin")
        c = Client(self.api_port, cookie=session.split(";")[0], csrf=body["csrf_token"])
        self.assertEqual(c.call("GET", "/api/v1/session")[1]["user"], "acme-admin")
        self.assertEqual(c.call("POST", "/api/v1/logout")[0], 204)
        self.assertEqual(c.call("GET", "/api/v1/session")[0], 401)
        # wrong password: 401 with the common error shape
        status, body, hdrs, _ = self.anon().call("POST", "/api/v1/login", {"name": "acme-admin", "password": "nope"})
        self.assertEqual(status, 401)
        self.assertEqual(set(body["error"]), {"code", "message", "field"})

    def test_failed_logins_lock_the_user_out(self):
        for _ in range(5):
            status, body, hdrs, _ = self.anon().call("POST", "/api/v1/login", {"name": "lockme", "password": "x" * 12})
            self.assertEqual(status, 401, body)
        status, body, hdrs, _ = self.anon().call("POST", "/api/v1/login", {"name": "lockme", "password": PASSWORD})
        self.assertEqual(status, 429, body)
        self.assert_headers(hdrs, "429")
        self.assertEqual(body["error"]["code"], "rate_limited")
        # other users from the same address still log in; the lockout is a security event
        root = self.login("root")
        events = root.call("GET", "/api/v1/security-events?tenant=beta&kind=login_lockout")[1]["items"]
        self.assertEqual(len(events), 1, events)
        self.assertIn("lockme", events[0]["detail"])

    def test_cookie_writes_need_the_csrf_header(self):
        c = self.login("acme-admin")
        change = {"contact": {"name": "Acme Ops"}}
        status, body, _, _ = c.call("PATCH", "/api/v1/tenants/acme", change, csrf=False)
        self.assertEqual((status, body["error"]["code"]), (403, "csrf"))
        c2 = Client(self.api_port, cookie=c.cookie, csrf="0" * 40)
        self.assertEqual(c2.call("PATCH", "/api/v1/tenants/acme", change)[0], 403)
        # a form post (not JSON) is refused before anything happens
        self.assertEqual(c.call("PATCH", "/api/v1/tenants/acme", change, content_type="text/plain")[0], 415)
        status, body, _, _ = c.call("PATCH", "/api/v1/tenants/acme", change)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["contact"]["name"], "Acme Ops")

    def test_tokens_read_only_narrowed_expired_and_revoked(self):
        root = self.login("root")
        status, ro, _, _ = root.call("POST", "/api/v1/tokens",
                                     {"label": "ro", "tenant": "acme", "access": "read", "expires_in": 3600})
        self.assertEqual(status, 201, ro)
        status, rw, _, _ = root.call("POST", "/api/v1/tokens",
                                     {"label": "rw", "tenant": "acme", "access": "write", "expires_in": 3600})
        status, short, _, _ = root.call("POST", "/api/v1/tokens",
                                        {"label": "short", "access": "read", "expires_in": 1})
        self.assertEqual(status, 201)
        r = Client(self.api_port, token=ro["token"])
        w = Client(self.api_port, token=rw["token"])
        self.assertEqual(r.call("GET", "/api/v1/tenants/acme")[0], 200)
        self.assertEqual(r.call("GET", "/api/v1/tenants/beta")[0], 403)
        self.assertEqual(r.call("PATCH", "/api/v1/tenants/acme", {"contact": {"phone": "1"}})[0], 403)
        self.assertEqual(w.call("PATCH", "/api/v1/tenants/acme", {"contact": {"phone": "1"}})[0], 200)
        self.assertEqual(w.call("PATCH", "/api/v1/tenants/beta", {"contact": {"phone": "1"}})[0], 403)
        listed = root.call("GET", "/api/v1/tokens?limit=500")[1]
        self.assertNotIn(ro["token"], json.dumps(listed))
        time.sleep(2.1)
        status, body, hdrs, _ = Client(self.api_port, token=short["token"]).call("GET", "/api/v1/tenants")
        self.assertEqual(status, 401, body)
        self.assertIn("bearer", hdrs.get("www-authenticate", "").lower())
        self.assertEqual(root.call("DELETE", f"/api/v1/tokens/{rw['id']}")[0], 204)
        self.assertEqual(root.call("DELETE", f"/api/v1/tokens/{rw['id']}")[0], 204)
        self.assertEqual(w.call("GET", "/api/v1/tenants/acme")[0], 401)
        self.assertEqual(Client(self.api_port, token="0" * 64).call("GET", "/api/v1/tenants")[0], 401)

    # --- authorisation of every endpoint ---
    def endpoints(self):
        """Every route with acme's ids: (method, path, body)."""
        self.send_spam("authz-probe")
        wait_until(lambda: self.login("root").call("GET", "/api/v1/quarantine?subject=authz-probe")[1]["total"] >= 1,
                   20, what="the probe to be quarantined")
        item = self.login("root").call("GET", "/api/v1/quarantine?subject=authz-probe")[1]["items"][0]
        qid = item["id"]
        return [
            ("GET", "/api/v1/tenants/acme", None),
            ("PATCH", "/api/v1/tenants/acme", {"contact": {"name": "x"}}),
            ("PUT", "/api/v1/tenants/acme/suspension", {"inbound": True, "reason": "probe"}),
            ("DELETE", "/api/v1/tenants/acme/suspension", None),
            ("GET", "/api/v1/tenants/acme/domains", None),
            ("PUT", "/api/v1/tenants/acme/domains/acme.example", {"routes": [{"host": "127.0.0.1", "port": 9}]}),
            ("DELETE", "/api/v1/tenants/acme/domains/acme.example", None),
            ("GET", "/api/v1/tenants/acme/accounts", None),
            ("PUT", "/api/v1/tenants/acme/accounts/new@acme.example", {}),
            ("DELETE", "/api/v1/tenants/acme/accounts/bob@acme.example", None),
            ("GET", "/api/v1/tenants/acme/usage", None),
            ("GET", "/api/v1/users?tenant=acme", None),
            ("POST", "/api/v1/users", {"name": "intruder", "role": "admin", "tenant": "acme", "password": PASSWORD}),
            ("PATCH", "/api/v1/users/acme-admin", {"disabled": True}),
            ("GET", "/api/v1/tenants/acme/policies", None),
            ("PUT", "/api/v1/tenants/acme/policies/tenant", {"spec": "spam=deliver"}),
            ("DELETE", "/api/v1/tenants/acme/policies/tenant", None),
            ("PUT", "/api/v1/tenants/acme/content-rules", {"text": ""}),
            ("GET", "/api/v1/tenants/acme/senders", None),
            ("POST", "/api/v1/tenants/acme/senders", {"kind": "allow", "pattern": "evil.example"}),
            ("GET", f"/api/v1/quarantine/{qid}", None),
            ("GET", f"/api/v1/quarantine/{qid}/preview", None),
            ("POST", f"/api/v1/quarantine/{qid}/release", {}),
            ("DELETE", f"/api/v1/quarantine/{qid}", None),
            ("POST", "/api/v1/quarantine/bulk", {"action": "delete", "ids": [qid]}),
            ("GET", "/api/v1/quarantine?tenant=acme", None),
            ("GET", "/api/v1/messages?tenant=acme", None),
            ("GET", "/api/v1/security-events?tenant=acme", None),
            ("GET", "/api/v1/audit?tenant=acme", None),
        ], qid

    def test_other_tenant_lower_roles_and_no_session_are_refused_everywhere(self):
        eps, qid = self.endpoints()
        beta = self.login("beta-admin")
        auditor = self.login("acme-auditor")
        bob = self.login("bob")
        anon = self.anon()
        root = self.login("root")
        status, short, _, _ = root.call("POST", "/api/v1/tokens", {"label": "short", "access": "write", "expires_in": 1})
        self.assertEqual(status, 201)
        expired = Client(self.api_port, token=short["token"])
        no_csrf = Client(self.api_port, cookie=root.cookie)  # an operator's session, no CSRF token
        time.sleep(1.1)
        for method, path, body in eps:
            status, resp, hdrs, _ = anon.call(method, path, body)
            self.assertEqual(status, 401, f"no session: {method} {path}")
            self.assert_headers(hdrs, f"{method} {path}")
            self.assertEqual(expired.call(method, path, body)[0], 401, f"expired token: {method} {path}")
            if method != "GET":
                status, resp, _, _ = no_csrf.call(method, path, body)
                self.assertEqual((status, resp["error"]["code"]), (403, "csrf"), f"no CSRF: {method} {path}")
            status, resp, hdrs, _ = beta.call(method, path, body)
            self.assert_headers(hdrs, f"{method} {path}")
            if path.endswith("/bulk"):  # answered per item: each one refused
                self.assertEqual(status, 200, resp)
                self.assertFalse(any(r["ok"] for r in resp["results"]), resp)
                self.assertRegex(resp["results"][0]["error"], "permission denied|no quarantined message")
                continue
            self.assertIn(status, (403, 404, 409), f"beta-admin: {method} {path} -> {status} {resp}")
            self.assertEqual(set(resp["error"]), {"code", "message", "field"})
            if method != "GET":
                status, resp, _, _ = auditor.call(method, path, body)
                if path.endswith("/bulk"):
                    self.assertEqual(status, 200, resp)
                    self.assertIn("auditors cannot", resp["results"][0]["error"])
                    continue
                self.assertEqual(status, 403, f"auditor: {method} {path} -> {status} {resp}")
                if "/quarantine/" not in path and "/senders" not in path:  # end users act on their own mail
                    status, resp, _, _ = bob.call(method, path, body)
                    self.assertEqual(status, 403, f"end user: {method} {path} -> {status} {resp}")
        # nothing of acme changed through those refusals
        self.assertEqual(root.call("GET", "/api/v1/tenants/acme/domains")[1]["items"][0]["routes"][0]["port"],
                         self.sink.port)
        self.assertFalse(root.call("GET", "/api/v1/tenants/acme")[1]["suspended_inbound"])
        self.assertEqual(root.call("GET", f"/api/v1/quarantine/{qid}")[1]["status"], "held")
        self.assertEqual(root.call("GET", "/api/v1/users?name=intruder")[1]["total"], 0)
        # beta's lists show nothing of acme
        self.assertEqual(beta.call("GET", "/api/v1/quarantine?subject=authz-probe")[1]["total"], 0)
        self.assertEqual([t["name"] for t in beta.call("GET", "/api/v1/tenants")[1]["items"]], ["beta"])

    # --- quarantine through the API ---
    def test_quarantine_search_preview_release_delivers(self):
        self.send_spam("api-release-me")
        bob = self.login("bob")
        wait_until(lambda: bob.call("GET", "/api/v1/quarantine?subject=api-release-me")[1]["total"] == 1, 20,
                   what="the message in quarantine")
        page = bob.call("GET", "/api/v1/quarantine?subject=api-release-me&sort=-received_at&limit=1")[1]
        item = page["items"][0]
        self.assertEqual(item["recipient"], "bob@acme.example")
        status, prev, _, _ = bob.call("GET", f"/api/v1/quarantine/{item['id']}/preview")
        self.assertEqual(status, 200)
        self.assertIn("api-release-me", prev["preview"])
        with self.sink.lock:
            before = len([m for m in self.sink.messages if b"api-release-me" in m["data"]])
        self.assertEqual(before, 0)
        self.assertEqual(bob.call("POST", f"/api/v1/quarantine/{item['id']}/release", {}, csrf=False)[0], 403)
        status, rel, _, _ = bob.call("POST", f"/api/v1/quarantine/{item['id']}/release", {})
        self.assertEqual(status, 200, rel)

        def delivered():
            with self.sink.lock:
                return [m for m in self.sink.messages if b"api-release-me" in m["data"]]
        wait_until(delivered, 20, what="the released message at the sink")
        self.assertEqual(delivered()[0]["rcpts"], ["bob@acme.example"])
        self.assertEqual(bob.call("GET", f"/api/v1/quarantine/{item['id']}")[1]["status"], "released")
        # the audit log names who released it and from where
        admin = self.login("acme-admin")
        audit = admin.call("GET", "/api/v1/audit?limit=500")[1]["items"]
        rel_entries = [a for a in audit if a["action"] == "POST /api/v1/quarantine/{id}/release"
                       and a["target"] == f"id={item['id']}"]
        self.assertEqual(len(rel_entries), 1)
        self.assertEqual(rel_entries[0]["actor"], "bob")
        self.assertEqual(rel_entries[0]["client_ip"], "127.0.0.1")
        self.assertEqual(rel_entries[0]["before"]["status"], "held")

    def test_lists_page_and_bad_input_gets_the_error_shape(self):
        root = self.login("root")
        status, page, hdrs, _ = root.call("GET", "/api/v1/tenants?sort=-name&limit=1")
        self.assertEqual(status, 200)
        self.assertEqual(page["items"][0]["name"], "beta")
        self.assertEqual(page["total"], 2)
        nxt = root.call("GET", "/api/v1/tenants?sort=-name&limit=1&cursor=" + urllib.parse.quote(page["next_cursor"]))[1]
        self.assertEqual(nxt["items"][0]["name"], "acme")
        self.assertIsNone(nxt["next_cursor"])
        status, body, hdrs, _ = root.call("GET", "/api/v1/tenants?limit=0")
        self.assertEqual((status, body["error"]["field"]), (400, "limit"))
        status, body, hdrs, _ = root.call("GET", "/api/v1/nothing-here")
        self.assertEqual(status, 404)
        self.assert_headers(hdrs, "404")
        status, doc, hdrs, _ = self.anon().call("GET", "/api/v1/openapi.json")
        self.assertEqual(status, 200)
        self.assertTrue(doc["openapi"].startswith("3."))
        self.assert_headers(hdrs, "openapi")
        # an oversized body is refused by the server itself
        # (announced by Content-Length, answered before the body is read)
        import socket
        with socket.create_connection(("127.0.0.1", self.api_port), timeout=10) as raw:
            with harness.unverified_tls_context().wrap_socket(raw) as tls:
                tls.sendall(b"POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 3000000\r\n\r\n{")
                reply = b""
                while b"\r\n\r\n" not in reply and len(reply) < 65536:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
        head = reply.split(b"\r\n\r\n")[0].decode().lower()
        self.assertTrue(head.startswith("http/1.1 413"), head)
        self.assertIn("x-content-type-options: nosniff", head)

    # --- the web console ---
    def raw_get(self, path):
        conn = http.client.HTTPSConnection("127.0.0.1", self.api_port, timeout=15,
                                           context=harness.unverified_tls_context())
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()

    def test_console_is_served_with_its_csp_and_nothing_outside_it(self):
        for path in ("/", "/quarantine", "/tenants/acme/policies", "/index.html"):
            status, body, hdrs = self.raw_get(path)
            self.assertEqual((status, body), (200, CONSOLE_INDEX), path)
            self.assertEqual(hdrs["content-type"], "text/html; charset=utf-8")
            self.assertEqual(hdrs["content-security-policy"], CONSOLE_CSP)
            self.assertEqual(hdrs["cache-control"], "no-store")
            self.assertEqual(hdrs["x-content-type-options"], "nosniff")
        status, body, hdrs = self.raw_get("/assets/app-1a2b.js")
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["content-type"], "text/javascript; charset=utf-8")
        self.assertIn("immutable", hdrs["cache-control"])
        self.assertEqual(self.raw_get("/assets/missing-0000.js")[0], 404)
        for path in ("/../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/leak.txt", "/assets/..%2fsecret.txt"):
            status, body, _ = self.raw_get(path)
            self.assertIn(status, (400, 404), path)
            self.assertNotIn(b"outside", body, path)
        # The API keeps its own answers and headers.
        status, body, hdrs = self.raw_get("/api/v1/nothing")
        self.assertEqual(status, 404)
        self.assertEqual(hdrs["content-security-policy"], "default-src 'self'; frame-ancestors 'none'")
        self.assertEqual(json.loads(body)["error"]["code"], "not_found")

    # --- dashboard statistics ---
    def test_stats_count_real_mail(self):
        admin, root = self.login("acme-admin"), self.login("root")

        def sums(c):
            st = c.call("GET", "/api/v1/stats")[1]
            return {k: sum(b[k] for b in st["series"]) for k in ("total", "clean", "spam", "quarantined")}, st
        before, st = sums(admin)
        for _ in range(10):  # mail of earlier tests may still be on its way to the store
            time.sleep(0.3)
            again, st = sums(admin)
            if again == before:
                break
            before = again
        self.assertEqual(st["bucket"], "hour")
        self.assertEqual(len(st["series"]), 25)
        self.assertIsNone(st["queue"])
        self.assertEqual([x["tenant"] for x in st["licence"]], ["acme"])
        self.send_spam("stats-spam")
        with self.gw.smtp() as s:
            s.sendmail("friend@sender.example", ["bob@acme.example"],
                       harness.message(subject="stats-clean", to="bob@acme.example"))
        wait_until(lambda: sums(admin)[0]["total"] >= before["total"] + 2, 20, what="both messages in the statistics")
        after, st = sums(admin)
        self.assertEqual(after["total"] - before["total"], 2)
        self.assertEqual(after["spam"] - before["spam"], 1)
        self.assertEqual(after["clean"] - before["clean"], 1)
        self.assertEqual(after["quarantined"] - before["quarantined"], 1)
        self.assertIn("alice@sender.example", [x["sender"] for x in st["top_blocked_senders"]])
        self.assertNotIn("friend@sender.example", [x["sender"] for x in st["top_blocked_senders"]])
        self.assertIn("127.0.0.1", [x["ip"] for x in st["top_blocked_ips"]])
        # Operators see every tenant and the live queue; beta's admin sees none of acme's mail.
        st = root.call("GET", "/api/v1/stats?bucket=day")[1]
        self.assertEqual(len(st["series"]), 31)
        self.assertEqual(set(st["queue"]), {"messages", "deferred", "held", "in_flight"})
        self.assertEqual({x["tenant"] for x in st["licence"]}, {"acme", "beta"})
        beta = self.login("beta-admin").call("GET", "/api/v1/stats")[1]
        self.assertNotIn("alice@sender.example", [x["sender"] for x in beta["top_blocked_senders"]])

    # --- TOTP ---
    def test_totp_login_with_codes_computed_here(self):
        c = self.login("totp-user")
        status, enrol, _, _ = c.call("POST", "/api/v1/session/totp")
        self.assertEqual(status, 200, enrol)
        secret = enrol["secret"]
        self.assertEqual(enrol["otpauth_uri"], f"otpauth://totp/mailmoat:totp-user?secret={secret}&issuer=mailmoat")
        self.assertFalse(c.call("GET", "/api/v1/session")[1]["totp"])
        now = time.time()
        status, body, _, _ = c.call("POST", "/api/v1/session/totp/confirm", {"code": totp(secret, now)})
        self.assertEqual((status, body), (200, {"totp": True}))
        self.assertTrue(c.call("GET", "/api/v1/session")[1]["totp"])
        login = {"name": "totp-user", "password": PASSWORD}
        status, body, _, _ = self.anon().call("POST", "/api/v1/login", login)
        self.assertEqual((status, body["error"]["code"]), (401, "totp_required"))
        # The confirmation used this step: the next one (within the allowed drift) logs in, once.
        code = totp(secret, now, 1)
        status, body, _, _ = self.anon().call("POST", "/api/v1/login", {**login, "totp_code": code})
        self.assertEqual(status, 200, body)
        status, body, _, _ = self.anon().call("POST", "/api/v1/login", {**login, "totp_code": code})
        self.assertEqual((status, body["error"]["code"]), (401, "totp_invalid"))
        # The secret is in no audit entry.
        audit = self.login("root").call("GET", "/api/v1/audit?limit=500")[1]["items"]
        self.assertTrue(any(a["action"] == "POST /api/v1/session/totp" for a in audit))
        self.assertNotIn(secret, json.dumps(audit))
        # A lost authenticator: the operator's CLI turns it off.
        self.assertIn("totp-user", self.gw.cli("user", "totp-reset", "totp-user").stdout)
        status, body, _, _ = self.anon().call("POST", "/api/v1/login", login)
        self.assertEqual(status, 200, body)

    # --- connection control ---
    def test_connection_control_through_the_api(self):
        root, admin, auditor = self.login("root"), self.login("acme-admin"), self.login("acme-auditor")
        status, rep, _, _ = auditor.call("GET", "/api/v1/reputation/ips/192.0.2.44")
        self.assertEqual(status, 200, rep)
        self.assertEqual((rep["ip"], rep["network"], rep["tenant"]), ("192.0.2.44", "192.0.2.0/24", "acme"))
        self.assertEqual(set(rep["actions"]), {"low", "normal", "strict"})
        self.assertEqual(rep["allowed_by"], [])
        status, body, _, _ = admin.call("POST", "/api/v1/tenants/acme/allowlist",
                                        {"entry": "192.0.2.0/24", "note": "api-partner"})
        self.assertEqual(status, 201, body)
        self.assertIn("192.0.2.0/24", self.gw.cli("reputation", "allow", "list", "--tenant", "acme").stdout)
        rep = auditor.call("GET", "/api/v1/reputation/ips/192.0.2.44")[1]
        self.assertEqual([e["note"] for e in rep["allowed_by"]], ["api-partner"])
        self.assertEqual(admin.call("DELETE", f"/api/v1/tenants/acme/allowlist/{body['id']}")[0], 204)
        self.assertNotIn("192.0.2.0/24", self.gw.cli("reputation", "allow", "list", "--tenant", "acme").stdout)
        status, body, _, _ = root.call("POST", "/api/v1/allowlist", {"entry": "*.Relay.Example"})
        self.assertEqual((status, body["entry"], body["tenant"]), (201, "*.relay.example", ""))
        self.assertIn("*.relay.example", self.gw.cli("reputation", "allow", "list").stdout)
        self.assertEqual(root.call("GET", "/api/v1/reputation/top")[0], 200)
        status, body, _, _ = admin.call("PUT", "/api/v1/tenants/acme/connection", {"strictness": "strict"})
        self.assertEqual((status, body["strictness"], body["inherited"]), (200, "strict", False), body)
        self.assertEqual(auditor.call("GET", "/api/v1/reputation/ips/192.0.2.44")[1]["strictness"], "strict")
        self.assertEqual(admin.call("PUT", "/api/v1/tenants/acme/connection", {"strictness": "default"})[1]["inherited"], True)
        audit = admin.call("GET", "/api/v1/audit?limit=500")[1]["items"]
        put = [a for a in audit if a["action"] == "PUT /api/v1/tenants/{tenant}/connection"]
        self.assertTrue(put and put[-1]["before"]["strictness"] == "normal" and put[-1]["after"]["strictness"] == "strict", put)

    def test_new_endpoints_refused_to_everyone_who_may_not(self):
        root = self.login("root")
        status, op_entry, _, _ = root.call("POST", "/api/v1/allowlist", {"entry": "198.51.100.0/24"})
        self.assertIn(status, (200, 201))
        status, acme_entry, _, _ = root.call("POST", "/api/v1/tenants/acme/allowlist", {"entry": "198.51.100.1"})
        self.assertIn(status, (200, 201))
        # (method, path, body, who may: "op" operators only, "admin" acme's admin too, "read" acme's auditor too)
        eps = [
            ("GET", "/api/v1/stats?tenant=acme", None, "read"),
            ("GET", "/api/v1/reputation/ips/198.51.100.1?tenant=acme", None, "read"),
            ("GET", "/api/v1/reputation/top", None, "op"),
            ("GET", "/api/v1/allowlist", None, "op"),
            ("POST", "/api/v1/allowlist", {"entry": "203.0.113.0/24"}, "op"),
            ("DELETE", f"/api/v1/allowlist/{op_entry['id']}", None, "op"),
            ("GET", "/api/v1/tenants/acme/allowlist", None, "read"),
            ("POST", "/api/v1/tenants/acme/allowlist", {"entry": "203.0.113.0/24"}, "admin"),
            ("DELETE", f"/api/v1/tenants/acme/allowlist/{acme_entry['id']}", None, "admin"),
            ("GET", "/api/v1/tenants/acme/connection", None, "read"),
            ("PUT", "/api/v1/tenants/acme/connection", {"strictness": "off"}, "admin"),
            ("PATCH", "/api/v1/users/acme-auditor", {"totp": False}, "admin"),
        ]
        own = [("POST", "/api/v1/session/totp", None), ("POST", "/api/v1/session/totp/confirm", {"code": "123456"}),
               ("POST", "/api/v1/session/totp/disable", {"code": "123456"})]
        beta, auditor, bob, admin = (self.login(n) for n in ("beta-admin", "acme-auditor", "bob", "acme-admin"))
        status, short, _, _ = root.call("POST", "/api/v1/tokens", {"label": "short", "access": "write", "expires_in": 1})
        self.assertEqual(status, 201)
        status, tok, _, _ = root.call("POST", "/api/v1/tokens", {"label": "w", "access": "write", "expires_in": 600})
        expired = Client(self.api_port, token=short["token"])
        no_csrf = Client(self.api_port, cookie=root.cookie)
        time.sleep(1.1)
        for method, path, body, may in eps + [(m, p, b, "own") for m, p, b in own]:
            what = f"{method} {path}"
            status, resp, hdrs, _ = self.anon().call(method, path, body)
            self.assertEqual(status, 401, f"no session: {what}")
            self.assert_headers(hdrs, what)
            self.assertEqual(expired.call(method, path, body)[0], 401, f"expired token: {what}")
            if method != "GET":
                status, resp, _, _ = no_csrf.call(method, path, body)
                self.assertEqual((status, resp["error"]["code"]), (403, "csrf"), f"no CSRF: {what}")
            if may == "own":  # the caller's own TOTP: sessions only, never a token
                status, resp, _, _ = Client(self.api_port, token=tok["token"]).call(method, path, body)
                self.assertEqual(status, 403, f"token: {what} -> {resp}")
                continue
            status, resp, _, _ = beta.call(method, path, body)
            self.assertEqual(status, 403, f"beta-admin: {what} -> {resp}")
            self.assertEqual(set(resp["error"]), {"code", "message", "field"})
            status, resp, _, _ = bob.call(method, path, body)
            self.assertEqual(status, 403, f"end user: {what} -> {resp}")
            if method != "GET" or may == "op":
                status, resp, _, _ = auditor.call(method, path, body)
                self.assertEqual(status, 403, f"auditor: {what} -> {resp}")
            if may == "op":
                status, resp, _, _ = admin.call(method, path, body)
                self.assertEqual(status, 403, f"acme-admin: {what} -> {resp}")
        # Nothing changed through those refusals.
        self.assertIn("198.51.100.0/24", [e["entry"] for e in root.call("GET", "/api/v1/allowlist")[1]["items"]])
        self.assertIn("198.51.100.1", [e["entry"] for e in root.call("GET", "/api/v1/tenants/acme/allowlist")[1]["items"]])
        self.assertNotIn("203.0.113.0/24", self.gw.cli("reputation", "allow", "list").stdout)
        self.assertTrue(root.call("GET", "/api/v1/tenants/acme/connection")[1]["inherited"])
        # Tidy up for the other tests.
        self.assertEqual(root.call("DELETE", f"/api/v1/allowlist/{op_entry['id']}")[0], 204)
        self.assertEqual(root.call("DELETE", f"/api/v1/tenants/acme/allowlist/{acme_entry['id']}")[0], 204)


class ConnectionAllowTest(unittest.TestCase):
    """An allow entry added through the API lets a DNS-listed client through for that tenant."""
    LISTED = "127.0.2.5"

    @classmethod
    def setUpClass(cls):
        cls.dns = harness.Dnsmasq(["--txt-record=ready.test,ok", "--host-record=5.2.0.127.bl.test,127.0.0.2"])
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(dns={"servers": f"127.0.0.1:{cls.dns.port}"}, connection={"dns_lists": ["bl.test*3"]})
        cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
        cls.gw.add_user("acme-admin", "admin", "acme", None, PASSWORD)
        cls.gw.start()
        wait_until(lambda: Client(cls.gw.api_port).call("GET", "/api/v1/openapi.json")[0] == 200, 20,
                   what="the API to listen")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.dns.stop()

    def rcpt(self):
        import smtplib
        s = smtplib.SMTP("127.0.0.1", self.gw.port, local_hostname="client.example", timeout=30,
                         source_address=(self.LISTED, 0))
        try:
            s.ehlo()
            s.mail("someone@listed.example")
            return s.rcpt("bob@acme.example")[0]
        finally:
            s.quit()

    def test_allow_entry_from_the_api_lets_the_listed_client_in(self):
        self.assertEqual(self.rcpt(), 554)
        status, body, _, cookies = Client(self.gw.api_port).call("POST", "/api/v1/login",
                                                                 {"name": "acme-admin", "password": PASSWORD})
        self.assertEqual(status, 200, body)
        admin = Client(self.gw.api_port, cookie=[c for c in cookies if c.startswith("mm_session=")][0].split(";")[0],
                       csrf=body["csrf_token"])
        status, entry, _, _ = admin.call("POST", "/api/v1/tenants/acme/allowlist", {"entry": self.LISTED, "note": "it"})
        self.assertEqual(status, 201, entry)
        wait_until(lambda: self.rcpt() == 250, 10, what="the allow entry loaded by the gateway")
        self.assertEqual(admin.call("DELETE", f"/api/v1/tenants/acme/allowlist/{entry['id']}")[0], 204)
        wait_until(lambda: self.rcpt() == 554, 10, what="the removal loaded by the gateway")


if __name__ == "__main__":
    harness.main()
