"""The management REST API against the real binary over TLS: login and the session cookie's
flags, CSRF refusal of cookie-authenticated changes, API tokens (read-only, tenant-narrowed,
expired, revoked), no session refused, security headers on every response, every endpoint
refused to a lower role and to another tenant's administrator, the audit log, and quarantine
search, preview and release through the API delivering to a sink."""
import http.client
import json
import os
import shutil
import sys
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
        cls.gw = harness.Gateway(scan={"rules_dir": cls.rules})
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
                                            ("lockme", "auditor", "beta", None)):
            gw.add_user(name, role, tenant, account, PASSWORD)
        gw.start()
        wait_until(lambda: cls.anon().call("GET", "/api/v1/openapi.json")[0] == 200, 20, what="the API to listen")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()
        cls.beta_sink.stop()
        shutil.rmtree(cls.rules, ignore_errors=True)

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


if __name__ == "__main__":
    harness.main()
