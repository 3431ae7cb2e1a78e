#!/usr/bin/env python3
"""Task-clock medians of whole `-t` runs, several programs alternating, one `perf stat` per run,
inside an existing network namespace (veth eth0..eth3 up, as bench/conf_check.py makes them).
Prints one table row per program: median, quartiles, fastest (ms) and the median page faults.

Usage: bench/conf_medians.py NAMESPACE [--runs N] LABEL=PROGRAM:FILE ...
  e.g. bench/conf_medians.py vq7 'vigild=/tmp/vigild:/tmp/c1000.conf' \\
       'keepalived=keepalived:/tmp/c1000.conf'   (FILE from `bench/conf_check.py --write FILE`)
       'floor=/tmp/vigild --version:/tmp/c1000.conf'   (the start-up floor: exits after clap)
"""

import argparse
import statistics
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("namespace")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("programs", nargs="+", help="LABEL=PROGRAM:FILE")
    args = ap.parse_args()
    progs = {}
    for spec in args.programs:
        label, _, rest = spec.partition("=")
        prog, _, conf = rest.rpartition(":")
        # PROGRAM may carry arguments before `-t -f FILE` (`vigild --version`: the start-up
        # floor, exec, argument parsing and exit with no configuration read).
        progs[label] = prog.split() + ["-t", "-f", conf]
    clock = {k: [] for k in progs}
    faults = {k: [] for k in progs}
    for _ in range(args.runs):
        for k, cmd in progs.items():
            p = subprocess.run(["ip", "netns", "exec", args.namespace, "perf", "stat", "-x,", "-e",
                                "task-clock,page-faults"] + cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit(f"{k}: exit {p.returncode}: a check that fails is not a "
                                 f"measurement\n{p.stderr}")
            for line in p.stderr.splitlines():
                f = line.split(",")
                if len(f) > 3 and f[2] == "task-clock":
                    clock[k].append(float(f[0]))
                elif len(f) > 3 and f[2] == "page-faults":
                    faults[k].append(int(f[0]))
    for k in progs:
        v = sorted(clock[k])
        q = statistics.quantiles(v, n=4)
        print(f"| {k} | {statistics.median(v):.2f} ms | {q[0]:.2f} .. {q[2]:.2f} | {v[0]:.2f} | "
              f"{statistics.median(faults[k]):.0f} |")


if __name__ == "__main__":
    main()
