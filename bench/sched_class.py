#!/usr/bin/env python3
"""vigild's scheduling class against its two measures: the hand-over and the schedule under load.

vigild runs at SCHED_FIFO by default; keepalived in the ordinary class (no vrrp_rt_priority).
This runs the same vigild binary both ways, with keepalived beside them in the same runs:

  1. bench/preempt.py with vigild as "vigil" (SCHED_FIFO) and, as its --before, vigild started
     through bench/sched_class (SCHED_OTHER at VIGIL_CLASS_NICE, EEVDF slice
     VIGIL_CLASS_SLICE_NS); keepalived interleaved as always;
  2. bench/load.py at --hogs for each of the two, keepalived in the second run.

and prints, per mode, each implementation's kernel-end-point median [min, max] and how many
paired runs were slower than keepalived's, then the load figures (p99 of the advert gap,
spurious takeovers). Every figure is also in the JSON files under --out.

Usage (root): VIGILD=<vigild> bench/sched_class.py [--runs 10] [--hogs 32] [--out DIR]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "sched_class")


def build():
    src = LAUNCHER + ".c"
    if not os.path.exists(LAUNCHER) or os.path.getmtime(LAUNCHER) < os.path.getmtime(src):
        subprocess.run(["cc", "-O2", "-Wall", "-o", LAUNCHER, src], check=True)


def run(cmd, env, log):
    with open(log, "w") as f:
        r = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): see {log}")


def paired(results, mode, impl):
    by = {(r["mode"], r["impl"]): r for r in results}
    v, ka = by.get((mode, impl)), by.get((mode, "keepalived"))
    if not v or not ka:
        return None
    pairs = [(a["kernel_ms"], b["kernel_ms"]) for a, b in zip(v["each"], ka["each"])
             if a["kernel_ms"] is not None and b["kernel_ms"] is not None]
    slower = sum(1 for a, b in pairs if a > b)
    return (f"{v['kernel_median_ms']:.3f} [{v['kernel_min_ms']:.3f}, {v['kernel_max_ms']:.3f}]",
            f"{ka['kernel_median_ms']:.3f} [{ka['kernel_min_ms']:.3f}, {ka['kernel_max_ms']:.3f}]",
            f"{slower} of {len(pairs)}", v["flaps"] + v["extra_changes"] + v["drops"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--hogs", default="32")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    vigild = os.environ.get("VIGILD")
    if not vigild:
        sys.exit("VIGILD (the vigild binary to measure) is not set")
    build()
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, VIGIL_CLASS_EXEC=os.path.abspath(vigild))
    pj = os.path.join(args.out, "sched-class-preempt.json")
    run([sys.executable, os.path.join(HERE, "preempt.py"), "--runs", str(args.runs),
         "--mode", "both", "--before", LAUNCHER, "--json", pj], env,
        os.path.join(args.out, "sched-class-preempt.txt"))
    loads = {}
    for name, binary, only in (("fifo", vigild, ["--only", "vigil"]), ("other", LAUNCHER, [])):
        lj = os.path.join(args.out, f"sched-class-load-{name}.json")
        run([sys.executable, os.path.join(HERE, "load.py"), "--hogs", args.hogs, "--seconds",
             str(args.seconds), *only, "--json", lj], dict(env, VIGILD=binary),
            os.path.join(args.out, f"sched-class-load-{name}.txt"))
        with open(lj) as f:
            loads[name] = json.load(f)
    with open(pj) as f:
        results = json.load(f)["results"]
    print("hand-over, kernel end point, ms: median [min, max]; paired runs slower than keepalived")
    for mode in ("restart", "heal"):
        for impl, label in (("vigil", "vigild SCHED_FIFO"), ("vigil-before", "vigild SCHED_OTHER")):
            p = paired(results, mode, impl)
            if p:
                print(f"  {mode:8} {label:19} {p[0]:24} keepalived {p[1]:24} slower {p[2]}"
                      f"  (flaps + extra changes + drops: {p[3]})")
    print(f"advert gap under load (hogs {args.hogs}), ms over the interval: p50 / p99 / max;"
          " spurious takeovers")
    for name, data in loads.items():
        for r in data["results"]:
            label = "keepalived" if r["impl"] == "keepalived" else f"vigild SCHED_{name.upper()}"
            late = r["late_ms"]
            print(f"  hogs {r['hogs']}  {label:19} adverts {r['adverts']}  p50 {late['p50']:+.3f}"
                  f"  p99 {late['p99']:+.3f}  max {late['max']:+.3f}  spurious takeovers "
                  f"{r['spurious_takeovers']}")

if __name__ == "__main__":
    main()
