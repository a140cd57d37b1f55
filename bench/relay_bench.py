#!/usr/bin/python3
"""End-to-end relay benchmark: mailmoat against Postfix, measured in the same run.

Run it through bench/relay_bench.sh (which raises the fd limit). Everything listens on 127.0.0.1,
every loop is bounded in count and time, and every process started here is stopped at the end.

Measures, per target (smtp-source straight into smtp-sink = the harness's ceiling, mailmoat with
its durable spool, Postfix with its default fsyncing queue):
  * delivered msg/s: smtp-source (-s sessions, one -l byte message per connection) -> target ->
    smtp-sink writing every message to tmpfs; time from starting smtp-source until the sink has
    counted all N messages. Repeated --reps times, targets interleaved; median reported.
  * accepted msg/s (smtp-source got every 250) and server CPU ms per message.
  * open-loop end-to-end latency: a Python sender starts one connection per message at a fixed
    rate, stamping the *scheduled* send time in a header; a Python sink computes receive - stamp.
  * memory per idle SMTP connection (RSS/PSS before and after opening them).
  * the disk's raw 4 KiB pwrite+fdatasync rate on the filesystem holding both queues.
Markdown goes to stdout, progress to stderr.
"""
import argparse
import asyncio
import inspect
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
from test_postfix_interop import Postfix, postfix_unavailable  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NO_SCAN = {"enabled": False}
SENDER, RCPT = "a@sender.example", "b@acme.example"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# process accounting
def proc_cpu_s(pid, children=False):
    """utime+stime (and the reaped children's, if asked) of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    t = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        t += int(fields[13]) + int(fields[14])  # cutime, cstime
    return t / CLK_TCK


def proc_mem_kib(pid):
    """(RSS, PSS) in KiB."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def postfix_cpu_s(pf):
    """CPU of the whole Postfix instance: the master with its reaped children, plus live children."""
    pids = pf.pids()
    if not pids:
        return 0.0
    return proc_cpu_s(pids[0], children=True) + sum(proc_cpu_s(p) for p in pids[1:])


def postfix_mem_kib(pf):
    rss = pss = 0
    for p in pf.pids():
        r, s = proc_mem_kib(p)
        rss += r
        pss += s
    return rss, pss


