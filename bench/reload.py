#!/usr/bin/env python3
"""SIGHUP with an unchanged configuration: what it costs the running routers, Vigil beside
keepalived on the same namespaces.

A master (priority 200) and a backup (priority 100) of one implementation run N VRRPv3 instances
at ADVERT seconds (255 per link, one /32 virtual address each). Once the master holds every
address and the backup has settled, the bridge is captured while the master, then the backup,
get SIGHUP RELOADS times each (one every GAP seconds) with the same file. From the capture:

  largest gap     the longest silence of any VRID's master (a reload that stops the world shows
                  here; a normal interval is ADVERT)
  late intervals  master intervals longer than 1.5 x ADVERT, over all VRIDs
  backup adverts  adverts from the backup's address: each is a backup that thought it was master
  reload time     vigild only: SIGHUP to its "reloaded" log line (from its log's timestamps)

Usage: bench/reload.py [--instances N] [--advert S] [--reloads R] [--only vigil|keepalived]
                       [--json FILE]
"""

import argparse
import datetime
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402


def conf(n, prio, advert):
    insts = []
    for idx in range(n):
        link, vrid = divmod(idx, 255)
        net = "198.51.100" if link % 2 == 0 else "203.0.113"
        insts.append(L.instance_conf(f"VI_{idx}", f"eth{link}", vrid + 1, prio, 3, advert,
                                     [f"{net}.{vrid + 1}/32"]))
    return L.conf(insts, garp_delay=0)


def reload_pid(d):
    # keepalived reloads on SIGHUP to its parent, which signals its VRRP child.
    return d.proc.pid


def vigil_reload_ms(log):
    """SIGHUP-to-reloaded durations from vigild's log."""
    out, start = [], None
    stamp = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:)(\d\d\.\d+)Z")
    for line in open(log):
        m = stamp.match(line)
        if not m:
            continue
        t = int(m.group(1)[-3:-1]) * 60 + float(m.group(2))
        if "SIGHUP: reloading" in line:
            start = t
        elif "reloaded:" in line and start is not None:
            out.append((t - start) % 3600 * 1000)
            start = None
    return out


def measure(kind, n, advert, reloads, gap):
    links = (n + 254) // 255
    with L.Lab("reload", hosts=2, links=links) as lab:
        hi, lo = L.start_master_then_backup(lab, kind, n, links, conf(n, 200, advert),
                                            conf(n, 100, advert))
        pcaps = [os.path.join(lab.dir, f"reload{k}.pcap") for k in range(links)]
        caps = [lab.capture(p, k) for k, p in enumerate(pcaps)]
        time.sleep(1)
        for d in (hi, lo):
            for _ in range(reloads):
                os.kill(reload_pid(d), signal.SIGHUP)
                time.sleep(gap)
        time.sleep(1)
        for c in caps:
            lab.stop_bg(c)
        def vips_on(host):
            return sum(1 for k in range(links) for a in lab.addrs(host, k)
                       if a.startswith(("198.51.100.", "203.0.113.")))
        held, backup_held = vips_on(1), vips_on(2)
        gaps, backup_adverts, late = [], 0, 0
        for k, p in enumerate(pcaps):
            rows = L.tshark(p, "vrrp", ["frame.time_relative", "ip.src", "vrrp.virt_rtr_id"])
            last = {}
            for t, src, vrid in rows:
                if src == L.host_v4(2, k):
                    backup_adverts += 1
                    continue
                t = float(t)
                if vrid in last:
                    g = t - last[vrid]
                    gaps.append(g)
                    if g > 1.5 * float(advert):
                        late += 1
                last[vrid] = t
        still_running = hi.proc.poll() is None and lo.proc.poll() is None
        r = {
            "impl": kind, "instances": n, "advert_s": float(advert), "reloads_each": reloads,
            "largest_gap_ms": 1000 * max(gaps) if gaps else float("nan"),
            "p99_gap_ms": 1000 * L.percentile(gaps, 99),
            "intervals": len(gaps), "late_intervals": late,
            "backup_adverts": backup_adverts, "master_holds": held, "backup_holds": backup_held,
            "still_running": still_running,
        }
        if kind == "vigil":
            r["master_reload_ms"] = vigil_reload_ms(hi.log)
            r["backup_reload_ms"] = vigil_reload_ms(lo.log)
            r["reloads_logged"] = len(r["master_reload_ms"]) + len(r["backup_reload_ms"])
        else:
            # keepalived's VRRP child logs a bare "Reloading" for each SIGHUP it acts on (the
            # parent logs "Reloading ...").
            r["reloads_logged"] = sum(1 for d in (hi, lo) for line in open(d.log)
                                      if line.rstrip().endswith(": Reloading"))
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", type=int, default=255)
    ap.add_argument("--advert", default="0.1")
    ap.add_argument("--reloads", type=int, default=3)
    ap.add_argument("--gap", type=float, default=1.5)
    ap.add_argument("--only", choices=["vigil", "keepalived"])
    ap.add_argument("--json")
    a = ap.parse_args()
    kinds = [a.only] if a.only else ["vigil", "keepalived"]
    results = [measure(k, a.instances, a.advert, a.reloads, a.gap) for k in kinds]
    print(f"# SIGHUP, unchanged configuration, {a.instances} instances at {a.advert} s; "
          f"{a.reloads} reloads of the master then {a.reloads} of the backup")
    print(f"# {datetime.date.today()}  {L.machine()}")
    print("| impl | reloads done | largest master gap | p99 gap | late intervals | backup adverts | "
          "master holds | reload time |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        rt = ""
        if "master_reload_ms" in r:
            rt = ", ".join(f"{x:.1f}" for x in r["master_reload_ms"] + r["backup_reload_ms"]) + " ms"
        print(f"| {r['impl']} | {r['reloads_logged']} | {r['largest_gap_ms']:.1f} ms | {r['p99_gap_ms']:.1f} ms | "
              f"{r['late_intervals']} / {r['intervals']} | {r['backup_adverts']} | "
              f"{r['master_holds']}/{r['instances']} | {rt} |")
    if a.json:
        L.write_results(a.json, results)


if __name__ == "__main__":
    main()
