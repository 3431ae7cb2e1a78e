#!/usr/bin/env python3
"""Takeover after a crash, timed on the wire: Vigil and keepalived in the same run.

For each implementation and each setting (v2 1 s, v3 100 ms, v3 10 ms): a master (priority 200)
and a backup (priority 100) of the same implementation on one bridge; the master is killed with
SIGKILL (keepalived: VRRP child and parent together). From a capture on the bridge:

  advert delay = (backup's first advert) - (master's last advert) - Master_Down_Interval
  VIP delay    = (address on the backup, `ip -ts monitor address`) - (backup's first advert)

Master_Down_Interval for the backup (priority 100): 3 * interval + (256 - 100) / 256 * interval.
Optionally under CPU load (--load N: stress-ng --cpu N for the whole run).

Usage: bench/takeover.py [--runs N] [--load HOGS] [--only vigil|keepalived] [--json FILE]
"""

import argparse
import datetime
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402

SETTINGS = [("v2 1 s", 2, "1", 1.0), ("v3 100 ms", 3, "0.1", 0.1), ("v3 10 ms", 3, "0.01", 0.01)]
VIP = "192.0.2.100"


def mdi(interval, prio=100):
    return 3 * interval + (256 - prio) / 256 * interval


def parse_ts(line):
    # ip -ts: "[2026-11-25T14:02:03.123456] ..." in local time
    ts = line[1:line.index("]")]
    return datetime.datetime.fromisoformat(ts).timestamp()


def one_run(lab, kind, version, advert, interval, k):
    conf = lambda prio: L.conf([L.instance_conf("VI_1", "eth0", 51, prio, version, advert,
                                                [f"{VIP}/24"])])
    lo = lab.start(kind, 2, conf(100), tag=f"{kind}-lo-{k}")
    hi = lab.start(kind, 1, conf(200), tag=f"{kind}-hi-{k}")
    ok = L.wait_until(5 * mdi(interval) + 5, lambda: lab.has(1, VIP) and not lab.has(2, VIP))
    if not ok:
        raise RuntimeError(f"{kind}: no election (see {lab.dir})")
    time.sleep(max(5 * interval, 0.3))
    pcap = os.path.join(lab.dir, f"{kind}-{version}-{advert}-{k}.pcap")
    cap = lab.capture(pcap)
    mon_path = pcap + ".mon"
    mon = lab.monitor_addresses(2, mon_path)
    time.sleep(max(3 * interval, 0.2))
    hi.kill9()
    L.wait_until(10 * mdi(interval) + 5, lambda: lab.has(2, VIP))
    time.sleep(max(2 * interval, 0.2))
    lab.stop_bg(cap)
    lab.stop_bg(mon)
    lo.terminate()
    # The crashed master's address stays behind: remove it for the next run.
    L.sh("ip", "-n", lab.ns(1), "addr", "del", f"{VIP}/24", "dev", "eth0", check=False)
    lab.daemons.clear()

    rows = L.tshark(pcap, "vrrp", ["frame.time_epoch", "eth.src", "vrrp.prio"])
    first_backup = next((float(t) for t, src, p in rows if src == L.mac(2)), None)
    last_master = max((float(t) for t, src, p in rows if src == L.mac(1) and
                       (first_backup is None or float(t) < first_backup)), default=None)
    vip_at = None
    for line in open(mon_path):
        if VIP in line and "Deleted" not in line and line.startswith("["):
            vip_at = parse_ts(line)
            break
    if first_backup is None or last_master is None:
        raise RuntimeError(f"{kind}: takeover not seen in {pcap}")
    adv = (first_backup - last_master - mdi(interval)) * 1000
    vipd = (vip_at - first_backup) * 1000 if vip_at else float("nan")
    return adv, vipd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10, help="runs per setting (v2: a third of it)")
    ap.add_argument("--load", type=int, default=0)
    ap.add_argument("--only")
    ap.add_argument("--json")
    args = ap.parse_args()
    kinds = [args.only] if args.only else ["vigil", "keepalived"]
    stress = None
    if args.load:
        stress = subprocess.Popen(["stress-ng", "--cpu", str(args.load), "--quiet"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = []
    try:
        with L.Lab("to", hosts=2) as lab:
            for name, version, advert, interval in SETTINGS:
                runs = max(1, args.runs // 3) if interval >= 1 else args.runs
                for kind in kinds:
                    advs, vips, failed = [], [], 0
                    for k in range(runs):
                        try:
                            a, v = one_run(lab, kind, version, advert, interval, k)
                        except RuntimeError as e:
                            # Under load an election may not settle (both routers keep the
                            # address): counted, and the lab is reset for the next run.
                            print(f"  run {k}: {e}", flush=True)
                            failed += 1
                            for d in lab.daemons:
                                if d.proc.poll() is None:
                                    d.kill9()
                            lab.daemons.clear()
                            for h in (1, 2):
                                L.sh("ip", "-n", lab.ns(h), "addr", "del", f"{VIP}/24", "dev", "eth0",
                                     check=False)
                            continue
                        advs.append(a)
                        vips.append(v)
                    if not advs:
                        print(f"{name:10} {kind:10} runs {runs:2}  all failed", flush=True)
                        results.append({"setting": name, "impl": kind, "runs": runs, "failed": failed})
                        continue
                    r = {
                        "setting": name, "impl": kind, "runs": runs, "mdi_ms": mdi(interval) * 1000,
                        "advert_ms": {"median": L.percentile(advs, 50), "min": min(advs),
                                      "max": max(advs)},
                        "vip_ms": {"median": L.percentile(vips, 50), "min": min(vips),
                                   "max": max(vips)},
                        "load": args.load, "failed": failed,
                    }
                    results.append(r)
                    print(f"{name:10} {kind:10} runs {runs:2}  MDI {r['mdi_ms']:9.3f} ms  "
                          f"first advert MDI{r['advert_ms']['median']:+8.3f} ms "
                          f"[{r['advert_ms']['min']:+.3f}, {r['advert_ms']['max']:+.3f}]  "
                          f"VIP +{r['vip_ms']['median']:.3f} ms after it "
                          f"[{r['vip_ms']['min']:.3f}, {r['vip_ms']['max']:.3f}]"
                          + (f"  ({failed} runs without a settled election)" if failed else ""),
                          flush=True)
    finally:
        if stress:
            stress.terminate()
            stress.wait()
    if args.json:
        L.write_results(args.json, results)


if __name__ == "__main__":
    main()
