"""Test harness: starts the real mailmoat binary on loopback ports with a private var/ directory,
and a recording downstream SMTP sink (aiosmtpd) whose answers a test can change.

Run under Debian's /usr/bin/python3 (it sees python3-aiosmtpd)."""
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as AioSMTP

SOURCE = os.environ.get("MAILMOAT_SOURCE") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("MAILMOAT_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "src", "cli", "mailmoat")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(v):
    """A Python value as a TOML literal (bool, int, str, list)."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def wait_until(pred, timeout=20.0, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Sink:
    """A downstream mail server on 127.0.0.1. Records every accepted message.
    `mode` decides the answer at end of data: "accept", "tempfail" (451) or "reject" (550);
    `rcpt_codes` maps a recipient address to a (code, text) RCPT answer."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []  # dicts: sender, rcpts, data (bytes), peer
        self.mode = "accept"
        self.rcpt_codes = {}
        self.attempts = 0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                code = sink.rcpt_codes.get(address)
                if code:
                    return f"{code[0]} {code[1]}"
                envelope.rcpt_tos.append(address)
                return "250 2.1.5 OK"

            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.attempts += 1
                    mode = sink.mode
                if mode == "tempfail":
                    return "451 4.3.0 sink says try later"
                if mode == "reject":
                    return "550 5.7.1 sink rejects"
                with sink.lock:
                    sink.messages.append({
                        "sender": envelope.mail_from,
                        "rcpts": list(envelope.rcpt_tos),
                        "data": envelope.original_content,
                        "peer": session.peer,
                        "mail_options": list(envelope.mail_options),
                    })
                return "250 2.0.0 sink queued"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     decode_data=False, enable_SMTPUTF8=True,
                                     data_size_limit=200 * 1024 * 1024)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def count(self):
        with self.lock:
            return len(self.messages)

    def wait_for(self, n, timeout=30):
        return wait_until(lambda: self.count() >= n, timeout, what=f"{n} message(s) at the sink")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dnsmasq:
    """An authoritative test zone: every name under .test/.example not listed is NXDOMAIN;
    names under broken.test are forwarded to a dead server (SERVFAIL: a DNS failure)."""

    def __init__(self, records):
        self.port = free_udp_port()
        dead = free_udp_port()
        args = ["dnsmasq", "--keep-in-foreground", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                "--user=root", "--local-ttl=300", "--local=/test/", "--local=/example/",
                f"--server=/broken.test/127.0.0.1#{dead}", "--log-facility=/dev/null"] + records
        if not any("ready.test" in r for r in records):
            args.append("--txt-record=ready.test,ok")  # what the readiness check below asks
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:  # ready when it answers on UDP
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited: " + self.proc.stderr.read().decode())
            if subprocess.run(["dig", "+short", "+time=1", "+tries=1", "-p", str(self.port), "@127.0.0.1",
                               "ready.test", "TXT"], capture_output=True, text=True).stdout.strip():
                return
            time.sleep(0.05)
        raise AssertionError("dnsmasq did not answer")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Gateway:
    """A mailmoat server in a temporary directory. Use .cli(...) for administration."""

    def __init__(self, extra_config="", queue=None, tmp=None, smtp=None, delivery=None, scan=None,
                 auth=None, dns=None, api=None, connection=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="mm-it-")
        self.port = free_port()
        # The management API listens on a free port of its own (never the default 8443, which
        # parallel gateways would share); api={...} adds or overrides [api] keys.
        self.api_port = free_port()
        self.proc = None
        self.config_path = os.path.join(self.tmp, "mailmoat.toml")
        q = {"first_retry_s": 1, "min_backoff_s": 1, "max_backoff_s": 2}
        q.update(queue or {})
        qlines = "\n".join(f"{k} = {v if not isinstance(v, bool) else str(v).lower()}" for k, v in q.items())
        slines = "".join(f"\n{k} = {toml_value(v)}" for k, v in (smtp or {}).items())
        dlines = "".join(f"\n{k} = {toml_value(v)}" for k, v in (delivery or {}).items())
        sc = {"rules_dir": os.path.join(SOURCE, "rules")}
        sc.update(scan or {})
        sclines = "".join(f"\n{k} = {toml_value(v)}" for k, v in sc.items())
        # Sender authentication needs DNS, which tests have only when they start their own server:
        # off unless a test passes auth={...} (and dns={"servers": "127.0.0.1:PORT"}).
        au = {"enabled": False} if auth is None else dict(auth)
        aulines = "".join(f"\n{k} = {toml_value(v)}" for k, v in au.items())
        dnlines = "".join(f"\n{k} = {toml_value(v)}" for k, v in (dns or {}).items())
        ap = {"listen": [f"127.0.0.1:{self.api_port}"]}
        ap.update(api or {})
        aplines = "".join(f"\n{k} = {toml_value(v)}" for k, v in ap.items())
        # Connection control learns from every verdict: off unless a test passes connection={...}
        # (tests sending much spam from 127.0.0.1 would otherwise be delayed).
        co = {"enabled": False} if connection is None else dict(connection)
        colines = "".join(f"\n{k} = {toml_value(v)}" for k, v in co.items())
        with open(self.config_path, "w") as f:
            f.write(f"""
[server]
hostname = "mx.test.example"
var_dir = "{self.tmp}/var"
io_threads = 2
shutdown_grace_s = 5
[smtp]
listen = ["127.0.0.1:{self.port}", "[::1]:{self.port}"]{slines}
[queue]
{qlines}
[delivery]
connection_reuse_s = 1{dlines}
[scan]{sclines}
[auth]{aulines}
[dns]{dnlines}
[api]{aplines}
[connection]{colines}
{extra_config}
""")
        self.log_path = os.path.join(self.tmp, "stderr.log")

    def cli(self, *args, check=True):
        r = subprocess.run([BIN, "-c", self.config_path, *args], capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"mailmoat {' '.join(args)} failed ({r.returncode}): {r.stderr}{r.stdout}")
        return r

    # Tests about verdicts delivered with headers (not about the policy) pass
    # policy=TAG_POLICY: the default policy quarantines spam and phishing.
    TAG_POLICY = "spam>=high=reject spam=tag phishing>=high=reject phishing=tag"

    def add_tenant_domain(self, tenant, domain, sink_port, tls="none", policy=None):
        if tenant not in self.cli("tenant", "list").stdout.split():
            self.cli("tenant", "add", tenant)
        self.cli("domain", "add", domain, "--tenant", tenant, "--route", f"127.0.0.1:{sink_port}", "--tls", tls)
        if policy:
            self.cli("policy", "set", tenant, policy)

    def add_user(self, name, role, tenant=None, account=None, password="correct horse battery staple"):
        """A console user (the password goes in on stdin, as an operator would type it)."""
        args = [BIN, "-c", self.config_path, "user", "add", name, "--role", role]
        if tenant:
            args += ["--tenant", tenant]
        if account:
            args += ["--account", account]
        r = subprocess.run(args, input=password + "\n", capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"user add {name} failed: {r.stderr}")

    def start(self, wait=True):
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([BIN, "-c", self.config_path, "serve"], stdout=log, stderr=log)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"mailmoat exited with {self.proc.returncode}:\n{self.stderr()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    return s.recv(512).startswith(b"220")
            except OSError:
                return False
        wait_until(ready, timeout, what="mailmoat to listen")

    def stderr(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_events(self):
        path = os.path.join(self.tmp, "var", "log", "mailmoat.jsonl")
        out = []
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    out.append(json.loads(line))
        return out

    def smtp(self, host="127.0.0.1"):
        s = smtplib.SMTP(host, self.port, local_hostname="client.example", timeout=30)
        return s

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def queue_entry(self, qid):
        """The queue list entry of one message, or None when it is not (or no longer) queued."""
        return next((e for e in self.queue_list() if e["id"] == qid), None)

    def queue_list(self):
        r = self.cli("queue", "list", "--json")
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def message(subject="test", body="Hello.\r\n", sender="alice@sender.example", to="bob@acme.example",
            extra=""):
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@test>\r\n"
            f"{extra}\r\n{body}").encode()


