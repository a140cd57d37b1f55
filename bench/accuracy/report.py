#!/usr/bin/python3
"""Figures for engine.sh: accuracy and throughput of mailmoat and its peers, as Markdown.

  report.py --manifest MANIFEST --results DIR [--worst N] ENGINE=THRESHOLD ...

DIR holds, per engine: ENGINE.tsv ("path<TAB>score<TAB>details", details for mailmoat being
"class:SYMBOL(score),..."), ENGINE.time (one line per pass: "wall_s scan_cpu_s client_cpu_s
messages"), optionally ENGINE.info (free text) and ENGINE.failed (why the engine did not run).
Only TEST lines of the manifest count. Definitions (the same as accuracy_bench.cpp):
  - at default: score >= the engine's own default threshold (mailmoat tag_score 5.0, SpamAssassin
    required_score 5.0, Rspamd's "add header" action 6.0);
  - recall at FPR <= x: the best threshold that lets at most floor(x * #ham) ham through (ham with
    that score or more count as positive), chosen on TEST itself, so optimistic for every engine
    alike; spam strictly above the next ham score count as caught (ties never help);
  - ROC AUC: Mann-Whitney U over the scores, ties counted half.
"""
import argparse, math, os, re, statistics, sys
from collections import Counter, defaultdict


def load_manifest(path):
    info = {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) == 4 and f[0] == "test":
            info[os.path.basename(f[3])] = (f[1] == "spam", f[2])
    return info


def load_tsv(path, manifest):
    rows, unknown, errors = [], 0, []
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 2:
            continue
        name = os.path.basename(f[0])
        if name not in manifest:
            unknown += 1
            continue
        spam, group = manifest[name]
        score = float(f[1])
        if math.isnan(score):
            errors.append(name)
            continue
        rows.append({"name": name, "spam": spam, "group": group, "score": score,
                     "details": f[2] if len(f) > 2 else ""})
    return rows, unknown, errors


def recall_at(rows, allowed):
    hams = sorted((r["score"] for r in rows if not r["spam"]), reverse=True)
    spams = [r["score"] for r in rows if r["spam"]]
    thr = hams[allowed] if allowed < len(hams) else -math.inf
    return sum(s > thr for s in spams) / len(spams), thr


def auc(rows):
    s = sorted(rows, key=lambda r: r["score"])
    rank_sum, i = 0.0, 0
    while i < len(s):
        j = i
        while j < len(s) and s[j]["score"] == s[i]["score"]:
            j += 1
        avg = (i + j + 1) / 2.0
        rank_sum += avg * sum(1 for k in range(i, j) if s[k]["spam"])
        i = j
    ns = sum(r["spam"] for r in rows)
    nh = len(rows) - ns
    return (rank_sum - ns * (ns + 1) / 2.0) / (ns * nh)


def metrics_row(label, thr, rows):
    ham = [r for r in rows if not r["spam"]]
    spam = [r for r in rows if r["spam"]]
    fp = sum(r["score"] >= thr for r in ham)
    tp = sum(r["score"] >= thr for r in spam)
    r01, _ = recall_at(rows, math.floor(0.001 * len(ham)))
    r001, _ = recall_at(rows, math.floor(0.0001 * len(ham)))
    hard = [r for r in ham if r["group"] == "hard-ham-1"]
    return (f"| {label} | {pct(fp, len(ham))} | {100.0 * tp / len(spam):.1f}% ({tp}/{len(spam)}) "
            f"| {100 * r01:.1f}% | {100 * r001:.1f}% | {auc(rows):.5f} "
            f"| {sum(r['score'] >= thr for r in hard)} of {len(hard)} |")


def pct(a, b):
    return f"{100.0 * a / b:.2f}% ({a})" if b else "-"


