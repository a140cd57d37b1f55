"""Interoperability with Debian's Postfix, in both directions, plain and with STARTTLS.

Postfix runs as a private instance: main.cf/master.cf written here into a temporary directory
(queue_directory and data_directory inside it, smtpd on a free loopback port, log written by
postlogd to a file in the directory, no syslog). Nothing under /etc/postfix is read or written:
as root, `postfix -c DIR` accepts a directory that is not listed in alternate_config_directories
(that check only applies to unprivileged callers), so this works whether or not the machine has
an /etc/postfix/main.cf.

(a) client -> Postfix (relayhost = mailmoat) -> mailmoat -> sink
(b) client -> mailmoat (domain route = Postfix) -> Postfix (relayhost = sink) -> sink
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

POSTFIX = shutil.which("postfix", path="/usr/sbin:/usr/bin:/sbin:/bin")

# Postfix's services without chroot (the queue is in a temp dir), without local delivery.
MASTER_CF_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_unavailable():
    """Why a private Postfix cannot run here, or None."""
    if not POSTFIX or not os.path.exists("/usr/lib/postfix/sbin/master"):
        return "postfix is not installed (scripts/setup.sh installs it)"
    if os.geteuid() != 0:
        return "Postfix's master must be started as root (it drops to mail_owner=postfix itself)"
    try:
        import pwd
        import grp
        pwd.getpwnam("postfix")
        grp.getgrnam("postdrop")
    except KeyError as e:
        return f"the postfix user/postdrop group is missing: {e}"
    return None


class Postfix:
    """A private Postfix instance relaying `relay_domains` to `relayhost` ("[127.0.0.1]:port").
    `tls` = (cert, key) enables STARTTLS in smtpd; `smtp_tls` sets smtp_tls_security_level."""

    def __init__(self, relayhost, relay_domains="acme.example", tls=None, smtp_tls="none", main_extra=None,
                 tmp=None):
        self.dir = tmp or tempfile.mkdtemp(prefix="mm-pf-")
        os.chmod(self.dir, 0o755)  # the postfix user must reach its queue and data directories
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "maillog")
        for d in (self.conf, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        shutil.chown(self.data, "postfix", "postfix")
        self.port = harness.free_port()
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "command_directory": "/usr/sbin",
            "daemon_directory": "/usr/lib/postfix/sbin",
            "shlib_directory": "/usr/lib/postfix",
            "meta_directory": "/etc/postfix",
            "myhostname": "pf.test.example",
            "mydomain": "test.example",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": relay_domains,
            "relayhost": relayhost,
            "smtp_dns_support_level": "disabled",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.dir,
            # a refused first attempt must not park a message for the default 300 s
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_tls_security_level": smtp_tls,
            "smtp_tls_loglevel": "1",
        }
        if tls:
            main.update({"smtpd_tls_cert_file": tls[0], "smtpd_tls_key_file": tls[1],
                         "smtpd_tls_security_level": "may", "smtpd_tls_loglevel": "1",
                         "smtpd_tls_received_header": "yes"})
        main.update(main_extra or {})
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write(f"{k} = {v}\n")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(f"127.0.0.1:{self.port} inet n - n - - smtpd\n" + MASTER_CF_SERVICES)
        self.started = False

    def _run(self, *args, timeout=60):
        # Postfix's commands log to maillog_file (stderr only when it is a terminal).
        return subprocess.run([POSTFIX, "-c", self.conf, *args], capture_output=True, text=True,
                              timeout=timeout)

    def check(self):
        r = self._run("check")
        if r.returncode != 0:
            raise AssertionError(f"postfix check failed ({r.returncode}):\n{r.stderr}{r.stdout}\n{self.log()}")

    def start(self):
        self.check()
        r = self._run("start")
        if r.returncode != 0:
            raise AssertionError(f"postfix start failed ({r.returncode}):\n{r.stderr}{r.stdout}\n{self.log()}")
        self.started = True

        def banner():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.settimeout(5)
                    return s.recv(512).startswith(b"220")
            except OSError:
                return False
        harness.wait_until(banner, 30, 0.1, "postfix smtpd to answer")
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        """The master and its live children (for CPU/memory accounting)."""
        master = self.master_pid()
        if not master:
            return []
        out = [master]
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{p}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == master and fields[0] != "Z":
                        out.append(int(p))
                except (OSError, IndexError, ValueError):
                    pass
        return out

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        self._run("stop")

        def gone():
            if not pid:
                return True
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return True
        try:
            harness.wait_until(gone, 15, 0.1, "postfix master to exit")
        except AssertionError:
            try:
                os.kill(pid, signal.SIGKILL)  # only the master this instance started
            except OSError:
                pass

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30):
        rx = re.compile(pattern)
        return harness.wait_until(lambda: rx.search(self.log()), timeout, 0.1, f"postfix log /{pattern}/")


def self_signed_cert(directory, cn="pf.test.example"):
    cert, key = os.path.join(directory, "pf-cert.pem"), os.path.join(directory, "pf-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


def interop_message(tag):
    return (f"From: Alice <alice@sender.example>\r\nTo: bob@acme.example\r\nSubject: interop {tag}\r\n"
            f"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{tag}@sender.example>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n"
            f"Hello from {tag}.\r\n.leading dot survives transparency\r\n..two dots\r\n"
            f"Gr\u00fc\u00dfe, 8-bit UTF-8 body\r\n{'x' * 900}\r\n\r\nlast line\r\n").encode()


def split_received(data: bytes):
    """(the Received: fields among the header fields the hops prepended, the rest of the message).
    mailmoat may also prepend its verdict fields (X-Mailmoat-*, X-Spam-*) when scanning is on:
    they are skipped; every other field must be the sender's own."""
    fields = []
    pos = 0
    while True:
        head = data[pos:pos + 11].lower()
        if not (head.startswith(b"received:") or head == b"x-mailmoat-" or head.startswith(b"x-spam-")):
            return fields, data[pos:]
        end = data.index(b"\r\n", pos) + 2
        while data[end:end + 1] in (b" ", b"\t"):
            end = data.index(b"\r\n", end) + 2
        if head.startswith(b"received:"):
            fields.append(data[pos:end])
        pos = end


