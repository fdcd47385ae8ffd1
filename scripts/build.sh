#!/usr/bin/env bash
# Configures and builds magnumd into ./build (Ninja, ccache, Clang 16 unless CXX names another
# compiler). Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++-16}" "$@" >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}"
