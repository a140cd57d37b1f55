#!/usr/bin/python3
"""Small helpers for engine.sh and the peer scripts (no third-party modules).

  benchutil.py tree PID...             CPU seconds (user+sys, reaped children included) used so far
                                       by the process trees rooted at the PIDs
  benchutil.py run OUT -- CMD...       run CMD, write "wall_s cpu_s" (cpu: CMD and its descendants)
  benchutil.py rspamc-json FILE        rspamc --json output -> "path<TAB>score<TAB>symbols"
  benchutil.py spamc DIR SRC           files written by `spamc -R` (DIR/NAME.out for SRC/NAME)
                                       -> "path<TAB>score<TAB>rules"
  benchutil.py mailmoat-json FILE      `mailmoat scan --json` lines -> "path<TAB>score<TAB>class:symbols"
  benchutil.py compare A B             how many messages two score TSVs score differently, and by how much
  benchutil.py dnsprobe PORT           ask 127.0.0.1:PORT for example.com/A; print the answer's rcode
  benchutil.py add A B / sub A B       arithmetic for shell scripts
"""
import json, os, re, resource, subprocess, sys, time

TICK = os.sysconf("SC_CLK_TCK")


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def cpu_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rfind(")") + 2:].split()
    # fields[11..14] = utime stime cutime cstime (stat fields 14..17)
    return sum(int(x) for x in fields[11:15]) / TICK


def tree(pids):
    kids = children_map()
    seen, todo, total = set(), list(pids), 0.0
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += cpu_of(p)
        todo.extend(kids.get(p, []))
    return total


def run(out, cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    rc = subprocess.call(cmd)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    with open(out, "w") as f:
        f.write(f"{wall:.3f} {cpu:.3f}\n")
    return rc


def rspamc_json(path):
    """rspamc --json prints one JSON object per file (with its "filename"); errors are objects too."""
    text = open(path, encoding="utf-8", errors="replace").read()
    dec = json.JSONDecoder()
    pos = 0
    while True:
        i = text.find("{", pos)
        if i < 0:
            break
        obj, pos = dec.raw_decode(text, i)
        name = obj.get("filename", "?")
        if "error" in obj or "score" not in obj:
            print(f"{name}\tnan\tERROR:{str(obj.get('error', obj))[:80]}")
            continue
        syms = obj.get("symbols", {})
        names = ",".join(f"{k}({v.get('score', 0):.2f})" for k, v in
                         sorted(syms.items(), key=lambda kv: -abs(kv[1].get("score", 0))) if v.get("score", 0))
        print(f"{name}\t{obj['score']:.3f}\t{obj.get('action', '')}:{names}")


def spamc(d, src):
    """DIR holds NAME.out (the output of `spamc -R` for SRC/NAME): "score/threshold" then the report."""
    for name in sorted(os.listdir(d)):
        if not name.endswith(".out"):
            continue
        text = open(os.path.join(d, name), encoding="utf-8", errors="replace").read()
        path = os.path.join(src, name[:-4])
        m = re.match(r"\s*(-?[0-9.]+)/([0-9.]+)", text)
        if not m:
            print(f"{path}\tnan\tERROR:{text.strip()[:80]!r}")
            continue
        # Report lines: " pts rule name      description" (pts may be negative).
        rules = re.findall(r"^\s*(-?\d+\.\d+)\s+([A-Z0-9_]+)\s", text, re.M)
        names = ",".join(f"{r}({float(p):.1f})" for p, r in sorted(rules, key=lambda x: -abs(float(x[0]))))
        print(f"{path}\t{float(m.group(1)):.3f}\t{names}")


def mailmoat_json(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        names = ",".join(f"{s['name']}({s['score']:.2f})" for s in o.get("symbols", []))
        print(f"{o['file']}\t{o['score']:.3f}\t{o['class']}:{names}")


def compare(a, b):
    def load(p):
        return {l.split("\t")[0]: float(l.split("\t")[1]) for l in open(p) if "\t" in l}
    x, y = load(a), load(b)
    diffs = sorted((abs(x[k] - y[k]), k) for k in x if k in y and x[k] != y[k])
    if not diffs:
        return f"identical scores ({len(x)} messages)"
    worst = diffs[-1]
    return (f"{len(diffs)} of {len(x)} messages scored differently, by up to {worst[0]:.2f} "
            f"({os.path.basename(worst[1])})")


def dnsprobe(port):
    import socket, struct
    q = struct.pack(">HHHHHH", 0x4d4d, 0x0100, 1, 0, 0, 0) + b"\x07example\x03com\x00" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(q, ("127.0.0.1", port))
        r = s.recv(512)
    except OSError as e:
        return f"no answer ({e})"
    rcode = r[3] & 0x0F
    names = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
    ancount = struct.unpack(">H", r[6:8])[0]
    return f"example.com -> {names.get(rcode, rcode)}, {ancount} answers"


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd = a[0]
    if cmd == "tree":
        print(f"{tree([int(x) for x in a[1:]]):.2f}")
    elif cmd == "run":
        if len(a) < 4 or a[2] != "--":
            sys.exit("usage: run OUT -- CMD...")
        sys.exit(run(a[1], a[3:]))
    elif cmd == "rspamc-json":
        rspamc_json(a[1])
    elif cmd == "spamc":
        spamc(a[1], a[2])
    elif cmd == "mailmoat-json":
        mailmoat_json(a[1])
    elif cmd == "compare":
        print(compare(a[1], a[2]))
    elif cmd == "dnsprobe":
        print(dnsprobe(int(a[1])))
    elif cmd == "add":
        print(f"{float(a[1]) + float(a[2]):.3f}")
    elif cmd == "sub":
        print(f"{float(a[1]) - float(a[2]):.3f}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
