#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build of Vigil's fuzz targets (see FUZZING.md).
#
# Runs inside the base-builder-rust image with $SRC, $OUT and the sanitizer flags set by the
# builder. Outputs, per target, what the ecosystem's runners pick up by name:
#   $OUT/<target>                     the libFuzzer binary
#   $OUT/<target>_seed_corpus.zip     the committed corpus and the crash reproducers
#                                     (fuzz/corpus/<target>/, fuzz/regressions/<target>/)
#   $OUT/<target>.dict                the dictionary, where the target has one
#   $OUT/<target>.options             libFuzzer options the local runs use too (fuzz/long-run.sh)
#
# The image's default toolchain is a nightly. Locally (no Docker), from the repository's parent
# directory with the checkout named vigil, a nightly toolchain and cargo-fuzz installed:
#   SRC=$PWD OUT=/tmp/vigil-cflite-out RUSTUP_TOOLCHAIN=nightly vigil/.clusterfuzzlite/build.sh

cd "$SRC/vigil/fuzz"

# Release build with debug assertions and overflow checks (an overflow is a crash, as in the
# local runs); the sanitizer comes from the builder's environment (address).
cargo fuzz build --release --debug-assertions

bin_dir=${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release
mkdir -p "$OUT"
for src in fuzz_targets/*.rs; do
    t=$(basename "${src%.rs}")
    cp "$bin_dir/$t" "$OUT/$t"

    # Seed corpus: every committed input and reproducer of the target (flat, as the runner
    # unpacks it into one directory; names are content hashes or unique reproducer names).
    seeds=$(mktemp -d)
    for d in "corpus/$t" "regressions/$t"; do
        [ -d "$d" ] || continue
        find "$d" -maxdepth 1 -type f ! -name README.md ! -name .gitkeep \
            -exec cp {} "$seeds/" \;
    done
    if [ -n "$(ls -A "$seeds")" ]; then
        (cd "$seeds" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
    fi
    rm -rf "$seeds"

    if [ -f "dict/$t.dict" ]; then
        cp "dict/$t.dict" "$OUT/$t.dict"
    fi
done

# The options the local long runs use (fuzz/long-run.sh): operation sequences are cut at 1 KiB,
# a configuration input may take long in the instrumented build (expansion bounds, finding 9),
# and a configuration input's energy falls with its run time (a corpus that grew slow inputs
# was otherwise mutated mostly through them; FUZZING.md, session 16).
printf '[libfuzzer]\nmax_len = 1024\n' > "$OUT/engine.options"
printf '[libfuzzer]\ndict = config.dict\ntimeout = 20\nentropic_scale_per_exec_time = 1\n' > "$OUT/config.options"
printf '[libfuzzer]\ndict = advert.dict\n' > "$OUT/advert.options"
