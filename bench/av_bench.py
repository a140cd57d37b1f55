#!/usr/bin/python3
"""Antivirus scan throughput: `mailmoat scan` against `clamdscan`, same clamd, same files, same run.

Run it through bench/av_bench.sh. It generates messages with attachments (nothing is committed):
~1 MB PDFs (a binary stream of incompressible bytes, like embedded images), Word and Excel OOXML
documents, zips of text files, each base64-encoded in a MIME message with a text body. One clamd
is started with the project's signature database (build/signatures) and the settings mailmoat's
managed clamd uses (tmpfs TemporaryDirectory, AlertExceedsMax, AlertEncryptedArchive, the same
limits) and its result cache off (DisableCache: every repetition would otherwise be answered
from the cache, while real mail is new every time), on a Unix socket in a temporary directory;
both tools talk to it:

  * clamdscan --stream: one INSTREAM per file, sequential (the same protocol mailmoat uses)
  * clamdscan: clamd opens each file by path (clamdscan's default, no copying over the socket)
  * mailmoat scan, antivirus + attachments only (an empty rules directory, untrained classifier)
  * mailmoat scan, full engine (the project's rules, heuristics, untrained classifier)

Each command processes all files once per repetition; repetitions are interleaved; medians are
reported with the ratio to clamdscan --stream. Before timing, one EICAR-in-zip message checks that
both tools detect malware through this clamd. Markdown on stdout, progress on stderr. Every
process started here is stopped at the end; every loop is bounded.
"""
import argparse
import io
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from email.message import EmailMessage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("MAILMOAT_BIN") or os.path.join(ROOT, "build", "src", "cli", "mailmoat")
BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(BIN))))
SIGNATURES = os.path.join(BUILD, "signatures")
SAMPLES = os.path.join(BUILD, "signature-samples")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def pdf(rnd, size):
    blob = rnd.randbytes(size)
    return (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /XObject << /Im1 4 0 R >> >> >>\nendobj\n"
            b"4 0 obj\n<< /Type /XObject /Subtype /Image /Width 512 /Height 512 /BitsPerComponent 8 "
            b"/Filter /DCTDecode /Length " + str(size).encode() + b" >>\nstream\n" + blob +
            b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def ooxml(rnd, kind):
    words = "budget review quarter revenue forecast meeting project plan customer report".split()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        if kind == "docx":
            text = " ".join(rnd.choice(words) for _ in range(40000))
            z.writestr("word/document.xml", f"<w:document><w:body><w:p><w:t>{text}</w:t></w:p></w:body></w:document>")
            z.writestr("word/media/image1.jpeg", rnd.randbytes(400_000), zipfile.ZIP_STORED)
        else:
            rows = "".join(f'<row r="{i}"><c><v>{rnd.random():.6f}</v></c><c><v>{rnd.randint(0, 10**6)}</v></c></row>'
                           for i in range(20000))
            z.writestr("xl/worksheets/sheet1.xml", f"<worksheet><sheetData>{rows}</sheetData></worksheet>")
            z.writestr("xl/media/image1.png", rnd.randbytes(300_000), zipfile.ZIP_STORED)
    return out.getvalue()


def text_zip(rnd):
    words = "alpha beta gamma delta report minutes agenda notes draft final".split()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(20):
            z.writestr(f"notes/file{i}.txt", " ".join(rnd.choice(words) for _ in range(8000)))
    return out.getvalue()


def message(i, data, name, maintype, subtype):
    m = EmailMessage()
    m["From"] = f"sender{i}@partner.example"
    m["To"] = "someone@acme.example"
    m["Subject"] = f"Document {i}: {name}"
    m["Message-ID"] = f"<bench{i}@partner.example>"
    m["Date"] = "Wed, 25 Nov 2026 10:00:00 +0000"
    m.set_content(f"Hello,\n\nplease find {name} attached.\n\nRegards\n")
    m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def make_corpus(d, n):
    rnd = random.Random(4)
    total = 0
    paths = []
    for i in range(n):
        k = i % 4
        if k == 0:
            data, name, mt, st = pdf(rnd, 1_000_000), f"scan{i}.pdf", "application", "pdf"
        elif k == 1:
            data, name, mt, st = ooxml(rnd, "docx"), f"letter{i}.docx", "application", \
                "vnd.openxmlformats-officedocument.wordprocessingml.document"
        elif k == 2:
            data, name, mt, st = ooxml(rnd, "xlsx"), f"sheet{i}.xlsx", "application", \
                "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            data, name, mt, st = text_zip(rnd), f"notes{i}.zip", "application", "zip"
        raw = message(i, data, name, mt, st)
        p = os.path.join(d, f"m{i:04d}.eml")
        with open(p, "wb") as f:
            f.write(raw)
        total += len(raw)
        paths.append(p)
    return paths, total


def ping(sock_path):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(sock_path)
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


def start_clamd(tmp, shm, listen, ready):
    """clamd with the project's signatures and the managed clamd's settings, its cache off; `listen`
    holds its LocalSocket or TCPSocket lines, `ready()` says when it answers. (process, conf path)."""
    conf = os.path.join(tmp, "clamd.conf")
    with open(conf, "w") as f:
        f.write(f"Foreground yes\n{listen}DatabaseDirectory {SIGNATURES}\nTemporaryDirectory {shm}\n"
                f"LogFile {tmp}/clamd.log\nMaxThreads 8\nStreamMaxLength {65 << 20}\nMaxScanSize {64 << 20}\n"
                f"MaxFileSize {32 << 20}\nMaxRecursion 8\nMaxFiles 1000\nAlertExceedsMax yes\n"
                f"AlertEncryptedArchive yes\nSelfCheck 0\nDisableCache yes\n")
    clamd = subprocess.Popen(["/usr/sbin/clamd", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not ready():
        if time.time() > deadline or clamd.poll() is not None:
            stop_clamd(clamd)
            sys.exit("clamd did not start (see clamd.log)")
        time.sleep(0.05)
    return clamd, conf


def stop_clamd(clamd):
    if clamd and clamd.poll() is None:
        clamd.send_signal(signal.SIGTERM)
        try:
            clamd.wait(10)
        except subprocess.TimeoutExpired:
            clamd.kill()
            clamd.wait()


def timed(cmd, ok_codes=(0,)):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    dt = time.perf_counter() - t0
    if r.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {r.returncode}: {r.stderr.decode()[-500:]}")
    return dt, r.stdout.decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=40)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(SIGNATURES, "mailmoat.ndb")):
        sys.exit(f"av_bench: {SIGNATURES} has no signatures: build mailmoat first")
    tmp = tempfile.mkdtemp(prefix="mm-avbench-")
    shm = tempfile.mkdtemp(prefix="mm-avbench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    clamd = None
    try:
        corpus = os.path.join(tmp, "corpus")
        os.makedirs(corpus)
        log(f"generating {args.messages} messages ...")
        paths, total = make_corpus(corpus, args.messages)
        sock = os.path.join(tmp, "clamd.sock")
        clamd, conf = start_clamd(tmp, shm, f"LocalSocket {sock}\n", lambda: ping(sock))
        rules_empty = os.path.join(tmp, "no-rules")
        os.makedirs(rules_empty)
        cfgs = {}
        for key, rules in (("av", rules_empty), ("full", os.path.join(ROOT, "rules"))):
            c = os.path.join(tmp, f"{key}.toml")
            with open(c, "w") as f:
                f.write(f'[server]\nvar_dir = "{tmp}/var-{key}"\n[scan]\nrules_dir = "{rules}"\ndate_checks = false\n'
                        f'[antivirus]\nmode = "external"\nsocket = "{sock}"\n[log]\nfile = "-"\nstderr_level = "off"\n'
                        # the links check reads its data files from the rules directory
                        + ("[links]\nenabled = false\n" if key == "av" else ""))
            cfgs[key] = c

        # Sanity: both detect malware through this clamd.
        ez = io.BytesIO()
        with zipfile.ZipFile(ez, "w") as z:
            z.writestr("eicar.com", open(os.path.join(SAMPLES, "eicar.com"), "rb").read())
        bad = os.path.join(tmp, "bad.eml")
        with open(bad, "wb") as f:
            f.write(message(0, ez.getvalue(), "e.zip", "application", "zip"))
        _, out = timed(["clamdscan", "-c", conf, "--stream", "--no-summary", bad], ok_codes=(1,))
        assert "FOUND" in out, out
        _, out = timed([BIN, "-c", cfgs["av"], "scan", bad])
        assert "verdict: malware" in out, out
        tiny = os.path.join(tmp, "tiny.eml")
        with open(tiny, "wb") as f:
            f.write(b"From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n")

        runs = {
            "clamdscan --stream": ["clamdscan", "-c", conf, "--stream", "--no-summary", *paths],
            "clamdscan (clamd reads the files)": ["clamdscan", "-c", conf, "--no-summary", *paths],
            "mailmoat scan (antivirus + attachments)": [BIN, "-c", cfgs["av"], "scan", corpus],
            "mailmoat scan (full engine)": [BIN, "-c", cfgs["full"], "scan", corpus],
            "mailmoat scan start-up only (1 tiny message, antivirus + attachments)": [BIN, "-c", cfgs["av"], "scan", tiny],
            "mailmoat scan start-up only (1 tiny message, full engine)": [BIN, "-c", cfgs["full"], "scan", tiny],
        }
        times = {k: [] for k in runs}
        for rep in range(args.reps):
            for name, cmd in runs.items():
                dt, out = timed(cmd)
                if name.startswith("mailmoat") and "tiny" not in cmd[-1]:
                    verdicts = out.count("verdict: ")
                    assert verdicts == len(paths), f"{name}: {verdicts} verdicts"
                    assert "verdict: malware" not in out and "unscannable" not in out, out[:2000]
                times[name].append(dt)
                log(f"rep {rep + 1}/{args.reps} {name}: {dt:.3f} s")
        base = statistics.median(times["clamdscan --stream"])
        mb = total / 1e6
        print(f"{len(paths)} messages, {mb:.1f} MB in total (PDF ~1 MB, DOCX, XLSX, ZIP of text, base64 in MIME); "
              f"{args.reps} interleaved repetitions; medians\n")
        print("| command | median s | msg/s | MB/s | time vs clamdscan --stream |")
        print("|---|---|---|---|---|")
        for name in runs:
            m = statistics.median(times[name])
            if "tiny" in runs[name][-1]:
                print(f"| {name} | {m:.3f} | | | |")
                continue
            print(f"| {name} | {m:.3f} | {len(paths) / m:.1f} | {mb / m:.1f} | {m / base:.2f}x |")
        print(f"\nall runs (s): " + "; ".join(f"{k}: " + ", ".join(f"{t:.2f}" for t in v) for k, v in times.items()))
    finally:
        stop_clamd(clamd)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
