#!/usr/bin/env bash
# Configures and builds mailmoat into build/ (ccache, Ninja, at most 2 jobs: the machine has 2 cores
# and Asio units need ~0.8 GB each).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
ninja -C "$BUILD_DIR" -j "${JOBS:-2}"
