#!/usr/bin/env python3
"""The master's advert schedule under CPU load, Vigil and keepalived in the same run.

A master (priority 200) and a backup (priority 100), VRRPv3 at 10 ms, one implementation at a
time; stress-ng --cpu HOGS loads the machine for SECONDS while the bridge is captured. From the
capture: the gaps between the master's consecutive adverts minus 10 ms (p50, p99, p99.9, max),
and spurious takeovers: adverts the backup sent while the master was alive (each burst of them
is one takeover).

Usage: bench/load.py [--seconds S] [--hogs 0,2,32] [--only vigil|keepalived] [--json FILE]
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402

ADVERT = 0.01


def one(kind, hogs, seconds):
    conf = lambda prio: L.conf([L.instance_conf("VI_1", "eth0", 51, prio, 3, "0.01",
                                                ["192.0.2.100/24"])])
    with L.Lab("ld", hosts=2) as lab:
        lab.start(kind, 2, conf(100))
        lab.start(kind, 1, conf(200))
        if not L.wait_until(10, lambda: lab.has(1, "192.0.2.100") and not lab.has(2, "192.0.2.100")):
            raise RuntimeError(f"{kind}: no election ({lab.dir})")
        time.sleep(0.5)
        pcap = os.path.join(lab.dir, "load.pcap")
        cap = lab.capture(pcap)
        stress = None
        if hogs:
            stress = subprocess.Popen(["stress-ng", "--cpu", str(hogs), "--quiet"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        if stress:
            stress.terminate()
            stress.wait()
        time.sleep(0.2)
        lab.stop_bg(cap)
        rows = L.tshark(pcap, "vrrp", ["frame.time_epoch", "eth.src"])
        master = [float(t) for t, src in rows if src == L.mac(1)]
        backup = [float(t) for t, src in rows if src == L.mac(2)]
        gaps = [(b - a - ADVERT) * 1000 for a, b in zip(master, master[1:])]
        takeovers, last = 0, None
        for t in backup:
            if last is None or t - last > 5 * ADVERT:
                takeovers += 1
            last = t
        return {
            "impl": kind, "hogs": hogs, "adverts": len(master),
            "late_ms": {"p50": L.percentile(gaps, 50), "p99": L.percentile(gaps, 99),
                        "p99.9": L.percentile(gaps, 99.9), "max": max(gaps) if gaps else None},
            "backup_adverts": len(backup), "spurious_takeovers": takeovers,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--hogs", default="0,2,32")
    ap.add_argument("--only")
    ap.add_argument("--json")
    args = ap.parse_args()
    kinds = [args.only] if args.only else ["vigil", "keepalived"]
    results = []
    for hogs in map(int, args.hogs.split(",")):
        for kind in kinds:
            r = one(kind, hogs, args.seconds)
            results.append(r)
            l = r["late_ms"]
            print(f"hogs {hogs:2} {kind:10} adverts {r['adverts']:5}  gap-10ms p50 {l['p50']:+.3f} "
                  f"p99 {l['p99']:+.3f} p99.9 {l['p99.9']:+.3f} max {l['max']:+.3f} ms  "
                  f"spurious takeovers {r['spurious_takeovers']} ({r['backup_adverts']} backup adverts)",
                  flush=True)
    if args.json:
        L.write_results(args.json, results, seconds=args.seconds)


if __name__ == "__main__":
    main()
