#!/usr/bin/env bash
# Runs every test:
#  1. the unit tests (and the fuzz corpus replay) built with AddressSanitizer + UBSan;
#  2. the end-to-end suites (tests/e2e, pytest via ctest) against the real binaries.
# Each unit test runs once, under the sanitizers; the e2e build skips unit tests so the two
# builds share no wasted work on 2 cores. Usage: scripts/test.sh [--unit|--e2e]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
jobs="${JOBS:-$(nproc)}"
what="${1:-all}"

if [[ "$what" != "--e2e" ]]; then
  echo "== unit tests under ASan + UBSan =="
  cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DMAGNUMD_SANITIZE=ON -DMAGNUMD_BUILD_BENCH=OFF \
    -DMAGNUMD_E2E=OFF >/dev/null
  cmake --build "$root/build-asan" -j "$jobs" --target unit_tests
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs" --timeout 600
fi

if [[ "$what" != "--unit" ]]; then
  echo "== end-to-end suites =="
  cmake -S "$root" -B "$root/build-e2e" -G Ninja -DCMAKE_BUILD_TYPE=CI -DMAGNUMD_UNIT_TESTS=OFF \
    -DMAGNUMD_BUILD_BENCH=OFF >/dev/null
  cmake --build "$root/build-e2e" -j "$jobs"
  ctest --test-dir "$root/build-e2e" --output-on-failure -L e2e --timeout 900
fi