@unittest.skipIf(postfix_unavailable(), postfix_unavailable() or "")
class PostfixInteropTest(unittest.TestCase):
    def setUp(self):
        self.sink = harness.Sink().start()
        self.addCleanup(self.sink.stop)
        self.gw = harness.Gateway()
        self.addCleanup(self.gw.cleanup)

    def postfix(self, **kw):
        pf = Postfix(**kw)
        self.addCleanup(pf.cleanup)
        return pf.start()

    def submit(self, port, data, tag):
        """Sends `data` with BODY=8BITMIME; returns the 250 text."""
        import smtplib
        with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=30) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("8bitmime"), f"{tag}: no 8BITMIME advertised")
            code, resp = s.mail("alice@sender.example", ["BODY=8BITMIME"])
            self.assertEqual(code, 250, resp)
            code, resp = s.rcpt("bob@acme.example")
            self.assertEqual(code, 250, resp)
            code, resp = s.data(data)
            self.assertEqual(code, 250, resp)
            return resp.decode()

    def assert_intact(self, delivered, sent, received_hops):
        fields, rest = split_received(delivered)
        self.assertEqual(rest, sent, "message altered in transit")
        self.assertEqual(len(fields), received_hops, fields)
        return fields

    def gw_track(self, qid, pattern, timeout=20, pf=None):
        rx = re.compile(pattern)
        last = [""]

        def match():
            last[0] = self.gw.cli("track", "--id", qid).stdout
            return rx.search(last[0])
        try:
            return harness.wait_until(match, timeout, 0.2, f"mailmoat tracking of {qid} to match /{pattern}/")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- mailmoat track --id {qid}:\n{last[0]}\n--- mailmoat stderr (tail):\n"
                                 f"{self.gw.stderr()[-2000:]}" +
                                 (f"\n--- postfix log (tail):\n{pf.log()[-2000:]}" if pf else "")) from None

    # (a) Postfix relays through mailmoat -------------------------------------------------
    def relay_through_mailmoat(self, smtp_tls):
        self.gw.add_tenant_domain("acme", "acme.example", self.sink.port, tls="none")
        self.gw.start()
        pf = self.postfix(relayhost=f"[127.0.0.1]:{self.gw.port}", smtp_tls=smtp_tls)
        tag = f"pf-to-mm-{smtp_tls}"
        data = interop_message(tag)
        resp = self.submit(pf.port, data, tag)
        pf_qid = re.search(r"queued as ([0-9A-F]+)", resp).group(1)
        self.sink.wait_for(1, timeout=30)
        msg = self.sink.messages[0]
        self.assertEqual(msg["sender"], "alice@sender.example")
        self.assertEqual(msg["rcpts"], ["bob@acme.example"])
        fields = self.assert_intact(msg["data"], data, 2)  # mailmoat's, then Postfix's Received:
        self.assertIn(b"mx.test.example", fields[0])
        self.assertIn(b"pf.test.example", fields[1])
        sent = pf.wait_log(rf"{pf_qid}: to=<bob@acme.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{self.gw.port}"
                           rf".*status=sent \(250 [^)]*queued as ([0-9A-Z]+)\)")
        mm_qid = sent.group(1)
        self.gw_track(mm_qid, r"delivered", pf=pf)
        return pf, fields

    def test_a_postfix_relays_through_mailmoat(self):
        pf, fields = self.relay_through_mailmoat("none")
        self.assertIn(b"with ESMTP\r\n", fields[0])  # no STARTTLS: not ESMTPS

    def test_a_postfix_relays_through_mailmoat_with_starttls(self):
        pf, fields = self.relay_through_mailmoat("encrypt")  # Postfix must use STARTTLS to mailmoat
        pf.wait_log(rf"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:{self.gw.port}: TLSv1\.[23]")
        self.assertRegex(fields[0], rb"with ESMTPS \(TLSv1\.[23] ")  # mailmoat's Received: shows the TLS

    # (b) mailmoat delivers to Postfix ----------------------------------------------------
    def mailmoat_to_postfix(self, tls):
        kw = {}
        if tls:
            kw["tls"] = self_signed_cert(self.gw.tmp)
        pf = self.postfix(relayhost=f"[127.0.0.1]:{self.sink.port}", **kw)
        self.gw.add_tenant_domain("acme", "acme.example", pf.port, tls="required" if tls else "none")
        self.gw.start()
        tag = f"mm-to-pf-{'tls' if tls else 'plain'}"
        data = interop_message(tag)
        resp = self.submit(self.gw.port, data, tag)
        mm_qid = re.search(r"queued as ([0-9A-Z]+)", resp).group(1)
        self.sink.wait_for(1, timeout=30)
        msg = self.sink.messages[0]
        self.assertEqual(msg["sender"], "alice@sender.example")
        self.assertEqual(msg["rcpts"], ["bob@acme.example"])
        fields = self.assert_intact(msg["data"], data, 2)  # Postfix's, then mailmoat's Received:
        self.assertIn(b"pf.test.example", fields[0])
        self.assertIn(b"mx.test.example", fields[1])
        pf.wait_log(rf"to=<bob@acme.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:{self.sink.port}.*status=sent")
        track = self.gw_track(mm_qid, rf"delivered.*via 127\.0\.0\.1\[127\.0\.0\.1\]:{pf.port}", pf=pf).string
        return pf, fields, track

    def test_b_mailmoat_delivers_to_postfix(self):
        pf, fields, track = self.mailmoat_to_postfix(tls=False)
        self.assertNotIn("TLS", track)
        self.assertNotIn(b"TLS", fields[0])

    def test_b_mailmoat_delivers_to_postfix_tls_required(self):
        pf, fields, track = self.mailmoat_to_postfix(tls=True)
        self.assertRegex(track, r"delivered.*\(TLSv1\.[23] ", track)
        pf.wait_log(r"TLS connection established from localhost\[127\.0\.0\.1\]: TLSv1\.[23]")
        self.assertIn(b"TLS", fields[0])  # Postfix's Received: records the cipher (smtpd_tls_received_header)

    def test_b_tls_required_refuses_postfix_without_starttls(self):
        """Control case: with --tls required and a Postfix that offers no STARTTLS, mailmoat must
        not deliver in clear text: the message stays queued (deferred)."""
        pf = self.postfix(relayhost=f"[127.0.0.1]:{self.sink.port}")
        self.gw.add_tenant_domain("acme", "acme.example", pf.port, tls="required")
        self.gw.start()
        resp = self.submit(self.gw.port, interop_message("mm-to-pf-notls"), "notls")
        mm_qid = re.search(r"queued as ([0-9A-Z]+)", resp).group(1)
        self.gw_track(mm_qid, r"deferred", pf=pf)
        time.sleep(1)
        self.assertEqual(self.sink.count(), 0)
        self.assertNotRegex(pf.log(), r"from=<alice@sender\.example>")


if __name__ == "__main__":
    harness.main()
