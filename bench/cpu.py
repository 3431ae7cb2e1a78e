#!/usr/bin/env python3
"""CPU per advert sent and received, and RSS, at 255 and 1,020 instances: Vigil, keepalived and
the kernel floor (bench/floor.c) in the same run and the same namespaces.

A master (priority 200) and a backup (priority 100) of one implementation run N VRRPv3 instances
(255 per link, one /32 virtual address each; 1,020 = 4 links). Once the master holds every
address, both daemons' CPU time (sum of their threads' run time, /proc/PID/task/*/schedstat) is
read over SECONDS, with the packets their namespaces sent and received (/proc/net/snmp):

  us per advert sent     = master CPU / IP packets the master's namespace sent
  us per advert received = backup CPU / IP packets the backup's namespace delivered
  % of a core            = CPU / SECONDS

and what went wrong in the same window (bench/flaps.py): the state changes each router logged
(the master is alive throughout, so every one is spurious) and the drops of each namespace's VRRP
sockets (/proc/net/raw). A row with transitions or drops did not measure a steady state.

The floor sends the same number of adverts per interval from a bare loop (one sendto each) and
reads them with a bare recv loop.

Usage: bench/cpu.py [--seconds S] [--only vigil|keepalived|floor] [--json FILE]
"""

import argparse
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import flaps as F  # noqa: E402
import lab as L  # noqa: E402

FLOOR = os.path.join(os.path.dirname(__file__), "floor")


def run_ns(pid):
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def daemon_ns(d):
    return sum(run_ns(p) for p in d.pids() if not L.proc_gone(p))


def packets(lab, host, links):
    """(tx, rx) packets of a host's interfaces (keepalived sends with IP_HDRINCL, which the IP
    MIB's OutRequests does not count, so the interfaces' own counters are used)."""
    tx = rx = 0
    for k in range(links):
        base = ["ip", "netns", "exec", lab.ns(host), "cat"]
        tx += int(L.sh(*base, f"/sys/class/net/eth{k}/statistics/tx_packets").stdout)
        rx += int(L.sh(*base, f"/sys/class/net/eth{k}/statistics/rx_packets").stdout)
    return tx, rx


def vips(n):
    """(link, vrid, vip) for n instances."""
    out = []
    for idx in range(n):
        link, vrid = divmod(idx, 255)
        net = "198.51.100" if link % 2 == 0 else "203.0.113"
        out.append((link, vrid + 1, f"{net}.{vrid + 1}"))
    return out


def conf(n, prio, advert):
    return L.conf([L.instance_conf(f"VI_{i}", f"eth{link}", vrid, prio, 3, advert, [f"{vip}/32"])
                   for i, (link, vrid, vip) in enumerate(vips(n))], garp_delay=0)


def measure_daemons(kind, n, advert, seconds):
    links = (n + 254) // 255
    with L.Lab("cpu", hosts=2, links=links) as lab:
        hi, lo = L.start_master_then_backup(lab, kind, n, links, conf(n, 200, advert),
                                            conf(n, 100, advert))
        flap = F.window(lab, hi, lo, links)
        c0 = (daemon_ns(hi), daemon_ns(lo), packets(lab, 1, links), packets(lab, 2, links))
        time.sleep(seconds)
        c1 = (daemon_ns(hi), daemon_ns(lo), packets(lab, 1, links), packets(lab, 2, links))
        flaps = flap()
        spurious = F.vips_held(lab, 2, links)
        rss = (hi.rss_kb(), lo.rss_kb())
        hi_s, lo_s = (c1[0] - c0[0]) / 1e9, (c1[1] - c0[1]) / 1e9
        sent = c1[2][0] - c0[2][0]
        recv = c1[3][1] - c0[3][1]
        return {
            "sent": sent, "received": recv,
            "us_per_sent": hi_s * 1e6 / max(sent, 1), "us_per_received": lo_s * 1e6 / max(recv, 1),
            "master_core_pct": 100 * hi_s / seconds, "backup_core_pct": 100 * lo_s / seconds,
            "master_rss_kb": rss[0], "backup_rss_kb": rss[1], "backup_vips": spurious,
            **flaps,
        }


def measure_floor(n, advert, seconds):
    interval_us = int(float(advert) * 1e6)
    with L.Lab("flr", hosts=2, links=1) as lab:
        rx = subprocess.Popen(["ip", "netns", "exec", lab.ns(2), FLOOR, "recv", "eth0",
                               str(seconds + 1)], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        tx = subprocess.run(["ip", "netns", "exec", lab.ns(1), FLOOR, "send", "eth0", L.host_v4(1),
                             str(n), str(interval_us), str(seconds)],
                            capture_output=True, text=True, check=True).stdout.split()
        r = rx.communicate()[0].split()
        sent, tx_cpu = int(tx[1]), float(tx[3])
        got, rx_cpu = int(r[1]), float(r[3])
        return {
            "sent": sent, "received": got,
            "us_per_sent": tx_cpu * 1e6 / max(sent, 1), "us_per_received": rx_cpu * 1e6 / max(got, 1),
            "master_core_pct": 100 * tx_cpu / seconds, "backup_core_pct": 100 * rx_cpu / seconds,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--only")
    ap.add_argument("--sizes", default="255,1020")
    ap.add_argument("--adverts", default="0.1,0.01")
    ap.add_argument("--json")
    args = ap.parse_args()
    if not os.path.exists(FLOOR) or os.path.getmtime(FLOOR) < os.path.getmtime(FLOOR + ".c"):
        subprocess.run(["cc", "-O2", "-o", FLOOR, FLOOR + ".c"], check=True)
    kinds = [args.only] if args.only else ["floor", "vigil", "keepalived"]
    results = []
    for n in map(int, args.sizes.split(",")):
        for advert in args.adverts.split(","):
            for kind in kinds:
                try:
                    r = (measure_floor(n, advert, args.seconds) if kind == "floor"
                         else measure_daemons(kind, n, advert, args.seconds))
                except Exception as e:  # noqa: BLE001 - a failed cell is reported, not fatal
                    print(f"{n:5} x {advert:5}s {kind:10} FAILED: {e}", flush=True)
                    continue
                r.update({"impl": kind, "instances": n, "advert_s": float(advert)})
                results.append(r)
                extra = (f"  RSS {r['master_rss_kb'] / 1024:5.1f} / {r['backup_rss_kb'] / 1024:5.1f} MB"
                         f"  backup VIPs {r['backup_vips']}  transitions master / backup "
                         f"{r['master_transitions']} / {r['backup_transitions']} (backup B->M "
                         f"{r['backup_to_master']})  socket drops master / backup "
                         f"{r['master_drops']} / {r['backup_drops']}" if "master_rss_kb" in r else "")
                print(f"{n:5} x {advert:5}s {kind:10} sent {r['sent']:7} {r['us_per_sent']:6.2f} us/advert "
                      f"({r['master_core_pct']:5.1f}% core)  received {r['received']:7} "
                      f"{r['us_per_received']:6.2f} us/advert ({r['backup_core_pct']:5.1f}% core){extra}",
                      flush=True)
    if args.json:
        L.write_results(args.json, results, seconds=args.seconds)


if __name__ == "__main__":
    main()
