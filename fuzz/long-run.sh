#!/usr/bin/env bash
# Long fuzz runs, one target at a time, at the lowest CPU priority (the machine is shared):
#   fuzz/long-run.sh engine:2400 config:1800 advert:700
#   fuzz/long-run.sh config:3600:2      (two processes on one corpus, for two idle cores)
# Each target runs for its seconds on its working corpus (fuzz/corpus-work/<target>/, seeded from
# the committed fuzz/corpus/<target>/), its libFuzzer log in fuzz/corpus-work/<target>.log. A
# crash stops that target's run and leaves the input in fuzz/artifacts/<target>/; the next target
# still runs. Afterwards: minimize with `cargo +nightly fuzz cmin` and commit fuzz/corpus/.
#
# `engine` and `config` are built without compare tracing (--no-trace-compares, a target
# directory of their own): it cost 55 % of the engine target's instructions (callgrind,
# 2026-11-25) and 63 % of the config target's (2026-12-03); for operation sequences the
# comparison feedback matters little, and the parser's keywords reach libFuzzer through the
# dictionary and its memcmp hooks, which stay. `advert` keeps it (magic bytes, cheap anyway).
# Every target is built with mimalloc (feature fast-alloc; glibc's malloc and free were a fifth
# of the engine target's instructions). FUZZING.md has the figures.
set -uo pipefail
cd "$(dirname "$0")"
nocmp_dir=${VIGIL_FUZZ_NOCMP_DIR:-target/nocmp}
# `engine` gets coverage feedback from the engine alone (uncovered-harness-rustc.sh), in a target
# directory of its own (the wrapper changes how vigil-tests and vigil-sim are compiled).
# VIGIL_FUZZ_COVER_HARNESS=1 builds it as `config` is built instead.
engine_dir=${VIGIL_FUZZ_ENGINE_DIR:-target/engine-uncov}
engine_wrapper=$PWD/uncovered-harness-rustc.sh
# Without cargo-fuzz's stack-depth instrumentation (a check of the stack pointer at every
# instrumented function's entry, for a "deepest stack" feature: the engine does not recurse on
# its input): about 4 % more executions per CPU second (FUZZING.md, session 6).
engine_rustflags=-Cllvm-args=-sanitizer-coverage-stack-depth=false
# `engine` and `config` are linked with libFuzzer's entropic bookkeeping bug fixed
# (libfuzzer-fixed.sh: 22 % of the engine target's instructions went to it; `config` about 8 %
# more executions per CPU second past its replay; FUZZING.md session 14);
# VIGIL_FUZZ_STOCK_LIBFUZZER=1 links libfuzzer-sys's own build instead.
#
# `config` gives each input energy in inverse proportion to its run time
# (-entropic_scale_per_exec_time=1): the long-run corpus grew inputs of a few hundred bytes that
# expand into hundreds of thousands of lines (nested includes, ~SEQ), 1,000 of 17,825 inputs
# took 36 of the corpus's 41 s, and libFuzzer kept mutating them: 476 executions a second against
# 2,350 with the option, more coverage in the same 300 s (FUZZING.md, session 16). Every target
# keeps mimalloc's freed memory (MIMALLOC_PURGE_DELAY=-1): giving it back to the kernel after
# every large input and faulting in zeroed huge pages again on the next was 89 % of such an
# input's time.
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:--1}
if [ "${VIGIL_FUZZ_COVER_HARNESS:-0}" = 1 ]; then
    engine_dir=$nocmp_dir
    engine_wrapper=
fi

status=0
for spec in "$@"; do
    IFS=: read -r t secs workers <<<"$spec"
    workers=${workers:-1}
    bin=target/x86_64-unknown-linux-gnu/release/$t
    extra=()
    case "$t" in
        engine) bin=$engine_dir/x86_64-unknown-linux-gnu/release/engine; extra=(-max_len=1024) ;;
        config) bin=$nocmp_dir/x86_64-unknown-linux-gnu/release/config; extra=(-dict=dict/config.dict -timeout=20 -entropic_scale_per_exec_time=1) ;;
        advert) extra=(-dict=dict/advert.dict) ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
    # Built just before its run, so that a fix made during an earlier target's run is in.
    libfuzzer=()
    if [ "$t" != advert ] && [ "${VIGIL_FUZZ_STOCK_LIBFUZZER:-0}" != 1 ]; then
        lib=$(nice -n 19 ./libfuzzer-fixed.sh) || { status=1; continue; }
        libfuzzer=("CUSTOM_LIBFUZZER_PATH=$lib")
    fi
    if [ "$t" = advert ]; then
        nice -n 19 cargo +nightly fuzz build -s none --features fast-alloc "$t"
    elif [ "$t" = engine ]; then
        env "${libfuzzer[@]}" RUSTFLAGS="${RUSTFLAGS:-} $engine_rustflags" \
            RUSTC_WRAPPER=$engine_wrapper nice -n 19 \
            cargo +nightly fuzz build -O -s none --features fast-alloc --no-trace-compares \
            --target-dir "$engine_dir" "$t"
    else
        env "${libfuzzer[@]}" nice -n 19 \
            cargo +nightly fuzz build -O -s none --features fast-alloc --no-trace-compares \
            --target-dir "$nocmp_dir" "$t"
    fi || { status=1; continue; }
    mkdir -p "corpus-work/$t" "artifacts/$t"
    # Worker 1 logs to corpus-work/<target>.log, worker k to corpus-work/<target>.k.log; all
    # share the working corpus (libFuzzer reloads what the others add).
    pids=()
    for k in $(seq 1 "$workers"); do
        log=corpus-work/$t.log
        [ "$k" = 1 ] || log=corpus-work/$t.$k.log
        echo "== $(date -u +%FT%TZ) $t for ${secs}s (worker $k of $workers)" | tee -a "$log"
        nice -n 19 "$bin" "corpus-work/$t" "corpus/$t" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="artifacts/$t/" "${extra[@]}" >>"$log" 2>&1 &
        pids+=("$!")
    done
    for k in "${!pids[@]}"; do
        wait "${pids[$k]}" || status=1
        log=corpus-work/$t.log
        [ "$k" = 0 ] || log=corpus-work/$t.$((k + 1)).log
        echo "== $(date -u +%FT%TZ) $t ended (worker $((k + 1)))" | tee -a "$log"
    done
done
exit "$status"
