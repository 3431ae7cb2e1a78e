#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh without Docker, in an emulation of the environment OSS-Fuzz's
# base-builder-rust image gives it for an AddressSanitizer libFuzzer build, then checks what it
# left in $OUT: each of the three targets, its seed corpus zip, its dictionary (where it has
# one) and its .options, and runs each target from $OUT on its unpacked seeds for a few
# executions with the options of its .options file, as the runner would.
#
#   scripts/cflite-check.sh [RUNS]      (default 200; needs nightly and cargo-fuzz)
#
# What is emulated (google/oss-fuzz: infra/base-images/base-builder-rust/Dockerfile and
# infra/base-images/base-builder/compile): $SRC holding the checkout as $SRC/vigil and build.sh
# as $SRC/build.sh (the Dockerfile's COPY lines), $OUT, $WORK, SANITIZER=address,
# FUZZING_ENGINE=libfuzzer, FUZZING_LANGUAGE=rust, ARCHITECTURE=x86_64, a nightly as
# RUSTUP_TOOLCHAIN, and compile's RUSTFLAGS for an address build ("--cfg fuzzing
# -Zsanitizer=address -Cdebuginfo=1 -Cforce-frame-pointers"); build.sh runs as compile runs it
# (`bash -eux $SRC/build.sh`). What is not: the image itself (its pinned nightly, clang as the
# linker, its prebuilt libFuzzer through CUSTOM_LIBFUZZER_PATH: here libfuzzer-sys builds its
# own), the coverage build (ClusterFuzzLite's coverage mode; the image's cargo wrapper turns
# `cargo fuzz build` into `cargo build` there), and the runner. FUZZING.md says what was run.
#
# The build goes to fuzz/target/cflite (CARGO_TARGET_DIR, which build.sh honours; the image
# leaves it unset and builds in fuzz/target), so the local fuzz builds are not disturbed.
set -euo pipefail
runs=${1:-200}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/vigil-cflite.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

export SRC=$tmp/src OUT=$tmp/out WORK=$tmp/work
mkdir -p "$SRC" "$OUT" "$WORK"
ln -s "$repo" "$SRC/vigil"
cp "$repo/.clusterfuzzlite/build.sh" "$SRC/build.sh"

export SANITIZER=address FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-nightly}
export RUSTFLAGS="--cfg fuzzing -Zsanitizer=${SANITIZER} -Cdebuginfo=1 -Cforce-frame-pointers"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/fuzz/target/cflite}

echo "== build.sh (SRC=$SRC OUT=$OUT, RUSTFLAGS=$RUSTFLAGS)"
(cd "$SRC" && nice -n 10 bash -eux "$SRC/build.sh")

echo "== \$OUT"
ls -l "$OUT"

status=0
for t in advert engine config; do
    bin=$OUT/$t
    if [ ! -x "$bin" ]; then
        echo "FAIL $t: no executable $bin"
        status=1
        continue
    fi
    # The builder's sanitizer is in the binary (cargo-fuzz adds its own -Zsanitizer=address
    # too; the two must agree).
    if ! nm "$bin" 2>/dev/null | grep ' __asan_init$' >/dev/null; then
        echo "FAIL $t: $bin is not built with AddressSanitizer"
        status=1
    fi
    seeds=$WORK/seeds-$t
    mkdir -p "$seeds"
    if [ -f "$OUT/${t}_seed_corpus.zip" ]; then
        unzip -q "$OUT/${t}_seed_corpus.zip" -d "$seeds"
    else
        echo "FAIL $t: no $OUT/${t}_seed_corpus.zip"
        status=1
    fi
    # The [libfuzzer] section of <target>.options as flags; a dictionary named there must be
    # in $OUT (the runner looks for it beside the binary).
    opts=()
    if [ -f "$OUT/$t.options" ]; then
        while IFS= read -r line; do
            case "$line" in
                '['*|'') continue ;;
            esac
            key=$(echo "${line%%=*}" | tr -d ' ')
            value=$(echo "${line#*=}" | tr -d ' ')
            if [ "$key" = dict ]; then
                if [ ! -f "$OUT/$value" ]; then
                    echo "FAIL $t: $t.options names $value, not in \$OUT"
                    status=1
                fi
                value=$OUT/$value
            fi
            opts+=("-$key=$value")
        done <"$OUT/$t.options"
    else
        echo "FAIL $t: no $OUT/$t.options"
        status=1
    fi
    n=$(find "$seeds" -type f | wc -l)
    # First the seeds alone (-runs=0: every seed once), then the seeds and RUNS executions of
    # mutated inputs after them (libFuzzer's -runs counts the seeds' executions too).
    if ! (cd "$WORK" && "$bin" "${opts[@]}" -runs=0 "$seeds" >"$WORK/$t-seeds.log" 2>&1); then
        echo "FAIL $t: the seeds alone failed; the end of its log:"
        tail -20 "$WORK/$t-seeds.log"
        status=1
        continue
    fi
    init=$(sed -n 's/^#\([0-9]*\)[[:space:]]*INITED.*/\1/p' "$WORK/$t-seeds.log" | tail -1)
    total=$((${init:-0} + runs))
    echo "== $t: $n seeds ($init executions), options ${opts[*]:-none}, -runs=$total"
    if (cd "$WORK" && "$bin" "${opts[@]}" -runs="$total" "$seeds" >"$WORK/$t.log" 2>&1); then
        echo "ok   $t: $(grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$WORK/$t.log" | tr '\n' ' ')"
    else
        echo "FAIL $t: exit status $?; the end of its log:"
        tail -20 "$WORK/$t.log"
        status=1
    fi
done
exit "$status"
