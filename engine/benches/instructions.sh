#!/usr/bin/env bash
# Instructions per received advert and per advert on the timer path, counted by valgrind
# (callgrind): repeatable whatever else the machine is doing. Runs engine/examples/rx_cost.rs
# twice per case with different iteration counts and divides the difference, so that set-up
# costs cancel out. `wakeup`: what the daemon asks the engine at each wake-up of a backup. Writes the table to engine/benches/instructions.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p vigil-engine --example rx_cost >/dev/null
bin=target/release/examples/rx_cost
count() { # mode instances iterations -> total instructions
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
out=engine/benches/instructions.txt
{
  echo "# instructions per operation (valgrind callgrind), $(date -u +%F), $(nproc)-core $(uname -m)"
  echo "# mode instances instructions_per_op"
  for mode in receive receive-grouped timer wakeup; do
    for n in 1 100 10000; do
      case $mode in
        timer) small=20; big=220; per=$n ;;
        wakeup) small=200; big=2200; per=1 ;; # a scan per wake-up (before) is slow under valgrind
        *) small=20000; big=220000; per=1 ;;
      esac
      a=$(count "$mode" "$n" "$small"); b=$(count "$mode" "$n" "$big")
      echo "$mode $n $(( (b - a) / ((big - small) * per) ))"
    done
  done
} | tee "$out"