def short(details, n=6):
    d = details.split(":", 1)[1] if ":" in details.split(",", 1)[0] else details
    parts = [p for p in d.split(",") if p]
    return ", ".join(parts[:n]) + (" ..." if len(parts) > n else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--worst", type=int, default=10)
    ap.add_argument("engines", nargs="+", help="NAME=THRESHOLD")
    a = ap.parse_args()
    manifest = load_manifest(a.manifest)
    n_ham = sum(1 for s, _ in manifest.values() if not s)
    n_spam = len(manifest) - n_ham
    label = {"mailmoat": "mailmoat (full engine, score >= 5.0)", "spamassassin": "SpamAssassin 4.0.1 (>= 5.0)",
             "rspamd": "Rspamd 3.4 (>= 6.0, add header)"}

    data, notes = {}, []
    for spec in a.engines:
        name, thr = spec.split("=")
        base = os.path.join(a.results, name)
        if os.path.exists(base + ".failed"):
            notes.append(f"- **{name} did not run**: {open(base + '.failed').read().strip()}")
            continue
        if not os.path.exists(base + ".tsv"):
            notes.append(f"- **{name}**: no scores ({base}.tsv missing)")
            continue
        rows, unknown, errors = load_tsv(base + ".tsv", manifest)
        missing = len(manifest) - len(rows) - len(errors)
        if errors or missing or unknown:
            notes.append(f"- {name}: {len(errors)} scan errors ({', '.join(errors[:5])}), {missing} test messages "
                         f"without a score, {unknown} unknown names; figures over the {len(rows)} scored")
        data[name] = (float(thr), rows)

    print(f"TEST: {n_ham} ham + {n_spam} spam. Recall at FPR <= x allows floor(x * {n_ham}) ham: "
          f"{math.floor(0.001 * n_ham)} at 0.1%, {math.floor(0.0001 * n_ham)} at 0.01%.\n")
    header = ("| engine | ham FPR at default | spam recall at default | recall at FPR <= 0.1% | recall at FPR <= 0.01% "
              "| ROC AUC | hard-ham FP at default |\n|---|---|---|---|---|---|---|")
    print(header)
    for name, (thr, rows) in data.items():
        print(metrics_row(label.get(name, name), thr, rows))
    for n in notes:
        print(n)

    if "mailmoat" in data:
        # Where mailmoat's figures come from: its verdict split into the classifier's symbol and the
        # rest, and the verdict with the date checks on (the default; the bench turns them off).
        thr, rows = data["mailmoat"]
        def part(r, bayes):
            d = r["details"].split(":", 1)[1] if ":" in r["details"] else ""
            v = 0.0
            for p in d.split(","):
                m = re.match(r"(\w+)\((-?[0-9.]+)\)$", p)
                if m and m.group(1).startswith("BAYES_") == bayes:
                    v += float(m.group(2))
            return v
        diag = [("mailmoat: classifier symbol alone (BAYES_*)", [dict(r, score=part(r, True)) for r in rows]),
                ("mailmoat: rules + heuristics alone", [dict(r, score=part(r, False)) for r in rows])]
        on = os.path.join(a.results, "mailmoat-date-checks-on.tsv")
        if os.path.exists(on):
            diag.append(("mailmoat with date_checks = true (the default)", load_tsv(on, manifest)[0]))
        print("\nDiagnostics (mailmoat's verdict taken apart; same run, same scores):\n")
        print(header)
        for lbl, rs in diag:
            print(metrics_row(lbl, thr, rs))

    if "mailmoat" in data:
        thr, rows = data["mailmoat"]
        by = defaultdict(Counter)
        for r in rows:
            cls = r["details"].split(":", 1)[0]
            by[r["group"]][cls] += 1
        print("\nmailmoat verdict classes on TEST (bulk = newsletters/lists below the spam threshold):\n")
        classes = ["clean", "bulk", "spam", "phishing", "malware", "unscannable"]
        print("| group | " + " | ".join(classes) + " |")
        print("|---" * (len(classes) + 1) + "|")
        for g in sorted(by):
            print(f"| {g} | " + " | ".join(str(by[g][c]) for c in classes) + " |")
        ham_bulk = sum(by[g]["bulk"] for g in by if "ham" in g)
        print(f"\nham classed bulk: {ham_bulk} of {sum(1 for r in rows if not r['spam'])} "
              f"(hard-ham {by['hard-ham-1']['bulk']} of {sum(by['hard-ham-1'].values())}); "
              f"spam classed bulk: {sum(by[g]['bulk'] for g in by if 'spam' in g)}")

    if "spamassassin" in data:
        _, rows = data["spamassassin"]
        hits = Counter()
        for r in rows:
            for part in r["details"].split(","):
                rule = part.split("(")[0]
                if rule.startswith("DATE_IN_"):
                    hits[("spam" if r["spam"] else "ham", rule)] += 1
        if hits:
            print("\nSpamAssassin date rules (Date vs the message's own Received headers, not the clock): " +
                  ", ".join(f"{rule} {n} {kind}" for (kind, rule), n in sorted(hits.items())))

    for name, (thr, rows) in data.items():
        ham = sorted((r for r in rows if not r["spam"]), key=lambda r: -r["score"])
        print(f"\nWorst ham, {name} (highest scores; default threshold {thr:g}):\n")
        print("| file | group | score | top symbols |")
        print("|---|---|---|---|")
        for r in ham[: a.worst]:
            mark = " **FP**" if r["score"] >= thr else ""
            print(f"| {r['name']} | {r['group']} | {r['score']:.2f}{mark} | {short(r['details'])} |")

    # Throughput.
    print("\nThroughput over the TEST half (scanning processes pinned to one core; client on the other core):\n")
    print("| engine | passes | messages | wall s (median) | msg/s wall (1 scanning core) | scan CPU ms/msg | "
          "msg/s per core (scan CPU) | client CPU ms/msg |")
    print("|---|---|---|---|---|---|---|---|")
    startup_note = ""
    for spec in a.engines:
        name = spec.split("=")[0]
        path = os.path.join(a.results, name + ".time")
        if not os.path.exists(path):
            continue
        passes = [list(map(float, l.split())) for l in open(path) if l.strip()]
        if not passes:
            continue
        n = passes[0][3]
        wall = statistics.median(p[0] for p in passes)
        cpu = statistics.median(p[1] for p in passes)
        client = statistics.median(p[2] for p in passes)
        client_s = "- (one process)" if name == "mailmoat" else f"{1000 * client / n:.2f}"
        print(f"| {label.get(name, name).split(' (')[0]} | {len(passes)} | {int(n)} | {wall:.1f} | {n / wall:.0f} "
              f"| {1000 * cpu / n:.2f} | {n / cpu:.0f} | {client_s} |")
        start = os.path.join(a.results, name + ".startup")
        if name == "mailmoat" and os.path.exists(start):
            sp = [list(map(float, l.split())) for l in open(start) if l.strip()]
            sw = statistics.median(p[0] for p in sp)
            sc = statistics.median(p[1] for p in sp)
            startup_note = (f"mailmoat's figures include its start-up, measured alone (rules compiled, model "
                            f"loaded, one message scanned) at {sw:.2f} s wall / {sc:.2f} s CPU")
            if cpu > sc and wall > sw:
                print(f"| mailmoat without start-up | {len(passes)} | {int(n)} | {wall - sw:.1f} | {n / (wall - sw):.0f} "
                      f"| {1000 * (cpu - sc) / n:.2f} | {n / (cpu - sc):.0f} | - |")

    if startup_note:
        print(f"\n{startup_note}; the peers' servers were started before their timing.")

    for spec in a.engines:
        name = spec.split("=")[0]
        path = os.path.join(a.results, name + ".info")
        if os.path.exists(path):
            print(f"\n{name}: " + open(path).read().strip().replace("\n", "\n    "))


if __name__ == "__main__":
    sys.exit(main())
