#!/usr/bin/python3
"""Per-message scan latency with parallel checks on and off, same clamd, same messages, same run.

Run it through bench/parallel_checks_bench.sh. One clamd is started on TCP loopback (127.0.0.1, a
free port) with the project's signature database and av_bench's settings (DisableCache: real mail
is new every time). Two sets of messages, bounded:

  * with attachments: av_bench's generated messages (~1 MB PDF, DOCX, XLSX, zip of text files)
  * without: the SpamAssassin test split of the accuracy benchmark (bench/accuracy/corpus.sh,
    cached in MAILMOAT_CACHE), the first N/2 ham and N/2 spam; generated text messages when the
    cache is absent (say so in the table)

The classifier is trained first (--train-each messages of each class of the corpus' train split, or
generated ones), so BAYES symbols and the learnt weights are on as in production (the rescorer then
keeps every check running: no early stop). Two `mailmoat scan --json` configurations with
`[antivirus] mode = "external"` on that clamd: the full engine serial (`parallel_checks = false`)
and parallel; each message's `elapsed_us` (the engine's scan, parsing excluded) is collected. The
peer: the clamd round trip alone for the same files (INSTREAM from this script, one connection per
message as mailmoat does), and the engine without the antivirus (`[antivirus] enabled = false`):
the CPU checks alone. Serial is about the sum of the two, parallel at best the larger one. Repetitions are interleaved (serial and parallel in alternating order);
medians and 95th percentiles over all messages and repetitions. Verdicts must be identical between serial and parallel (checked, per file).
Markdown on stdout, progress on stderr; clamd is stopped at the end; every loop is bounded.
"""
import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import av_bench  # noqa: E402  (message generators, paths)

ROOT = av_bench.ROOT
BIN = av_bench.BIN
SIGNATURES = av_bench.SIGNATURES
log = av_bench.log
WORDS = ("meeting agenda project review quarterly report attached draft budget schedule team lunch "
         "thursday minutes deadline design document feedback release notes offer discount winner").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


def split_dir():
    d = os.path.join(os.environ.get("MAILMOAT_CACHE", os.path.expanduser("~/.cache/mailmoat")), "split-v1")
    return d if os.path.isdir(os.path.join(d, "test", "ham")) else None


def text_message(i, spam):
    rnd = random.Random(i)
    body = " ".join(rnd.choice(WORDS) for _ in range(300))
    return (f"From: s{i}@x{i % 9}.example\r\nTo: bob@acme.example\r\nSubject: note {i} {'win' if spam else 'hi'}\r\n"
            f"Message-ID: <t{i}@x.example>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n").encode()


def copy_first(src, dst, n, prefix):
    names = sorted(os.listdir(src))[:n]
    for name in names:
        shutil.copyfile(os.path.join(src, name), os.path.join(dst, prefix + name))
    return len(names)


