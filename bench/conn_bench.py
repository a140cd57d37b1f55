#!/usr/bin/env python3
"""Connection control benchmark: SMTP sessions per second that mailmoat refuses for a client
listed in a DNS block list (connect, EHLO, MAIL, RCPT -> 554, QUIT), against the same dialogue
from an unlisted client (RCPT -> 250, then QUIT) and against a mailmoat without connection
control, all in the same run (medians of --reps interleaved runs). A dnsmasq on loopback serves
the list; listed and unlisted clients are distinct 127.x source addresses.

    /usr/bin/python3 bench/conn_bench.py [--sessions 2000] [--threads 8] [--reps 3]
"""
import argparse
import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from test_auth import Dnsmasq  # noqa: E402

LISTED, UNLISTED = "127.0.2.5", "127.0.3.5"


def session(port, src):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(src, 0))
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                raise EOFError
            if line[3:4] != b"-":
                return int(line[:3])

    reply()
    s.sendall(b"EHLO bench.example\r\n")
    reply()
    s.sendall(b"MAIL FROM:<a@bench.example>\r\n")
    reply()
    s.sendall(b"RCPT TO:<bob@acme.example>\r\n")
    code = reply()
    s.sendall(b"QUIT\r\n")
    reply()
    f.close()
    s.close()
    return code


def run(port, src, n, threads):
    codes = {}
    lock = threading.Lock()
    left = [n]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            c = session(port, src)
            with lock:
                codes[c] = codes.get(c, 0) + 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    return n / (time.monotonic() - t0), codes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    dns = Dnsmasq(["--txt-record=ready.test,ok", f"--host-record=5.2.0.127.bl.test,127.0.0.2"])
    sink = harness.Sink().start()
    gws = {}
    try:
        common = {"scan": {"enabled": False}, "smtp": {"max_sessions_per_ip": 10000},
                  "dns": {"servers": f"127.0.0.1:{dns.port}"}}
        gws["on"] = harness.Gateway(connection={"dns_lists": ["bl.test*3"]}, **common)
        gws["off"] = harness.Gateway(**common)
        for g in gws.values():
            g.add_tenant_domain("acme", "acme.example", sink.port)
            g.start()
        cases = [("listed client, connection control on (554 at RCPT)", "on", LISTED),
                 ("unlisted client, connection control on (250 at RCPT)", "on", UNLISTED),
                 ("same client, connection control off (250 at RCPT)", "off", LISTED)]
        for _, g, src in cases:  # warm-up (and the DNS cache)
            run(gws[g].port, src, 200, a.threads)
        rates = {c[0]: [] for c in cases}
        codes = {}
        for _ in range(a.reps):
            for name, g, src in cases:
                r, cs = run(gws[g].port, src, a.sessions, a.threads)
                rates[name].append(r)
                codes[name] = cs
        print(f"{a.sessions} sessions x {a.reps} runs, {a.threads} client threads, medians:\n")
        print("| case | sessions/s (median) | runs | RCPT replies (last run) |")
        print("|---|---|---|---|")
        for name in rates:
            print(f"| {name} | **{statistics.median(rates[name]):,.0f}** | "
                  f"{' / '.join(f'{x:,.0f}' for x in rates[name])} | {codes[name]} |")
        base = statistics.median(rates[cases[2][0]])
        print(f"\nratios to connection control off: listed {statistics.median(rates[cases[0][0]]) / base:.2f}x, "
              f"unlisted {statistics.median(rates[cases[1][0]]) / base:.2f}x")
    finally:
        for g in gws.values():
            g.cleanup()
        sink.stop()
        dns.stop()


if __name__ == "__main__":
    main()
