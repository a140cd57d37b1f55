#!/usr/bin/env bash
# Antivirus scan throughput: `mailmoat scan` against `clamdscan` on the same clamd and the same
# generated messages (PDFs, Office files, zips), in the same run. Markdown on stdout.
#
#   bench/av_bench.sh [--messages 40] [--reps 5]
#
# Needs clamd and clamdscan (scripts/setup.sh) and a built mailmoat (scripts/build.sh), whose
# build also made the project's signature database (build/signatures).
set -euo pipefail
cd "$(dirname "$0")/.."
export MAILMOAT_BIN="${MAILMOAT_BIN:-$PWD/build/src/cli/mailmoat}"
[ -x "$MAILMOAT_BIN" ] || { echo "av_bench: $MAILMOAT_BIN not found: build mailmoat first" >&2; exit 1; }
command -v clamdscan >/dev/null || { echo "av_bench: clamdscan missing (scripts/setup.sh installs it)" >&2; exit 1; }
exec /usr/bin/python3 bench/av_bench.py "$@"
