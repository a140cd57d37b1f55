#!/usr/bin/env bash
# Configures and builds mailmoat into build/ (ccache, Ninja, at most 2 jobs: the machine has 2 cores
# and Asio units need ~0.8 GB each), then the web console into web/dist (served by `mailmoat serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
ninja -C "$BUILD_DIR" -j "${JOBS:-2}"
# The console: TypeScript checked (tsc --noEmit) and bundled by Vite; npm packages from setup.sh.
cd web
[ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund
npm run build --silent
