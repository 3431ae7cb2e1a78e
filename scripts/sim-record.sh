#!/bin/sh
# Record what the simulator does, for the refactoring rule (issue 14, "Rules for the move"):
# the JSON trace and pcap of every scenario under sim/scenarios with seeds 1 and 7, and the
# explore summary of 2,000 seeds per family. Record before a change, record after, diff:
#
#   scripts/sim-record.sh /tmp/before
#   ... change ...
#   scripts/sim-record.sh /tmp/after
#   diff -r /tmp/before /tmp/after        (pcaps: compare with `vigil-sim decode` or cmp)
#
# The explore line's wall-clock time ("in 0.52s") is cut out; everything else must be identical
# unless the change says why. Builds the release binary first.
set -eu
out=${1:?usage: scripts/sim-record.sh OUT_DIR [COUNT]}
count=${2:-2000}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q -p vigil-sim
sim="$root/target/release/vigil-sim"
mkdir -p "$out"
out=$(cd "$out" && pwd)
for f in "$root"/sim/scenarios/*.toml; do
    name=$(basename "$f" .toml)
    for seed in 1 7; do
        rc=0
        # From inside OUT_DIR, so that what the simulator prints names no directory.
        (cd "$out" && "$sim" run --seed "$seed" --json --pcap "$name.s$seed.pcap" "$f" \
            > "$name.s$seed.json" 2> "$name.s$seed.err") || rc=$?
        echo "$rc" > "$out/$name.s$seed.rc"
    done
done
for family in $("$sim" explore --list | awk '{print $1}'); do
    # The wall-clock time and OUT_DIR are cut out of what explore prints.
    "$sim" explore --from 0 --count "$count" --family "$family" --threads 2 --out-dir "$out" \
        2>&1 | sed -E -e 's/ in [0-9.]+s:/:/' -e "s|$out|OUT_DIR|g" > "$out/explore.$family.txt"
done
echo "recorded in $out"
