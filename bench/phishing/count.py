"""Counts verdict classes and phishing-check symbols in `mailmoat scan --json` output files."""
import collections
import json
import sys

CHECK = ("PHISH_", "URI_USERINFO", "URI_IP_", "URI_OBFUSCATED", "URI_SHORTENER", "URI_BLOCKLISTED",
         "URI_TENANT_BLOCKLISTED", "URI_DNSBL", "HTML_LINK_TEXT_MISMATCH", "HTML_FORM")

for path in sys.argv[1:]:
    classes, symbols, examples = collections.Counter(), collections.Counter(), {}
    phish_msgs, with_phish_symbol = [], 0
    for line in open(path, encoding="utf-8"):
        v = json.loads(line)
        classes[v["class"]] += 1
        names = [s["name"] for s in v["symbols"] if s["name"].startswith(CHECK)]
        with_phish_symbol += any(n.startswith("PHISH_") for n in names)
        for s in v["symbols"]:
            if s["name"].startswith(CHECK):
                symbols[s["name"]] += 1
                examples.setdefault(s["name"], f'{v["file"].rsplit("/", 1)[-1][:12]}: {s["detail"][:100]}')
        if v["class"] == "phishing":
            phish_msgs.append(f'{v["file"].rsplit("/", 1)[-1]} score {v["score"]}: {",".join(names)}')
    name = path.rsplit("/", 1)[-1].replace(".jsonl", "")
    total = sum(classes.values())
    print(f"{name}: {total} messages, classes {dict(sorted(classes.items()))}, "
          f"{with_phish_symbol} with a PHISH_* symbol")
    for m in phish_msgs[:5]:
        print(f"  phishing verdict: {m}")
    for s, n in symbols.most_common():
        print(f"  {n:5d} {s:28s} e.g. {examples[s]}")
