#!/usr/bin/env bash
# Every daemon benchmark in one run, Vigil beside keepalived; results in bench/results/.
# Needs root (network namespaces), keepalived, tcpdump, tshark, stress-ng, a C compiler (wrk and
# nftables for the data-plane benchmark are installed if missing).
# Usage: bench/run-all.sh   (VIGILD=path/to/vigild to use another build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
if [ -z "${VIGILD:-}" ]; then
  # The build operators deploy (docs/HOWTO.md): static musl, [profile.dist].
  # ring's C code (rustls) is compiled with musl-gcc for the static build (.cargo/config.toml).
  command -v musl-gcc >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
  cargo build --profile dist --target x86_64-unknown-linux-musl -p vigil-linux --bin vigild
  export VIGILD="$CARGO_TARGET_DIR/x86_64-unknown-linux-musl/dist/vigild"
fi
mkdir -p bench/results
python3 bench/takeover.py --runs "${RUNS:-10}" --json bench/results/takeover.json | tee bench/results/takeover.txt
python3 bench/preempt.py --runs "${RUNS:-10}" --json bench/results/preempt.json | tee bench/results/preempt.txt
python3 bench/load.py --seconds "${LOAD_SECONDS:-20}" --json bench/results/load.json | tee bench/results/load.txt
python3 bench/cpu.py --seconds "${CPU_SECONDS:-8}" --json bench/results/cpu.json | tee bench/results/cpu.txt
python3 bench/scale.py --seconds "${SCALE_SECONDS:-60}" --sizes 1020,4080 --adverts 0.01,0.1 --json bench/results/scale.json | tee bench/results/scale.txt
python3 bench/reload.py --json bench/results/reload.json | tee bench/results/reload.txt
# The nftables data plane (BENCHMARKS-dataplane.md): wrk is its load generator.
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nftables >/dev/null
python3 bench/dataplane.py --json bench/results/dataplane.json | tee bench/results/dataplane.txt