def clamd_round_trips(port, directory):
    """ms per file: connect, INSTREAM the raw file in 64 KiB chunks, read the answer."""
    out = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(b"zINSTREAM\0")
            for i in range(0, len(data), 65536):
                chunk = data[i:i + 65536]
                s.sendall(len(chunk).to_bytes(4, "big") + chunk)
            s.sendall(b"\0\0\0\0")
            reply = b""
            while not reply.endswith(b"\0"):
                part = s.recv(4096)
                if not part:
                    break
                reply += part
        out.append((time.perf_counter() - t0) * 1000)
        assert reply.endswith(b"OK\0"), reply
    return out


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def scan(config, directory):
    r = subprocess.run([BIN, "-c", config, "scan", "--json", directory], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"mailmoat scan exited {r.returncode}: {r.stderr.decode()[-500:]}")
    out = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            v = json.loads(line)
            out[os.path.basename(v.pop("file"))] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attachments", type=int, default=24, help="messages with attachments")
    ap.add_argument("--plain", type=int, default=200, help="messages without attachments")
    ap.add_argument("--train-each", type=int, default=300)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(SIGNATURES, "mailmoat.ndb")):
        sys.exit(f"parallel_checks_bench: {SIGNATURES} has no signatures: build mailmoat first")
    tmp = tempfile.mkdtemp(prefix="mm-parbench-")
    shm = tempfile.mkdtemp(prefix="mm-parbench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    clamd = None
    try:
        att = os.path.join(tmp, "attachments")
        plain = os.path.join(tmp, "plain")
        train = os.path.join(tmp, "train")
        for d in (att, plain, train + "/spam", train + "/ham"):
            os.makedirs(d)
        log(f"generating {args.attachments} messages with attachments ...")
        _, att_bytes = av_bench.make_corpus(att, args.attachments)
        split = split_dir()
        if split:
            n = copy_first(os.path.join(split, "test", "ham"), plain, args.plain // 2, "h")
            n += copy_first(os.path.join(split, "test", "spam"), plain, args.plain - n, "s")
            copy_first(os.path.join(split, "train", "spam"), train + "/spam", args.train_each, "")
            copy_first(os.path.join(split, "train", "ham"), train + "/ham", args.train_each, "")
            plain_what = f"{n} SpamAssassin corpus messages (test split: ham, then spam)"
        else:
            for i in range(args.plain):
                with open(os.path.join(plain, f"t{i}.eml"), "wb") as f:
                    f.write(text_message(i, i % 2))
            for i in range(args.train_each):
                for kind in ("spam", "ham"):
                    with open(os.path.join(train, kind, f"{i}.eml"), "wb") as f:
                        f.write(text_message(10000 + 2 * i + (kind == "spam"), kind == "spam"))
            plain_what = f"{args.plain} generated text messages (no corpus cache)"

        port = free_port()
        clamd, _ = av_bench.start_clamd(tmp, shm, f"TCPSocket {port}\nTCPAddr 127.0.0.1\n", lambda: ping(port))

        var = os.path.join(tmp, "var")  # one store: the trained model serves every configuration
        cfgs = {}
        for key in ("serial", "parallel", "CPU checks alone (no antivirus)"):
            c = os.path.join(tmp, key.split()[0] + ".toml")
            with open(c, "w") as f:
                f.write(f'[server]\nvar_dir = "{var}"\n[scan]\nrules_dir = "{ROOT}/rules"\ndate_checks = false\n'
                        f'parallel_checks = {str(key == "parallel").lower()}\n[antivirus]\nmode = "external"\n'
                        f'socket = "127.0.0.1:{port}"\nenabled = {"false" if key.startswith("CPU") else "true"}\n'
                        f'[log]\nfile = "-"\nstderr_level = "off"\n')
            cfgs[key] = c
        log("training the classifier ...")
        r = subprocess.run([BIN, "-c", cfgs["serial"], "train", "--spam", train + "/spam", "--ham", train + "/ham"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
        if r.returncode != 0:
            sys.exit(f"train failed: {r.stderr.decode()[-500:]}")

        sets = {"with attachments": att, "without attachments": plain}
        kinds = list(cfgs) + ["clamd round trip alone"]
        lat = {(s, k): [] for s in sets for k in kinds}
        for rep in range(args.reps):
            for sname, d in sets.items():
                verdicts = {}
                for key, c in (list(cfgs.items()) if rep % 2 == 0 else list(cfgs.items())[::-1]):
                    out = scan(c, d)
                    lat[(sname, key)] += [v["elapsed_us"] / 1000 for v in out.values()]
                    for v in out.values():
                        del v["elapsed_us"]
                    verdicts[key] = out
                    log(f"rep {rep + 1}/{args.reps} {sname} {key}: median "
                        f"{statistics.median(v for v in lat[(sname, key)][-len(out):]):.2f} ms")
                lat[(sname, kinds[-1])] += clamd_round_trips(port, d)
                a, b = verdicts["serial"], verdicts["parallel"]
                assert sorted(a) == sorted(b) and len(a) == len(os.listdir(d)), (len(a), len(b))
                diff = [k for k in a if a[k] != b[k]]
                assert not diff, f"serial and parallel verdicts differ for {diff[:5]}"
                assert not any(v.get("error") for v in b.values()), [v for v in b.values() if v.get("error")][:2]

        print(f"Messages with attachments: {args.attachments} generated by av_bench ({att_bytes / 1e6:.1f} MB); "
              f"without: {plain_what}. Classifier trained on {args.train_each} spam + {args.train_each} ham. "
              f"clamd on 127.0.0.1 TCP. {args.reps} interleaved repetitions; per-message `elapsed_us` of "
              f"`mailmoat scan --json` (the engine's scan, parsing excluded), all messages and repetitions pooled. "
              f"Serial and parallel verdicts identical for every message in every repetition.\n")
        print("| messages | configuration | median ms | p95 ms | median vs serial | p95 vs serial |")
        print("|---|---|---|---|---|---|")
        for sname in sets:
            base_m = statistics.median(lat[(sname, "serial")])
            base_p = percentile(lat[(sname, "serial")], 0.95)
            for key in kinds:
                xs = lat[(sname, key)]
                m, p = statistics.median(xs), percentile(xs, 0.95)
                print(f"| {sname} | {key} | {m:.2f} | {p:.2f} | {m / base_m:.2f}x | {p / base_p:.2f}x |")
        print("\nmedian per repetition (ms): " + "; ".join(
            f"{s} {k}: " + ", ".join(
                f"{statistics.median(lat[(s, k)][i * n:(i + 1) * n]):.2f}" for i in range(args.reps))
            for (s, k), n in ((key, len(os.listdir(sets[key[0]]))) for key in lat)))
    finally:
        av_bench.stop_clamd(clamd)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
