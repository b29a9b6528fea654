#!/bin/sh
# Runs the fuzz targets (all, or those named) from the committed seeds, one after another, and
# stops at the first crash (its input is left in tests/fuzz/artifacts/<target>/).
#
#   tests/fuzz/run.sh                     every target for 60 s (what `.ci/run slow` does)
#   FUZZ_SECONDS=600 tests/fuzz/run.sh session
#   FUZZ_RUNS=1000000 tests/fuzz/run.sh   a number of inputs per target instead of a time
#   FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address tests/fuzz/run.sh
#
# Stable and no sanitizer by default, so it runs wherever cargo does; cargo-fuzz is installed
# when missing. New inputs go to tests/fuzz/corpus/<target>/ (not committed); the seeds and
# the saved crash inputs of tests/fuzz/regressions/<target>/ are read, never written.
set -eu
cd "$(dirname "$0")/../.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
toolchain=""
sanitizer="${FUZZ_SANITIZER:-none}"
# Another toolchain or sanitizer builds in a target dir of its own, so the default build stays.
dir=""
if [ -n "${FUZZ_TOOLCHAIN:-}" ] || [ "$sanitizer" != none ]; then
    dir="--target-dir=tests/fuzz/target/${FUZZ_TOOLCHAIN:-stable}-$sanitizer"
fi
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then toolchain="+$FUZZ_TOOLCHAIN"; fi
if [ -n "${FUZZ_RUNS:-}" ]; then
    limit="-runs=$FUZZ_RUNS"
else
    limit="-max_total_time=${FUZZ_SECONDS:-60}"
fi
targets="$*"
if [ -z "$targets" ]; then
    targets="$(cargo $toolchain fuzz list --fuzz-dir tests/fuzz)"
fi
cargo $toolchain fuzz build --fuzz-dir tests/fuzz $dir -s "$sanitizer"
for target in $targets; do
    mkdir -p "tests/fuzz/corpus/$target"
    set -- "tests/fuzz/corpus/$target" "tests/fuzz/seeds/$target"
    if [ -d "tests/fuzz/regressions/$target" ]; then
        set -- "$@" "tests/fuzz/regressions/$target"
    fi
    echo "fuzz: $target ($limit, sanitizer $sanitizer)"
    # -timeout: an input that takes over 5 s is a hang; -rss_limit_mb: 2 GB is an OOM.
    cargo $toolchain fuzz run --fuzz-dir tests/fuzz $dir -s "$sanitizer" "$target" "$@" -- \
        "$limit" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
done
