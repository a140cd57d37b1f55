"""Early talkers (pregreet, as postscreen's): with [connection] pregreet_ms set, mailmoat holds
its greeting that long; a client that sends before it is refused at RCPT (its recipients are
logged), an honest client that waits is accepted, and an early talker from a network on the
tenant's allow list passes."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def talk(port, source_ip, early):
    """One session: EHLO (before the greeting if `early`), MAIL, RCPT; returns the RCPT reply line."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source_ip, 0))
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise AssertionError("connection closed")
            if line[3:4] != b"-":
                return line.decode().strip()

    try:
        if early:
            s.sendall(b"EHLO early.example\r\n")
            banner = reply()
        else:
            banner = reply()
            s.sendall(b"EHLO polite.example\r\n")
        assert banner.startswith("220"), banner
        ehlo = reply()
        assert ehlo.startswith("250"), ehlo
        s.sendall(b"MAIL FROM:<x@sender.example>\r\n")
        assert reply().startswith("250")
        s.sendall(b"RCPT TO:<bob@acme.example>\r\n")
        r = reply()
        s.sendall(b"QUIT\r\n")
        return r
    finally:
        f.close()
        s.close()


class PregreetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sink = harness.Sink().start()
        cls.gw = harness.Gateway(connection={"enabled": True, "pregreet_ms": 300})
        cls.gw.add_tenant_domain("acme", "acme.example", cls.sink.port)
        cls.gw.cli("reputation", "allow", "add", "--tenant", "acme", "127.0.9.0/24")
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.sink.stop()

    def test_early_talker_is_refused_and_logged(self):
        start = time.monotonic()
        r = talk(self.gw.port, "127.0.7.1", early=True)
        self.assertTrue(r.startswith("554"), r)
        self.assertIn("talked before the greeting", r)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)  # the greeting was held
        harness.wait_until(lambda: any(e.get("event") == "smtp.pregreet" and e.get("ip") == "127.0.7.1"
                                       for e in self.gw.log_events()), 5, what="the smtp.pregreet log event")
        out = self.gw.cli("track", "--recipient", "bob@acme.example").stdout
        self.assertIn("talked before the greeting", out)

    def test_polite_client_is_accepted(self):
        r = talk(self.gw.port, "127.0.7.2", early=False)
        self.assertTrue(r.startswith("250"), r)

    def test_allow_listed_network_passes_even_when_early(self):
        r = talk(self.gw.port, "127.0.9.5", early=True)
        self.assertTrue(r.startswith("250"), r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