# ---------------------------------------------------------------------------------------------
class SmtpSink:
    """Postfix's smtp-sink: writes every message to a file on tmpfs, counts them (-c)."""

    def __init__(self, dump_dir, port=None):
        self.port = port or harness.free_port()
        self.dir = dump_dir
        os.makedirs(self.dir, exist_ok=True)
        shutil.chown(self.dir, "postfix", "postfix")
        self.count = 0
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([SMTP_SINK, "-u", "postfix", "-c", "-d", os.path.join(self.dir, "m."),
                                      f"127.0.0.1:{self.port}", "1000"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        harness.wait_until(self._listening, 10, 0.05, "smtp-sink to listen")

    def _listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.settimeout(2)
                return s.recv(100).startswith(b"220")
        except OSError:
            return False

    def _read(self):
        buf = b""
        while True:
            chunk = self.proc.stdout.read1(65536)
            if not chunk:
                return
            buf += chunk
            *records, buf = buf.split(b"\r")
            for r in records:
                m = re.search(rb"mesg=(\d+)", r)
                if m:
                    with self.cond:
                        self.count = int(m.group(1))
                        self.cond.notify_all()

    def wait_count(self, n, timeout):
        """Monotonic time at which the counter reached n (None on timeout)."""
        end = time.monotonic() + timeout
        with self.cond:
            while self.count < n:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))
            return time.monotonic()

    def files(self):
        return sum(1 for _ in os.scandir(self.dir))

    def clear(self):
        for e in os.scandir(self.dir):
            os.unlink(e.path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_source(port, n, sessions, size, timeout):
    """smtp-source; returns (monotonic time at which it finished = all 250s received, its CPU s)."""
    p = subprocess.Popen([SMTP_SOURCE, "-l", str(size), "-m", str(n), "-s", str(sessions), "-f", SENDER,
                          "-t", RCPT, f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            raise RuntimeError(f"smtp-source to port {port} did not finish within {timeout}s")
        time.sleep(0.002)
    t = time.monotonic()
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        raise RuntimeError(f"smtp-source to port {port} failed ({p.returncode}): {err.strip()[:500]}")
    return t, ru.ru_utime + ru.ru_stime


def cpu_times():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])


def background_busy(seconds=0.5):
    """Share of the machine's CPU used while this benchmark is idle (other users of the box)."""
    b0, t0 = cpu_times()
    time.sleep(seconds)
    b1, t1 = cpu_times()
    return (b1 - b0) / max(1, t1 - t0)


def wait_quiet(limit, max_wait_s):
    """Waits (bounded) until the machine is quieter than `limit`; returns the last background share."""
    deadline = time.monotonic() + max_wait_s
    bg = background_busy()
    while bg > limit and time.monotonic() < deadline:
        log(f"  machine busy {bg:.0%} before a run (another build?): waiting")
        time.sleep(2)
        bg = background_busy()
    return bg


def throughput_run(name, port, sink, cpu_fn, n, sessions, size, timeout, quiet=(0.15, 60)):
    bg = wait_quiet(*quiet)
    sink.clear()
    base = sink.count
    cpu0 = cpu_fn()
    sink_cpu0 = proc_cpu_s(sink.proc.pid)
    m0 = cpu_times()
    t0 = time.monotonic()
    t_acc, src_cpu = run_source(port, n, sessions, size, timeout)
    t_del = sink.wait_count(base + n, max(1.0, timeout - (t_acc - t0)))
    m1 = cpu_times()
    cpu1 = cpu_fn()
    sink_cpu1 = proc_cpu_s(sink.proc.pid)
    if t_del is None:
        raise RuntimeError(f"{name}: only {sink.count - base} of {n} messages reached the sink in {timeout}s")
    files = sink.files()
    if files < n:
        raise RuntimeError(f"{name}: sink counted {n} but holds {files} files")
    el = t_del - t0
    res = {"delivered": n / el, "accepted": n / (t_acc - t0),
           "cpu_ms": (cpu1 - cpu0) * 1000.0 / n, "seconds": el,
           "machine_busy": (m1[0] - m0[0]) / max(1, m1[1] - m0[1]),
           "source_cpu_ms": src_cpu * 1000.0 / n, "sink_cpu_ms": (sink_cpu1 - sink_cpu0) * 1000.0 / n,
           "background_before": bg}
    log(f"  {name:9s} {res['delivered']:8.0f} msg/s delivered  {res['accepted']:8.0f} msg/s accepted  "
        f"{res['cpu_ms']:.2f} CPU ms/msg  ({el:.1f}s; machine {res['machine_busy']:.0%} busy, "
        f"smtp-source {res['source_cpu_ms']:.2f} + smtp-sink {res['sink_cpu_ms']:.2f} ms/msg; "
        f"background before {bg:.0%})")
    return res


# ---------------------------------------------------------------------------------------------
# open-loop latency
class LatencySink:
    """aiosmtpd sink recording receive time - X-Bench-Sent for every message."""

    STAMP = re.compile(rb"^X-Bench-Sent: ([0-9.]+)\r?$", re.M)

    def __init__(self, port):
        from aiosmtpd.controller import Controller
        self.port = port
        self.lat = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                now = time.time()
                m = sink.STAMP.search(envelope.original_content or b"")
                if m:
                    with sink.lock:
                        sink.lat.append(now - float(m.group(1)))
                return "250 2.0.0 ok"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port, decode_data=False)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()

    def n(self):
        with self.lock:
            return len(self.lat)


async def _reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def _send_one(port, stamp, i, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if await _reply(reader) != 220:
            raise RuntimeError("no 220")
        for cmd, want in ((b"EHLO lat.example", 250), (f"MAIL FROM:<{SENDER}>".encode(), 250),
                          (f"RCPT TO:<{RCPT}>".encode(), 250), (b"DATA", 354)):
            writer.write(cmd + b"\r\n")
            code = await _reply(reader)
            if code != want:
                raise RuntimeError(f"{cmd!r}: {code}")
        writer.write(f"From: <{SENDER}>\r\nTo: <{RCPT}>\r\nSubject: latency {i}\r\nMessage-ID: <lat{i}.{stamp}@bench>"
                     f"\r\nX-Bench-Sent: {stamp:.6f}\r\n\r\n".encode() + body + b".\r\n")
        if await _reply(reader) != 250:
            raise RuntimeError("DATA refused")
        writer.write(b"QUIT\r\n")
        await writer.drain()
    finally:
        writer.close()


async def _open_loop(port, rate, n, body, timeout):
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2
    w0 = time.time() + 0.2
    tasks = []
    for i in range(n):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_send_one(port, w0 + i / rate, i, body)))
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for t in pending:
        t.cancel()
    return sum(1 for t in done if t.exception() is None)


