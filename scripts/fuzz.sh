#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD_DIR for SECONDS each, seeded with fuzz/corpus/<target>;
# new interesting inputs go to a scratch directory (minimise crashes into the corpus by hand).
set -euo pipefail
build="${1:-build-fuzz}"
secs="${2:-60}"
cd "$(dirname "$0")/.."
for bin in "$build"/fuzz_*; do
    name="${bin##*/fuzz_}"
    scratch="$(mktemp -d)"
    dict=()
    [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
    echo "== fuzzing $name for ${secs}s"
    "$bin" -max_total_time="$secs" -max_len=65536 "${dict[@]}" "$scratch" "fuzz/corpus/$name"
    rm -rf "$scratch"
done
