#!/usr/bin/env bash
# Sets up the machine, builds, and starts `mailmoat serve` on the embedded default:
# config/mailmoat.toml, SQLite and the spool under var/, SMTP on 127.0.0.1:2525 and [::1]:2525.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
exec ./build/src/cli/mailmoat serve -c config/mailmoat.toml "$@"
