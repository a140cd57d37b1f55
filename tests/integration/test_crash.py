"""kill -9 of the gateway under load loses no acknowledged message (counted at the sink).

Several client threads send uniquely identified messages over smtplib; every message whose
end-of-DATA 250 reply the client actually read is "acknowledged". Mid-load the gateway gets
SIGKILL; clients then see errors (those messages are not acknowledged, which is fine). The gateway
is restarted on the same var/ directory, and every acknowledged Message-ID must reach the sink.
Duplicates are allowed (a delivery whose "delivered" record had not reached the journal when the
process died is repeated) but counted and reported.

Round 1: the sink is up during the load (messages are being delivered while the kill happens).
Round 2: the sink is down during the load (everything acknowledged sits only in the spool), and
         comes up with the restarted gateway.
Round 3: as round 2, then a second kill -9 while the restarted gateway delivers its backlog and
         accepts new mail.
"""
import os
import re
import smtplib
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

THREADS = 8
TOTAL = 3000            # messages attempted at most, all threads together
LOAD_MAX_S = 20.0       # and for at most this long
KILL_AFTER_ACKED = 1200 # SIGKILL once this many messages were acknowledged ...
KILL_AFTER_S = 8.0      # ... or after this long, whichever comes first
PER_SESSION = 25        # messages per SMTP session before the client reconnects
DELIVERY_WAIT_S = 45.0  # bounded wait for every acknowledged message after the restart

QUEUED_AS = re.compile(rb"queued as ([0-9A-Z]+)")
MSGID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.I | re.M)


class Load:
    """THREADS clients sending TOTAL messages at most; `kill` is set by the test when it killed
    the gateway: each client stops at its first failure after that."""

    def __init__(self, port, tag):
        self.port = port
        self.tag = tag
        self.lock = threading.Lock()
        self.next_idx = 0
        self.acked = {}          # message-id -> (queue id, body bytes, monotonic time of the 250)
        self.sent = {}           # message-id -> body (every attempt, acknowledged or not)
        self.failures = []       # (monotonic time, message-id or "", error text)
        self.rejected = []       # non-250 final replies before the kill
        self.killed_at = None
        self.stop = threading.Event()
        self.deadline = time.monotonic() + LOAD_MAX_S
        self.threads = [threading.Thread(target=self.client, args=(t,), daemon=True) for t in range(THREADS)]

    def take_index(self):
        with self.lock:
            if self.next_idx >= TOTAL:
                return None
            self.next_idx += 1
            return self.next_idx - 1

    def client(self, tid):
        s = None
        in_session = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            idx = self.take_index()
            if idx is None:
                break
            mid = f"crash-{self.tag}-{tid}-{idx}"
            data = harness.message(subject=mid, body=f"Message {idx} from client {tid}.\r\nLine two.\r\n")
            with self.lock:
                self.sent[mid] = data
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example", timeout=15)
                    s.ehlo()
                    in_session = 0
                code, resp = s.mail("alice@sender.example")
                if code != 250:
                    raise smtplib.SMTPResponseException(code, resp)
                code, resp = s.rcpt("bob@acme.example")
                if code != 250:
                    raise smtplib.SMTPResponseException(code, resp)
                code, resp = s.data(data)
                now = time.monotonic()
                if code == 250:
                    m = QUEUED_AS.search(resp)
                    with self.lock:
                        self.acked[mid] = (m.group(1).decode() if m else "?", data, now)
                else:
                    with self.lock:
                        (self.rejected if self.killed_at is None else self.failures).append(
                            (now, mid, f"{code} {resp!r}"))
                    s.rset()
                in_session += 1
                if in_session >= PER_SESSION:
                    s.quit()
                    s = None
            except (smtplib.SMTPException, OSError) as e:
                with self.lock:
                    self.failures.append((time.monotonic(), mid, f"{type(e).__name__}: {e}"))
                    killed = self.killed_at is not None
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
                s = None
                if killed:
                    return
                time.sleep(0.05)
        if s is not None:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def n_acked(self):
        with self.lock:
            return len(self.acked)

    def join(self, timeout=30):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, end - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def sink_by_msgid(sink):
    """message-id -> list of delivered data (without mailmoat's Received: header)."""
    out = {}
    with sink.lock:
        msgs = list(sink.messages)
    for m in msgs:
        found = MSGID.search(m["data"])
        key = found.group(1).decode().split("@")[0] if found else "?"
        out.setdefault(key, []).append(m["data"])
    return out


