#!/bin/sh
# RUSTC_WRAPPER for the local `engine` fuzz build (fuzz/long-run.sh, fuzz/run-all.sh): the harness
# (vigil-tests) and the run-loop contract (vigil-sim) are compiled without sanitizer coverage, so
# that libFuzzer's feedback comes from the code under test (vigil-engine) alone. The checks run
# unchanged on every input; only their branches stop counting as coverage. cargo-fuzz puts its
# coverage flags in RUSTFLAGS, after a profile's `rustflags`, so the override has to come last on
# the command line, which only a wrapper can do (LLVM takes the last `-sanitizer-coverage-level`).
# Measured in FUZZING.md (session 4): about a fifth more executions per CPU second.
# The target crate itself (`engine`: libfuzzer-sys's entry point and the global allocator,
# fuzz/fuzz_targets/engine.rs) is harness too: its allocator's branches ran on every allocation
# and would have counted as coverage (session 10).
rustc=$1
shift
case " $* " in
*" --crate-name vigil_tests "* | *" --crate-name vigil_sim "* | *" --crate-name engine "*)
    exec "$rustc" "$@" -Cllvm-args=-sanitizer-coverage-level=0
    ;;
esac
exec "$rustc" "$@"
