#!/usr/bin/env bash
# End-to-end relay benchmark: mailmoat vs Postfix (and the smtp-source -> smtp-sink ceiling),
# measured in the same run. Prints a Markdown report on stdout (progress on stderr).
#
#   bench/relay_bench.sh [--messages 5000] [--reps 3] [--sessions 20] [--size 8200]
#                        [--latency-rate R] [--latency-seconds 10] [--idle-conns 5000]
#                        [--no-postfix] [--json results.json]
#
# Needs: root (smtp-sink -u postfix, Postfix's master), Debian's postfix, python3-aiosmtpd
# (scripts/setup.sh) and a built mailmoat (scripts/build.sh; RelWithDebInfo by default).
# Everything listens on 127.0.0.1 only; queues go to a temp dir on disk, sink files to /dev/shm.
# All processes it starts are stopped at the end; every run is bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."
export MAILMOAT_BIN="${MAILMOAT_BIN:-$PWD/build/src/cli/mailmoat}"
if [ ! -x "$MAILMOAT_BIN" ]; then
  echo "relay_bench: $MAILMOAT_BIN not found: build mailmoat first (scripts/build.sh)" >&2
  exit 1
fi
for tool in /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/sbin/postfix; do
  [ -x "$tool" ] || { echo "relay_bench: $tool missing (scripts/setup.sh installs postfix)" >&2; exit 1; }
done
# 5,000 idle connections plus the load: raise the descriptor limit (mailmoat inherits it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec /usr/bin/python3 bench/relay_bench.py "$@"
