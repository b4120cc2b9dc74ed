#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run):
#   1. installs missing packages (build + test groups);
#   2. normal build: unit tests + fuzz-corpus replay (ctest), then API tests (pytest) against
#      the real build/polis;
#      then the API tests a second time with auth on as an operator (POLIS_TEST_AUTH=operator:
#      tests/api/conftest.py gives every server --auth on and every request an operator key of
#      all tenants; admin keys for purge, @context deletion, /metrics and /polis/v1/);
#   3. ASan+UBSan build: the same unit, replay and API tests.
# Usage: scripts/test.sh [--asan-only|--no-asan]
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
jobs="${JOBS:-2}"
bash scripts/install-deps.sh test

run_suite() {
    local dir="$1" label="$2"
    shift 2
    echo "== $label: build ($dir)"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== $label: unit tests and fuzz-corpus replay"
    (cd "$dir" && ctest --output-on-failure -j"$jobs")
    echo "== $label: API tests"
    POLIS_BIN="$PWD/$dir/polis" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/api
}

if [ "$mode" != "--asan-only" ]; then
    echo "== lint (banned functions)"
    make -s lint
    echo "== clang build (warnings are errors on both compilers)"
    CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build build-clang -j"$jobs" >/dev/null
    run_suite build "normal build"
    echo "== normal build: API tests again, auth on as an operator (POLIS_TEST_AUTH=operator)"
    POLIS_TEST_AUTH=operator POLIS_BIN="$PWD/build/polis" /usr/bin/python3 -m pytest -q \
        -p no:cacheprovider tests/api
fi
if [ "$mode" != "--no-asan" ]; then
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    export POLIS_TEST_TIMEOUT_MULT=3
    run_suite build-asan "ASan+UBSan build" -DPOLIS_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
fi
echo "== all tests passed"