def _field_end(data: bytes, pos: int) -> int:
    """End of the header field starting at pos (its continuation lines included)."""
    end = data.index(b"\r\n", pos) + 2
    while data[end:end + 1] in (b" ", b"\t"):
        end = data.index(b"\r\n", end) + 2
    return end


def _is_verdict_field(data: bytes) -> bool:
    return data[:11].lower() == b"x-mailmoat-" or data[:7].lower() == b"x-spam-"


def received_field(data: bytes) -> bytes:
    """mailmoat's own Received: field: the first field of what it delivers."""
    assert data.startswith(b"Received: "), data[:200]
    return data[:_field_end(data, 0)]


def strip_received(data: bytes) -> bytes:
    """The message without what mailmoat prepends: its Received: header (one folded field, first)
    and, when scanning is on, its verdict headers (X-Mailmoat-*, X-Spam-*) right after it."""
    data = data[len(received_field(data)):]
    while _is_verdict_field(data):
        data = data[_field_end(data, 0):]
    return data


class RawClient:
    """A plain socket SMTP client for protocol tests: send exact bytes, read replies as parsed."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((host, port))
        except OSError:
            self.sock.close()
            raise
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def read_reply(self, timeout=None):
        """One (possibly multi-line) reply: (code, [text lines]). Raises EOFError on close,
        socket.timeout when nothing complete arrives in time."""
        deadline = time.time() + (timeout or self.timeout)
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                left = deadline - time.time()
                if left <= 0:
                    raise socket.timeout("no complete reply")
                self._fill(left)
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text[4:])
            if len(text) < 4 or text[3] != "-":
                return int(text[:3]), lines

    def read_replies(self, n, timeout=None):
        return [self.read_reply(timeout) for _ in range(n)]

    def cmd(self, line, timeout=None):
        self.send(line + "\r\n")
        return self.read_reply(timeout)

    def read_until_closed(self, timeout=10, limit=1000):
        """Every reply until the server closes the connection: [(code, lines)]."""
        out = []
        deadline = time.time() + timeout
        for _ in range(limit):
            try:
                out.append(self.read_reply(max(0.01, deadline - time.time())))
            except EOFError:
                return out
        raise AssertionError(f"more than {limit} replies")

    def nothing_within(self, seconds):
        """True when the server sends nothing (and does not close) for `seconds`."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return True
        self.buf += chunk
        return False

    def starttls(self, context=None):
        """Wraps the socket in TLS (after a 220 to STARTTLS). Fails if plaintext is still unread."""
        if self.buf:
            raise AssertionError(f"unread plaintext before the TLS handshake: {self.buf!r}")
        self.sock.settimeout(self.timeout)
        self.sock = (context or unverified_tls_context()).wrap_socket(self.sock)
        return self.sock.version()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def unverified_tls_context():
    """A client TLS context that accepts the gateway's self-signed certificate."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def rules_dir_with(extra_rules):
    """A temporary copy of the project's rules (and rules/links) plus a file with `extra_rules`;
    the caller removes it (shutil.rmtree)."""
    d = tempfile.mkdtemp(prefix="mm-rules-")
    for f in os.listdir(os.path.join(SOURCE, "rules")):
        if f.endswith(".rules"):
            shutil.copy(os.path.join(SOURCE, "rules", f), d)
    shutil.copytree(os.path.join(SOURCE, "rules", "links"), os.path.join(d, "links"))
    with open(os.path.join(d, "99_test.rules"), "w") as f:
        f.write(extra_rules)
    return d


def start_acme(test, **gateway_args):
    """A started gateway protecting acme.example for tenant "acme", routed to a fresh sink; both
    are stopped when `test` ends. Returns (gateway, sink)."""
    sink = Sink().start()
    test.addCleanup(sink.stop)
    gw = Gateway(**gateway_args)
    test.addCleanup(gw.cleanup)
    gw.add_tenant_domain("acme", "acme.example", sink.port)
    gw.start()
    return gw, sink


def main():
    unittest.main(verbosity=2)
