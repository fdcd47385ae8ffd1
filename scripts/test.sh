#!/usr/bin/env bash
# Runs every test: the full build's unit + e2e suites (ctest), then the unit tests again under
# AddressSanitizer + UndefinedBehaviorSanitizer. Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
jobs="${JOBS:-$(nproc)}"

echo "== build (RelWithDebInfo) =="
BUILD_DIR="$root/build" "$root/scripts/build.sh" -DMAGNUMD_BUILD_BENCH=ON
echo "== unit and e2e tests =="
ctest --test-dir "$root/build" --output-on-failure -j "$jobs" --timeout 900

if [[ "${1:-}" != "--no-sanitize" ]]; then
  echo "== unit tests under ASan + UBSan =="
  cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMAGNUMD_SANITIZE=ON \
    -DMAGNUMD_BUILD_BENCH=OFF -DMAGNUMD_E2E=OFF >/dev/null
  cmake --build "$root/build-asan" -j "$jobs" --target unit_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs" -LE e2e --timeout 900
fi
