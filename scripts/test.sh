#!/usr/bin/env bash
# Runs every test:
#  1. every layer's unit tests, the fuzz corpus replay and the shutdown e2e suite, built with
#     AddressSanitizer + UBSan (-O0); then the concurrent layers' unit tests (drivers, server,
#     store, controller, reconcilers) built with ThreadSanitizer (-O1);
#  2. an -O1 build of magnumd, magnumctl, cloudsim and cloudctl, and the end-to-end suites
#     (tests/e2e, pytest via ctest) against them on 127.0.0.1.
# The compiler is Clang 16 (CXX overrides it). Every test ctest knows is built (the unit_tests
# target) and run: a test whose executable was not built fails the run instead of being skipped.
# Usage: scripts/test.sh [--unit|--e2e]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
jobs="${JOBS:-$(nproc)}"
what="${1:-all}"
cxx="${CXX:-clang++-16}"
# Sanitizer reports with function names and lines.
if symbolizer=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer); then
  export ASAN_SYMBOLIZER_PATH="$symbolizer"
fi

if [[ "$what" != "--e2e" ]]; then
  echo "== unit tests and the shutdown suite under ASan + UBSan =="
  cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DMAGNUMD_SANITIZE=ON \
    -DMAGNUMD_BUILD_BENCH=OFF -DMAGNUMD_E2E=ON >/dev/null
  cmake --build "$root/build-asan" -j "$jobs" --target unit_tests magnumd
  if not_built=$(ctest --test-dir "$root/build-asan" -N | grep -E '_NOT_BUILT$'); then
    echo "test executables missing from the build:" >&2
    echo "$not_built" >&2
    exit 1
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs" --timeout 600

  # The layers whose code runs on several threads at once (the HTTP client and server on a
  # multi-threaded io_context, the store's committer and watch hub, informers and work queues,
  # the reconcilers' cloud calls and probes, the audit sinks' threads) again under
  # ThreadSanitizer: a data race is what AddressSanitizer misses and what corrupted magnumd's
  # heap at 1,000 clusters.
  echo "== the concurrent layers' unit tests under ThreadSanitizer =="
  cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=CI -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_CXX_FLAGS="-fsanitize=thread -g1" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
    -DMAGNUMD_BUILD_BENCH=OFF >/dev/null
  tsan_tests=(drivers/drivers_test server/server_test store/store_test controller/controller_test
              reconcilers/reconcilers_test audit/audit_test)
  cmake --build "$root/build-tsan" -j "$jobs" --target "${tsan_tests[@]##*/}"
  for t in "${tsan_tests[@]}"; do
    log="$root/build-tsan/${t##*/}.log"
    if (cd "$root/build-tsan/tests/${t%/*}" &&
        TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "./${t##*/}" --gtest_brief=1 >"$log" 2>&1); then
      echo "$t: $(grep -E '^\[  PASSED  \]' "$log")"
    else
      tail -n 300 "$log"
      echo "$t failed under ThreadSanitizer (whole output: $log)" >&2
      exit 1
    fi
  done
fi

if [[ "$what" != "--unit" ]]; then
  echo "== binaries and end-to-end suites =="
  cmake -S "$root" -B "$root/build-e2e" -G Ninja -DCMAKE_BUILD_TYPE=CI -DCMAKE_CXX_COMPILER="$cxx" \
    -DMAGNUMD_UNIT_TESTS=OFF -DMAGNUMD_BUILD_BENCH=OFF >/dev/null
  cmake --build "$root/build-e2e" -j "$jobs" --target magnumd magnumctl cloudsim cloudctl
  ctest --test-dir "$root/build-e2e" --output-on-failure -L e2e --timeout 900
fi