def latency_run(name, port, sink, rate, seconds, size):
    n = int(rate * seconds)
    body = b"".join(b"%05d" % k + b"X" * 73 + b"\r\n" for k in range(max(1, size // 80)))
    with sink.lock:
        sink.lat.clear()
    ok = asyncio.run(_open_loop(port, rate, n, body, timeout=seconds + 30))
    try:
        harness.wait_until(lambda: sink.n() >= ok, 30, 0.05, f"{name}: latency messages at the sink")
    except AssertionError:
        pass
    with sink.lock:
        lat = sorted(sink.lat)
    if not lat:
        raise RuntimeError(f"{name}: no latency sample arrived")

    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))] * 1000.0
    res = {"sent": n, "accepted": ok, "received": len(lat), "p50": pct(50), "p99": pct(99), "max": lat[-1] * 1000.0}
    log(f"  {name:9s} p50 {res['p50']:.1f} ms  p99 {res['p99']:.1f} ms  max {res['max']:.1f} ms "
        f"({res['received']}/{n} received, {ok} accepted)")
    return res


# ---------------------------------------------------------------------------------------------
def idle_connections(port, n, mem_fn, settle_s=1.5, timeout_s=60):
    """Opens n idle SMTP connections (each reads its 220 banner); returns memory deltas."""
    before = mem_fn()
    socks = []
    banners = 0
    deadline = time.monotonic() + timeout_s
    try:
        for _ in range(n):
            if time.monotonic() > deadline:
                break
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(s)
        for s in socks:
            if time.monotonic() > deadline:
                break
            s.settimeout(max(0.1, min(10, deadline - time.monotonic())))
            try:
                if s.recv(512).startswith(b"220"):
                    banners += 1
            except OSError:
                pass
        time.sleep(settle_s)
        after = mem_fn()
    finally:
        for s in socks:
            s.close()
    return {"opened": len(socks), "banners": banners, "rss_before": before[0], "rss_after": after[0],
            "pss_before": before[1], "pss_after": after[1],
            "rss_per_conn": (after[0] - before[0]) / max(1, banners),
            "pss_per_conn": (after[1] - before[1]) / max(1, banners)}


