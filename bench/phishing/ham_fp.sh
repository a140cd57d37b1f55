#!/bin/sh
# False positives of the phishing checks on the ham of the cached corpus split (bench/accuracy):
# trains the classifier on TRAIN (as bench/accuracy/engine.sh does), scans TEST ham and TRAIN ham
# with `mailmoat scan --json`, and counts verdicts of class "phishing" and messages carrying a
# phishing-check symbol (PHISH_*, URI_* from the links check, HTML_LINK_TEXT_MISMATCH, HTML_FORM).
#   bench/phishing/ham_fp.sh [build/src/cli/mailmoat]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/build/src/cli/mailmoat}
SPLIT=${MAILMOAT_CACHE:-$HOME/.cache/mailmoat}/split-v1
[ -d "$SPLIT/test/ham" ] || { echo "no corpus split at $SPLIT: run bench/accuracy/corpus.sh first" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cat > "$TMP/mm.toml" <<CONF
[server]
var_dir = "$TMP/var"
[scan]
rules_dir = "$ROOT/rules"
date_checks = false
[log]
file = "-"
stderr_level = "off"
CONF
"$BIN" --config "$TMP/mm.toml" train --reset --spam "$SPLIT/train/spam" --ham "$SPLIT/train/ham" >/dev/null
for g in test/ham train/ham test/spam; do
  "$BIN" --config "$TMP/mm.toml" scan --json "$SPLIT/$g" > "$TMP/$(echo $g | tr / _).jsonl"
done
/usr/bin/python3 "$ROOT/bench/phishing/count.py" "$TMP/test_ham.jsonl" "$TMP/train_ham.jsonl" "$TMP/test_spam.jsonl"
