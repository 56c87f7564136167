#!/usr/bin/env bash
# Flint's whole test suite, as CI runs it:
#   1. the normal (Release, warnings as errors) build and every test;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build (clang) and every test again;
#   3. each libFuzzer harness for FLINT_FUZZ_SECONDS (default 120) on a copy of its seed corpus.
# Tests read the reference models from ../shared (FLINT_SHARED overrides).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
fuzz_seconds=${FLINT_FUZZ_SECONDS:-120}
shared=${FLINT_SHARED:-$root/../shared}

echo "== release build"
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Release -DFLINT_WERROR=ON -DFLINT_SHARED_DIR="$shared" >/dev/null
cmake --build build-test
ctest --test-dir build-test --output-on-failure -j"$jobs"

echo "== ASan + UBSan build"
CC=clang cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLINT_SANITIZE=ON \
    -DFLINT_FUZZ=ON -DFLINT_SHARED_DIR="$shared" >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== fuzzing, ${fuzz_seconds}s per harness"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for fuzzer in build-asan/fuzz/fuzz_*; do
    [ -x "$fuzzer" ] || continue
    name=$(basename "$fuzzer")
    name=${name#fuzz_}
    mkdir -p "$work/$name"
    cp -r fuzz/corpus/"$name"/. "$work/$name"/ 2>/dev/null || true
    echo "-- $name"
    FLINT_SHARED="$shared" "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" "$work/$name" 2>"$work/$name.log" || {
        tail -n 60 "$work/$name.log"
        echo "fuzzer $name found a problem" >&2
        exit 1
    }
    grep -E "stat::number_of_executed_units|Done" "$work/$name.log" | tail -n 2
done
echo "all test stages passed"
