#!/usr/bin/env bash
# libFuzzer for the local `engine` and `config` builds (fuzz/long-run.sh; CI's fuzz/run-all.sh
# keeps the stock one): libfuzzer-sys's own copy of the sources with one upstream bug fixed,
# compiled into target/libfuzzer-fixed/ and linked through libfuzzer-sys's CUSTOM_LIBFUZZER_PATH
# (its build script links that archive instead of compiling its copy). Prints the archive's path.
# Nothing else differs: same sources, same flags, same options; the ClusterFuzzLite build keeps
# libfuzzer-sys's own.
#
# The bug (InputCorpus::AddRareFeature, FuzzerCorpus.h; open upstream as llvm/llvm-project issue
# 213186): when entropic drops the most abundant of its "rare" features, it clears
# `IsRareFeature[Delete]`, `Delete` being the feature's place in the list, instead of the
# feature's own entry. A dropped feature stays "rare" for ever, so after the corpus is loaded
# almost every feature is, and every feature of every execution updates its input's local
# frequency table (a sorted vector, one insertion per feature new to it): 22 % of a 20,000-run
# workload's instructions (FUZZING.md, session 14). Fixed, only the rare features do, as
# entropic is described; the features, the coverage and the targets are the same.
set -euo pipefail
cd "$(dirname "$0")"

out=$PWD/target/libfuzzer-fixed
lib=$out/libfuzzer.a
# The sources cargo uses for this crate's libfuzzer-sys (Cargo.lock's version).
manifest=$(cargo metadata --format-version 1 --locked |
    grep -o '"manifest_path":"[^"]*/libfuzzer-sys-[0-9][^"]*/Cargo.toml"' | head -n 1 |
    sed 's/^"manifest_path":"//; s/"$//')
[ -n "$manifest" ] || { echo "fuzz/libfuzzer-fixed.sh: libfuzzer-sys not found" >&2; exit 1; }
src=$(dirname "$manifest")/libfuzzer
stamp="$src $(c++ --version | head -n 1)"
if [ -f "$lib" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$lib"
    exit 0
fi

rm -rf "$out"
mkdir -p "$out/src"
cp "$src"/*.cpp "$src"/*.h "$src"/*.def "$out/src/"
bad='      IsRareFeature[Delete] = false;'
good='      IsRareFeature[MostAbundantRareFeatureIndices[0]] = false;'
if [ "$(grep -cxF "$bad" "$out/src/FuzzerCorpus.h")" != 1 ]; then
    echo "fuzz/libfuzzer-fixed.sh: $src/FuzzerCorpus.h is not the expected libFuzzer" >&2
    exit 1
fi
sed -i "s/^$(printf '%s' "$bad" | sed 's/[][]/\\&/g')\$/$good/" "$out/src/FuzzerCorpus.h"
grep -qxF "$good" "$out/src/FuzzerCorpus.h"
# libfuzzer-sys's build script's flags (cc, release profile).
for f in "$out"/src/*.cpp; do
    c++ -O3 -g -fPIC -std=c++17 -fno-omit-frame-pointer -ffunction-sections -fdata-sections -w \
        -c "$f" -o "${f%.cpp}.o" >&2
done
ar rcs "$lib" "$out"/src/*.o
echo "$stamp" >"$out/stamp"
echo "$lib"
