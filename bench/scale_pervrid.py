#!/usr/bin/env python3
"""Per-VRID lateness of a kept bench/scale.py lab (VIGIL_KEEP_LAB=1): where in the master's
batches the late adverts were, and whether they came every other interval.

bench/scale.py captures VRIDs 1, 128 and 255 of every link (255 instances per link, in
configuration order, so instance index = 255 x link + VRID - 1). With more than GRID_BATCH
masters of one interval the engine sends them in equal batches in configuration order
(`instance::spread_grid_phases`): batch = index // per, position = index % per, where per =
ceil(N / batches) (128 for 1,020 x 10 ms: eight batches 1.25 ms apart). For each captured VRID
this prints its batch and position, the p50 / p99 / p99.9 of its gaps minus the interval,
how many gaps were more than 0.5 and 1 ms late, the p1 / p50 / p99 of when it left after its
batch's grid point (relative to VRID 1 of link 0, first of batch 0), and how the late gaps
(> 0.5 ms) split between even and odd intervals: a split far from even (say 90% / 10%) is an
event with a period of two intervals hitting that batch, such as the kernel's 4 ms scheduler
tick (HZ=250) against a 10 ms interval (BENCHMARKS-daemon.md, eleventh session).

Usage: bench/scale_pervrid.py LAB_DIR [--interval 0.01] [--per 128] [--skip 2.5]
"""

import argparse
import collections
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import scale as S  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lab")
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--per", type=int, default=128, help="masters per batch")
    ap.add_argument("--skip", type=float, default=2.5,
                    help="seconds of each capture left out (scale.py's warm-up)")
    a = ap.parse_args()
    streams = {}
    for path in sorted(glob.glob(os.path.join(a.lab, "l*.pcap"))):
        link = int(os.path.basename(path)[1:].split(".")[0])
        rows = S.read_pcap(path)
        if not rows:
            continue
        t0 = rows[0][0] + a.skip
        for t, v in rows:
            if t >= t0:
                streams.setdefault((link, v), []).append(t)
    ref = streams.get((0, 1))
    base = pct([t % a.interval for t in ref], 1) if ref else None
    print(f"{'link':>4} {'vrid':>4} {'index':>5} {'batch':>5} {'pos':>4} {'gaps':>6} {'p50':>7} "
          f"{'p99':>7} {'p99.9':>7} {'>0.5':>5} {'>1':>5} | left after grid p1 / p50 / p99 (ms) "
          f"| late on even / odd intervals")
    every = []
    for (link, v), ts in sorted(streams.items()):
        idx = 255 * link + v - 1
        gaps = [(b - x - a.interval) * 1000 for x, b in zip(ts, ts[1:])]
        every += gaps
        # The interval number of each advert (from the first one of the stream).
        n = [round((t - ts[0]) / a.interval) for t in ts]
        par = collections.Counter(n[i + 1] % 2 for i, g in enumerate(gaps) if g > 0.5)
        off = [((t - base) % a.interval) * 1000 for t in ts] if base is not None else [0.0]
        print(f"{link:4} {v:4} {idx:5} {idx // a.per:5} {idx % a.per:4} {len(gaps):6} "
              f"{pct(gaps, 50):+7.3f} {pct(gaps, 99):+7.3f} {pct(gaps, 99.9):+7.3f} "
              f"{sum(g > 0.5 for g in gaps):5} {sum(g > 1 for g in gaps):5} | "
              f"{pct(off, 1):6.3f} {pct(off, 50):6.3f} {pct(off, 99):6.3f} | "
              f"{par[0]:4} / {par[1]:4}")
    print(f"all: {len(every)} gaps, p50 {pct(every, 50):+.3f} p99 {pct(every, 99):+.3f} "
          f"p99.9 {pct(every, 99.9):+.3f} ms, > 0.5 ms {sum(g > 0.5 for g in every)}, "
          f"> 1 ms {sum(g > 1 for g in every)}")


if __name__ == "__main__":
    main()