def fsync_rate(directory, seconds=2.0, append=False):
    """4 KiB pwrite + fdatasync: over a preallocated 4 MiB region, or appending."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        buf = os.urandom(4096)
        if not append:
            os.pwrite(fd, b"\0" * (4 << 20), 0)
            os.fsync(fd)
        n = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds and n < 1_000_000:
            off = n * 4096 if append else (n % 1024) * 4096
            os.pwrite(fd, buf, off)
            os.fdatasync(fd)
            n += 1
        return n / (time.monotonic() - t0)
    finally:
        os.close(fd)
        os.unlink(path)


def machine_info(directory):
    info = {"nproc": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1).strip() if m else "?"
    except OSError:
        info["cpu"] = "?"
    r = subprocess.run(["df", "-T", directory], capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    info["fs"] = " ".join(lines[-1].split()[:2]) if len(lines) > 1 else "?"
    dev = lines[-1].split()[0] if len(lines) > 1 else ""
    base = os.path.basename(dev)
    rot = f"/sys/block/{base}/queue/rotational"
    if os.path.exists(rot):
        info["disk"] = f"{dev} ({'rotational' if open(rot).read().strip() == '1' else 'non-rotational'}" + \
            (f", {open(f'/sys/block/{base}/queue/write_cache').read().strip()} cache)"
             if os.path.exists(f"/sys/block/{base}/queue/write_cache") else ")")
    else:
        info["disk"] = dev
    with open("/proc/meminfo") as f:
        info["mem_gib"] = round(int(f.readline().split()[1]) / 1048576, 1)
    info["kernel"] = os.uname().release
    pv = subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"], capture_output=True, text=True)
    info["postfix"] = pv.stdout.strip()
    mv = subprocess.run([harness.BIN, "version"], capture_output=True, text=True)
    info["mailmoat"] = mv.stdout.strip()
    build_type = "?"
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(harness.BIN)))),
                         "CMakeCache.txt")
    if os.path.exists(cache):
        m = re.search(r"CMAKE_BUILD_TYPE:STRING=(.*)", open(cache).read())
        build_type = m.group(1) if m else "?"
    info["build"] = build_type
    return info


# ---------------------------------------------------------------------------------------------
def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000, help="messages per throughput run (default 5000)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=20, help="parallel smtp-source sessions")
    ap.add_argument("--size", type=int, default=8200, help="payload bytes per message (smtp-source -l)")
    ap.add_argument("--run-timeout", type=float, default=180, help="bound on one throughput run (s)")
    ap.add_argument("--latency-rate", type=float, default=0,
                    help="open-loop msg/s (default: half the Postfix median throughput, 50..300)")
    ap.add_argument("--latency-seconds", type=float, default=10)
    ap.add_argument("--idle-conns", type=int, default=5000)
    ap.add_argument("--postfix-idle-conns", type=int, default=100,
                    help="Postfix: one smtpd process per session, default_process_limit = 100")
    ap.add_argument("--no-postfix", action="store_true")
    ap.add_argument("--no-scan-variant", action="store_true",
                    help="skip mailmoat with its default configuration (content scanning on)")
    ap.add_argument("--quiet-limit", type=float, default=0.15,
                    help="before each run wait until other processes use less than this share of the CPU")
    ap.add_argument("--quiet-wait", type=float, default=120, help="but wait at most this long (s)")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--connection-variant", action="store_true",
                    help="also the pure relay with connection control on ([connection] defaults)")
    a = ap.parse_args()
    if not (1 <= a.messages <= 200000 and 1 <= a.reps <= 10 and 1 <= a.idle_conns <= 15000):
        ap.error("bounds: 1..200000 messages, 1..10 reps, 1..15000 idle connections")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.idle_conns + 500
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))

    use_postfix = not a.no_postfix
    if use_postfix and postfix_unavailable():
        log(f"Postfix unavailable: {postfix_unavailable()}; running without it")
        use_postfix = False

    work = tempfile.mkdtemp(prefix="mm-bench-")       # on disk: both queues
    os.chmod(work, 0o755)  # Postfix's daemons (user postfix) must reach their queue inside it
    shm = tempfile.mkdtemp(prefix="mm-bench-", dir="/dev/shm")  # the sinks' files
    os.chmod(shm, 0o755)
    procs = []
    extra_cleanup = []
    gw = pf = None
    results = {"args": vars(a)}

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    try:
        results["machine"] = info = machine_info(work)
        info["loadavg"] = open("/proc/loadavg").read().split()[0]
        info["background"] = background_busy(1.0)
        log(f"machine: {info}")
        log("raw fsync rate ...")
        wait_quiet(a.quiet_limit, a.quiet_wait)
        results["fsync"] = {"overwrite": fsync_rate(work), "append": fsync_rate(work, append=True)}
        log(f"  4 KiB pwrite+fdatasync: {results['fsync']['overwrite']:.0f}/s overwrite, "
            f"{results['fsync']['append']:.0f}/s append")

        # mailmoat twice: as a pure relay ([scan] enabled = false: the same job as the Postfix
        # relay) and with its default configuration (content scanning on), when this build scans.
        smtp_limits = {"max_sessions": a.idle_conns + 1000, "max_sessions_per_ip": a.idle_conns + 1000}
        has_scan = "scan" in inspect.signature(harness.Gateway).parameters
        if has_scan:
            probe = harness.Gateway(tmp=tempfile.mkdtemp(prefix="mm-probe-", dir=work), scan=NO_SCAN)
            has_scan = probe.cli("check-config", check=False).returncode == 0
            probe.cleanup()
        variants = {"mailmoat": {"scan": NO_SCAN} if has_scan else {}}
        if has_scan and not a.no_scan_variant:
            variants["mailmoat-scan"] = {}
        results["has_scan"] = has_scan
        if a.connection_variant:
            variants["mailmoat-conn"] = {"scan": NO_SCAN, "connection": {"enabled": True}}

        names = ["direct", *variants] + (["postfix"] if use_postfix else [])
        sinks = {n: SmtpSink(os.path.join(shm, n)) for n in names}
        procs.extend(sinks.values())
        targets = {"direct": (sinks["direct"].port, lambda: 0.0)}
        gws = {}
        for n, extra in variants.items():
            g = harness.Gateway(tmp=tempfile.mkdtemp(prefix="mm-gw-", dir=work), smtp=smtp_limits, **extra)
            extra_cleanup.append(g.cleanup)
            g.add_tenant_domain("acme", "acme.example", sinks[n].port, tls="none")
            g.start()
            gws[n] = g
            targets[n] = (g.port, lambda pid=g.proc.pid: proc_cpu_s(pid))
        gw = gws["mailmoat"]
        if use_postfix:
            pf = Postfix(relayhost=f"[127.0.0.1]:{sinks['postfix'].port}", relay_domains="acme.example",
                         tmp=tempfile.mkdtemp(prefix="mm-pf-", dir=work))
            pf.start()
            targets["postfix"] = (pf.port, lambda: postfix_cpu_s(pf))

        log(f"warm-up ({max(100, a.messages // 10)} messages each) ...")
        for name, (port, cpu_fn) in targets.items():
            throughput_run(name, port, sinks[name], cpu_fn, max(100, a.messages // 10), a.sessions, a.size,
                           a.run_timeout, (a.quiet_limit, a.quiet_wait))
        runs = {name: [] for name in targets}
        for rep in range(a.reps):
            log(f"throughput rep {rep + 1}/{a.reps}: {a.messages} x {a.size} bytes, {a.sessions} sessions")
            for name, (port, cpu_fn) in targets.items():
                runs[name].append(throughput_run(name, port, sinks[name], cpu_fn, a.messages, a.sessions, a.size,
                                                 a.run_timeout, (a.quiet_limit, a.quiet_wait)))
                time.sleep(1.0)
        results["throughput"] = runs

        # Latency: swap the smtp-sinks for time-stamping Python sinks on the same ports.
        for s in sinks.values():
            s.stop()
            s.clear()
        lat_sinks = {name: LatencySink(s.port).start() for name, s in sinks.items()}
        procs.extend(lat_sinks.values())
        time.sleep(2.5)  # cached downstream connections to the old sinks expire
        if a.latency_rate:
            rate = a.latency_rate
        elif use_postfix:
            rate = min(300.0, max(50.0, 0.5 * median([r["delivered"] for r in runs["postfix"]])))
        else:
            rate = 100.0
        results["latency_rate"] = rate
        log(f"open-loop latency at {rate:.0f} msg/s for {a.latency_seconds:.0f}s ...")
        results["latency"] = {}
        for name, (port, _) in targets.items():
            wait_quiet(a.quiet_limit, a.quiet_wait)
            results["latency"][name] = latency_run(name, port, lat_sinks[name], rate, a.latency_seconds, a.size)

        # Idle connections, on fresh instances: freed heap and lingering smtpd processes from the
        # runs above would otherwise absorb part of the new connections' memory.
        log(f"idle connections: {a.idle_conns} to a fresh mailmoat" +
            (f", {a.postfix_idle_conns} to a fresh Postfix" if use_postfix else "") + " ...")
        gw_idle = harness.Gateway(tmp=tempfile.mkdtemp(prefix="mm-gw-idle-", dir=work), smtp=smtp_limits)
        extra_cleanup.append(gw_idle.cleanup)
        gw_idle.start()
        time.sleep(1.0)
        results["idle"] = {"mailmoat": idle_connections(gw_idle.port, a.idle_conns,
                                                         lambda: proc_mem_kib(gw_idle.proc.pid))}
        gw_idle.cleanup()
        if use_postfix:
            pf_idle = Postfix(relayhost="[127.0.0.1]:9", relay_domains="acme.example",
                              tmp=tempfile.mkdtemp(prefix="mm-pf-idle-", dir=work))
            extra_cleanup.append(pf_idle.cleanup)
            pf_idle.start()
            time.sleep(1.0)
            results["idle"]["postfix"] = idle_connections(pf_idle.port, a.postfix_idle_conns,
                                                          lambda: postfix_mem_kib(pf_idle), settle_s=3.0)
            pf_idle.cleanup()
        for k, v in results["idle"].items():
            log(f"  {k}: {v}")
    finally:
        for p in procs:
            try:
                p.stop()
            except Exception as e:  # noqa: BLE001 - cleanup must go on
                log(f"cleanup: {e}")
        for fn in extra_cleanup:
            fn()
        if gw:
            gw.cleanup()
        if pf:
            pf.cleanup()
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results, use_postfix))


def report(r, use_postfix):
    a = r["args"]
    m = r["machine"]
    tp = r["throughput"]
    names = list(tp)
    label = {"direct": "smtp-source → smtp-sink (ceiling)",
             "mailmoat": "mailmoat relay (spool fsync on" + (", scan off)" if r.get("has_scan") else ")"),
             "mailmoat-scan": "mailmoat default config (spool fsync on, scanning on)",
             "mailmoat-conn": "mailmoat relay with connection control (scan off)",
             "postfix": "Postfix relay (default fsync)"}
    keys = ("delivered", "accepted", "cpu_ms", "machine_busy", "source_cpu_ms", "sink_cpu_ms", "background_before")
    med = {n: {k: median([x[k] for x in tp[n]]) for k in keys} for n in names}
    out = []
    out.append(f"Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB RAM, kernel {m['kernel']}; "
               f"queues on {m['fs']} ({m['disk']}); sinks on tmpfs. {m['mailmoat']} ({m['build']}), "
               f"Postfix {m['postfix']}.")
    out.append(f"Raw disk: 4 KiB pwrite+fdatasync {r['fsync']['overwrite']:,.0f}/s (same 4 MiB region), "
               f"{r['fsync']['append']:,.0f}/s (appending).")
    out.append("")
    out.append(f"Load: smtp-source -s {a['sessions']} -l {a['size']} -m {a['messages']}, one message per "
               f"connection, one recipient; {a['reps']} interleaved runs per pipeline.")
    out.append("")
    out.append("| pipeline | delivered msg/s (median) | runs | accepted msg/s (median) | server CPU ms/msg | "
               f"machine CPU busy | open-loop p50 / p99 / max ms at {r['latency_rate']:.0f} msg/s |")
    out.append("|---|---|---|---|---|---|---|")
    for n in names:
        lat = r["latency"][n]
        runs = " / ".join(f"{x['delivered']:,.0f}" for x in tp[n])
        cpu = "-" if n == "direct" else f"{med[n]['cpu_ms']:.2f}"
        out.append(f"| {label[n]} | **{med[n]['delivered']:,.0f}** | {runs} | {med[n]['accepted']:,.0f} | {cpu} | "
                   f"{med[n]['machine_busy']:.0%} | "
                   f"{lat['p50']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f} ({lat['received']}/{lat['sent']}) |")
    if use_postfix:
        out.append("")
        for v in [n for n in names if n.startswith("mailmoat")]:
            ratio = med[v]["delivered"] / med["postfix"]["delivered"]
            per_run = " / ".join(f"{x['delivered'] / y['delivered']:.2f}" for x, y in zip(tp[v], tp["postfix"]))
            out.append(f"- **{label[v]} / Postfix delivered throughput: {ratio:.2f}x** (per run: {per_run}); "
                       f"accepted: {med[v]['accepted'] / med['postfix']['accepted']:.2f}x; "
                       f"server CPU per message: {med[v]['cpu_ms'] / med['postfix']['cpu_ms']:.2f}x; "
                       f"open-loop p50 latency: {r['latency'][v]['p50'] / r['latency']['postfix']['p50']:.2f}x; "
                       f"{med[v]['delivered'] / med['direct']['delivered']:.0%} of the harness ceiling.")
    if "mailmoat-conn" in names:
        per_run = " / ".join(f"{x['delivered'] / y['delivered']:.2f}" for x, y in zip(tp["mailmoat-conn"], tp["mailmoat"]))
        out.append("")
        out.append(f"- **with / without connection control, delivered throughput: "
                   f"{med['mailmoat-conn']['delivered'] / med['mailmoat']['delivered']:.2f}x** (per run: {per_run}); "
                   f"server CPU per message: {med['mailmoat-conn']['cpu_ms'] / med['mailmoat']['cpu_ms']:.2f}x.")
    out.append("")
    gen = "; ".join(f"{n}: smtp-source {med[n]['source_cpu_ms']:.2f} + smtp-sink {med[n]['sink_cpu_ms']:.2f}"
                    for n in names)
    bgs = [x["background_before"] for n in names for x in tp[n]]
    out.append(f"Load generator and sink CPU (ms/msg, same 2 cores): {gen}. Other processes used at most "
               f"{max(bgs):.0%} of the CPU just before a measured run ({m['background']:.0%} at start, "
               f"load average {m['loadavg']}).")
    out.append("")
    out.append("| idle SMTP connections | opened (banner read) | RSS before → after | per connection |")
    out.append("|---|---|---|---|")
    for n, v in r["idle"].items():
        what = "mailmoat (one process)" if n == "mailmoat" else "Postfix (all processes; one smtpd per session)"
        out.append(f"| {what} | {v['opened']:,} ({v['banners']:,}) | {v['rss_before'] / 1024:.1f} → "
                   f"{v['rss_after'] / 1024:.1f} MiB (PSS {v['pss_before'] / 1024:.1f} → {v['pss_after'] / 1024:.1f}) | "
                   f"{v['rss_per_conn']:.1f} KiB RSS, {v['pss_per_conn']:.1f} KiB PSS |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