class KillNineTest(unittest.TestCase):
    def setUp(self):
        self.gw = harness.Gateway()
        self.addCleanup(self.gw.cleanup)

    def start_sink(self, port=None):
        sink = harness.Sink(port).start()
        self.addCleanup(sink.stop)
        return sink

    def load_and_kill(self, tag, kill_after_acked, sink=None):
        """Runs the load against the running gateway and SIGKILLs it mid-load. Returns the Load."""
        gw = self.gw
        load = Load(gw.port, tag).start()
        t0 = time.monotonic()
        try:
            harness.wait_until(lambda: load.n_acked() >= kill_after_acked or
                               not any(t.is_alive() for t in load.threads),
                               timeout=KILL_AFTER_S, interval=0.005, what="acknowledged messages")
        except AssertionError:
            pass  # slow machine: kill after KILL_AFTER_S whatever the count
        with load.lock:
            load.killed_at = time.monotonic()
            load.acked_before_kill = len(load.acked)
            attempted_before_kill = load.next_idx
        load.at_sink_before_kill = sink.count() if sink else 0
        gw.kill9()
        self.assertTrue(load.join(timeout=30), "client threads did not stop after the kill")
        load.load_s = load.killed_at - t0
        load.failed_after_kill = [f for f in load.failures if f[0] >= load.killed_at]
        failed_before_kill = [f for f in load.failures if f[0] < load.killed_at]

        # The kill happened mid-load: messages had been acknowledged, and attempts failed after it.
        self.assertGreater(load.acked_before_kill, 0, f"[{tag}] nothing was acknowledged before the kill")
        self.assertGreater(len(load.failed_after_kill), 0,
                           f"[{tag}] no client attempt failed after the kill: it did not happen mid-load")
        self.assertLess(attempted_before_kill, TOTAL, f"[{tag}] the load had already finished at the kill")
        self.assertEqual(failed_before_kill[:5] + load.rejected[:5], [],
                         f"[{tag}] attempts failed before the kill (the gateway should accept everything)")
        return load

    def verify(self, tag, loads, sink, restart_t, note=""):
        """Every message acknowledged in `loads` reaches the sink intact; reports duplicates."""
        gw = self.gw
        acked, sent = {}, {}
        for ld in loads:
            acked.update(ld.acked)
            sent.update(ld.sent)

        def all_arrived():
            got = sink_by_msgid(sink)
            return all(mid in got for mid in acked)

        try:
            harness.wait_until(all_arrived, timeout=DELIVERY_WAIT_S, interval=0.2,
                               what="every acknowledged message at the sink")
        except AssertionError:
            pass  # reported precisely below
        recovered_s = time.monotonic() - restart_t
        got = sink_by_msgid(sink)
        missing = sorted(mid for mid in acked if mid not in got)
        dups = {mid: len(v) for mid, v in got.items() if len(v) > 1}
        unacked_arrived = sorted(mid for mid in got if mid not in acked)
        corrupt = [mid for mid, (qid, data, _) in acked.items()
                   if mid in got and any(harness.strip_received(d) != data for d in got[mid])]
        unknown = [mid for mid in got if mid not in sent]

        phases = "; ".join(
            f"kill after {ld.load_s:.2f}s: attempted {len(ld.sent)}, acknowledged {len(ld.acked)} "
            f"({ld.acked_before_kill} before the kill signal), {len(ld.failed_after_kill)} attempts failed "
            f"after it, {ld.at_sink_before_kill} at the sink before it" for ld in loads)
        print(f"\n[{tag}] {note}{phases}; after the last restart: {sink.count()} deliveries of {len(got)} "
              f"distinct messages within {recovered_s:.1f}s; missing acknowledged: {len(missing)}; "
              f"duplicates: {len(dups)} messages ({sum(dups.values()) - len(dups)} extra copies); "
              f"unacknowledged but delivered: {len(unacked_arrived)}", file=sys.stderr)
        if missing:
            qids = [acked[m][0] for m in missing[:10]]
            self.fail(f"[{tag}] {len(missing)} acknowledged message(s) never arrived, e.g. {missing[:10]} "
                      f"(queue ids {qids}); queue now: {gw.queue_list()[:5]}\n{gw.stderr()[-3000:]}")
        self.assertEqual(corrupt, [], f"[{tag}] acknowledged messages arrived altered")
        self.assertEqual(unknown, [], f"[{tag}] the sink got messages nobody sent")

        # Whatever was durable but not acknowledged is delivered too: the queue drains.
        harness.wait_until(lambda: not gw.queue_list(), timeout=20, interval=0.25,
                           what="the queue to drain after recovery")
        return dict(acked=len(acked), dups=len(dups), missing=len(missing))

    def setup_domain(self, sink_up):
        sink_port = harness.free_port()
        sink = self.start_sink(sink_port) if sink_up else None
        self.gw.add_tenant_domain("acme", "acme.example", sink_port, tls="none")
        self.gw.start()
        return sink_port, sink

    def test_kill9_with_sink_up_loses_nothing_acknowledged(self):
        sink_port, sink = self.setup_domain(sink_up=True)
        load = self.load_and_kill("up", KILL_AFTER_ACKED, sink)
        restart_t = time.monotonic()
        self.gw.start()  # same var/ directory, same port
        self.verify("up", [load], sink, restart_t, "sink up during load: ")

    def test_kill9_with_sink_down_loses_nothing_acknowledged(self):
        sink_port, _ = self.setup_domain(sink_up=False)
        load = self.load_and_kill("down", KILL_AFTER_ACKED)
        restart_t = time.monotonic()
        sink = self.start_sink(sink_port)
        self.gw.start()
        r = self.verify("down", [load], sink, restart_t, "sink DOWN during load: ")
        # With the sink down nothing could have been delivered before the kill, so no duplicates.
        self.assertEqual(r["dups"], 0, "duplicates although nothing was delivered before the kill")

    def test_kill9_again_during_recovery(self):
        """Sink down, load, kill; restart with the sink up and kill again while the backlog is being
        delivered and new mail accepted; restart: both loads' acknowledged messages arrive."""
        sink_port, _ = self.setup_domain(sink_up=False)
        first = self.load_and_kill("twice-1", KILL_AFTER_ACKED)
        sink = self.start_sink(sink_port)
        self.gw.start()
        second = self.load_and_kill("twice-2", KILL_AFTER_ACKED // 3, sink)
        self.assertLess(second.at_sink_before_kill, first.n_acked() + second.acked_before_kill,
                        "the backlog was fully delivered before the second kill: not during recovery")
        restart_t = time.monotonic()
        self.gw.start()
        self.verify("twice", [first, second], sink, restart_t, "two kills, the second during recovery: ")


if __name__ == "__main__":
    harness.main()
