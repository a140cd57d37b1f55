#!/usr/bin/env bash
# Per-message scan latency with parallel checks on and off ([scan] parallel_checks), one clamd on
# TCP loopback, messages with and without attachments, in the same run. Markdown on stdout.
#
#   bench/parallel_checks_bench.sh [--attachments 24] [--plain 200] [--train-each 300] [--reps 5]
#
# Needs clamd (scripts/setup.sh) and a built mailmoat (scripts/build.sh), whose build also made
# the project's signature database (build/signatures). Messages without attachments come from the
# accuracy benchmark's corpus cache (bench/accuracy/corpus.sh) when present.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAILMOAT_BIN="${MAILMOAT_BIN:-$PWD/build/src/cli/mailmoat}"
[ -x "$MAILMOAT_BIN" ] || { echo "parallel_checks_bench: $MAILMOAT_BIN not found: build mailmoat first" >&2; exit 1; }
exec /usr/bin/python3 bench/parallel_checks_bench.py "$@"
