#!/usr/bin/env bash
# A short nightly fuzz run of every target: `fuzz/run-all.sh [TOTAL_SECONDS]` (default 90),
# split evenly between the targets. Skips (exit 0) when no nightly toolchain is installed; the
# stable replay of the corpora (cargo test -p vigil-tests --test fuzz_replay) needs none.
#
# New inputs go to fuzz/corpus-work/<target>/ (not committed); the committed corpora in
# fuzz/corpus/<target>/ are only read. A crash stops the run with a non-zero status and leaves
# its input in fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ with a name that
# says what it found, fix the bug, and the stable replay keeps it fixed. Exit status 1: a
# target found something; 2: cargo-fuzz could not be installed or a target not built (not a
# finding: scripts/test says so and fails).
set -euo pipefail
cd "$(dirname "$0")"

total=${1:-${FUZZ_SECONDS:-90}}
targets=(advert engine config)
per=$(( total / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/run-all.sh: no nightly toolchain, skipping the fuzz run (the corpus replay runs on stable)"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run-all.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked || { echo "fuzz/run-all.sh: cannot install cargo-fuzz" >&2; exit 2; }
fi
not_built() {
    echo "fuzz/run-all.sh: the $1 target did not build (see above)" >&2
    exit 2
}

# The engine and the parser forbid unsafe code: no sanitizer needed, which triples the speed.
# Built as fuzz/long-run.sh builds them (see there): mimalloc everywhere, no compare tracing for
# engine and config.
nocmp_dir=${VIGIL_FUZZ_NOCMP_DIR:-target/nocmp}
# `engine`: coverage feedback from the engine alone (uncovered-harness-rustc.sh, see
# fuzz/long-run.sh), in a target directory of its own.
engine_dir=${VIGIL_FUZZ_ENGINE_DIR:-target/engine-uncov}
cargo +nightly fuzz build -s none --features fast-alloc advert || not_built advert
cargo +nightly fuzz build -O -s none --features fast-alloc --no-trace-compares \
    --target-dir "$nocmp_dir" config || not_built config
# And without the stack-depth instrumentation (see fuzz/long-run.sh).
RUSTFLAGS="${RUSTFLAGS:-} -Cllvm-args=-sanitizer-coverage-stack-depth=false" \
    RUSTC_WRAPPER=$PWD/uncovered-harness-rustc.sh cargo +nightly fuzz build -O -s none \
    --features fast-alloc --no-trace-compares --target-dir "$engine_dir" engine || not_built engine

# Energy by run time for `config`, and mimalloc keeping its freed memory: see fuzz/long-run.sh.
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:--1}
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus-work/$t" "artifacts/$t"
    extra=()
    case "$t" in
        config) extra=(-dict=dict/config.dict -entropic_scale_per_exec_time=1) ;;
        advert) extra=(-dict=dict/advert.dict) ;;
        engine) extra=(-max_len=1024) ;;
    esac
    bin=target/x86_64-unknown-linux-gnu/release/$t
    [ "$t" = config ] && bin=$nocmp_dir/x86_64-unknown-linux-gnu/release/config
    [ "$t" = engine ] && bin=$engine_dir/x86_64-unknown-linux-gnu/release/engine
    echo "== fuzz $t for ${per}s"
    if ! "$bin" "corpus-work/$t" "corpus/$t" \
        -max_total_time="$per" -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        "${extra[@]}"; then
        echo "fuzz/run-all.sh: target $t failed; its input is in fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit "$status"
