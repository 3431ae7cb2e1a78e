#!/usr/bin/env python3
"""Many instances at a short interval for a long window (issue 18 item 2): the master's advert
lateness on the wire, what went wrong (transitions, socket drops) and the CPU per advert, with
the batched C floor (bench/floor.c sendm / recvm) in the same run and the same namespaces.

A master (priority 200) and a backup (priority 100) of vigild run N VRRPv3 instances (255 per
link, one /32 each; bench/cpu.py's configuration). Once the master holds every address and the
backup has settled, for SECONDS:

  lateness     = gaps between consecutive adverts of one VRID from the master minus the
                 interval, for VRIDs 1, 128 and 255 of every link (tcpdump with a BPF filter on
                 the master's bridge port, nanosecond stamps): p50, p99, p99.9, max, and how many
                 gaps passed Master_Down_Interval (3 x interval + skew)
  spread       = how long after VRID 1 of a link VRID 255 of the same link left, same tick (the
                 time one tick's sends take)
  late episodes = late gaps (> 1 ms) grouped by time, and how many coincided with hypervisor
                 steal time on some vCPU (/proc/stat sampled every 2 ms; USER_HZ resolution)
  transitions, socket drops: bench/flaps.py's counters
  CPU          = bench/cpu.py's counters (us per advert sent / received, % of a core)

The floor runs the same number of adverts on the same links at SCHED_FIFO 10 (vigild's own
priority), captured the same way: its lateness is what this machine does to any sender.

Usage: bench/scale.py [--seconds 60] [--sizes 1020] [--adverts 0.01] [--only vigil|floor]
                      [--perf DIR] [--json FILE] [--floor-send sendm|sendp]

--perf DIR records both vigild processes during the window (`perf report -i DIR/master.data`);
perf's own sampling costs CPU, so the figures of such a run are not the benchmark's.
"""

import argparse
import os
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import cpu as C  # noqa: E402
import flaps as F  # noqa: E402
import lab as L  # noqa: E402

VRIDS = (1, 128, 255)


def capture(lab, links, d):
    """One tcpdump per link on the master's bridge port (its egress), VRIDS only."""
    filt = "ip proto 112 and (" + " or ".join(f"ip[21] = {v}" for v in VRIDS) + ")"
    caps = []
    for k in range(links):
        path = os.path.join(d, f"l{k}.pcap")
        err = path + ".stderr"
        p = subprocess.Popen(["ip", "netns", "exec", lab.br(), "tcpdump", "-i", f"p1l{k}", "-nn",
                              "-Q", "in", "--time-stamp-precision=nano", "-B", "32768", "-w", path,
                              filt], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(err, "w"))
        L.wait_until(5, lambda: "listening" in open(err).read())
        lab.bg.append(p)
        caps.append((p, path))
    return caps


def read_pcap(path):
    """(time_s, vrid) of every VRRP frame of a nanosecond pcap (Ethernet, IPv4 without options)."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    div = 1e9 if magic == 0xA1B23C4D else 1e6
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) >= 14 + 20 + 2:
            out.append((sec + frac / div, pkt[14 + 20 + 1]))
    return out


class Steal:
    """Samples the hypervisor's steal time of each CPU (/proc/stat, USER_HZ ticks) every 2 ms
    in a thread, with the wall-clock time: a late advert can then be told to have coincided with
    a vCPU not running (steal), which no daemon can do anything about."""

    def __init__(self):
        import threading  # noqa: PLC0415
        self.samples, self.stop = [], False
        self.hz = os.sysconf("SC_CLK_TCK")
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def read(self):
        out = []
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3].isdigit():
                    out.append(int(line.split()[8]))
        return out

    def run(self):
        while not self.stop:
            self.samples.append((time.time(), self.read()))
            time.sleep(0.002)

    def end(self):
        self.stop = True
        self.t.join()

    def total_ms(self):
        if len(self.samples) < 2:
            return None
        a, b = self.samples[0][1], self.samples[-1][1]
        return [(y - x) * 1000 / self.hz for x, y in zip(a, b)]

    def during(self, a, b):
        """Steal (ms, summed over CPUs) seen between the samples around [a, b]."""
        import bisect  # noqa: PLC0415
        ts = [t for t, _ in self.samples]
        i = max(bisect.bisect_left(ts, a) - 1, 0)
        j = min(bisect.bisect_right(ts, b), len(ts) - 1)
        return sum(y - x for x, y in zip(self.samples[i][1], self.samples[j][1])) * 1000 / self.hz


# Seconds between the captures' start and the window's.
WARM_S = 2.0


def lateness(caps, interval, steal=None, since=0.0):
    """The gaps of every captured stream whose first advert is at `since` (wall clock) or later:
    the measured window, after the captures and watchers have started."""
    gaps, spread, late, worst = [], [], [], []
    for link, path in enumerate(p for _, p in caps):
        rows = [(t, v) for t, v in read_pcap(path) if t >= since]
        by = {}
        for t, v in rows:
            by.setdefault(v, []).append(t)
        for vrid, ts in by.items():
            gaps += [(b - a - interval) * 1000 for a, b in zip(ts, ts[1:])]
            late += [(a, b) for a, b in zip(ts, ts[1:]) if b - a - interval > 0.001]
            worst += [((b - a - interval) * 1000, a, link, vrid) for a, b in zip(ts, ts[1:])]
        first, last = by.get(VRIDS[0], []), by.get(VRIDS[-1], [])
        j = 0
        for t in first:
            while j < len(last) and last[j] < t:
                j += 1
            if j < len(last) and last[j] - t < interval / 2:
                spread.append((last[j] - t) * 1000)
    # The ten latest gaps with where they were (the tail's ticks, to set beside what else ran).
    start = min((a for _, a, _, _ in worst), default=0.0)
    worst = [{"late_ms": round(g, 3), "at_s": round(a - start, 3), "link": k, "vrid": v}
             for g, a, k, v in sorted(worst, reverse=True)[:10]]
    mdi = (3 + (256 - 100) / 256) * interval * 1000
    # Late gaps (> 1 ms) grouped into episodes (the streams of one late tick), and how many of
    # the episodes saw steal time on some vCPU.
    episodes = []
    for a, b in sorted(late):
        if episodes and a <= episodes[-1][1]:
            episodes[-1][1] = max(episodes[-1][1], b)
        else:
            episodes.append([a, b])
    with_steal = sum(1 for a, b in episodes if steal and steal.during(a, b) > 0)
    return {
        "late_episodes": len(episodes), "late_episodes_with_steal": with_steal,
        "steal_ms": steal.total_ms() if steal else None,
        "gaps": len(gaps),
        "late_ms": {"p50": L.percentile(gaps, 50), "p99": L.percentile(gaps, 99),
                    "p99.9": L.percentile(gaps, 99.9), "max": max(gaps) if gaps else None},
        "gaps_over_mdi": sum(1 for g in gaps if g + interval * 1000 > mdi),
        "worst_gaps": worst,
        "spread_ms": {"p50": L.percentile(spread, 50), "p99": L.percentile(spread, 99),
                      "max": max(spread) if spread else None},
    }


def perf_start(perf, d):
    """`perf record` of each daemon's process for the window (--perf DIR), flat profile."""
    if not perf:
        return []
    os.makedirs(perf, exist_ok=True)
    return [subprocess.Popen(["perf", "record", "-q", "-F", "2999", "-p", str(p.proc.pid), "-o",
                              os.path.join(perf, f"{role}.data")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for role, p in d]


def perf_stop(procs):
    for p in procs:
        p.send_signal(signal.SIGINT)
        p.wait()


def measure_vigil(n, advert, seconds, perf=None):
    links = (n + 254) // 255
    with L.Lab("scl", hosts=2, links=links) as lab:
        hi, lo = L.start_master_then_backup(lab, "vigil", n, links, C.conf(n, 200, advert),
                                            C.conf(n, 100, advert))
        caps = capture(lab, links, lab.dir)
        # The window starts once the captures run: a tick of every stream came 60-90 ms late
        # about a second after they started, however long the daemons had run (2026-12-04,
        # BENCHMARKS-daemon.md); the gaps are the window's only.
        time.sleep(WARM_S)
        since = time.time()
        flap = F.window(lab, hi, lo, links)
        c0 = (C.daemon_ns(hi), C.daemon_ns(lo), C.packets(lab, 1, links), C.packets(lab, 2, links))
        la0 = os.getloadavg()
        prof = perf_start(perf, [("master", hi), ("backup", lo)])
        steal = Steal()
        time.sleep(seconds)
        steal.end()
        perf_stop(prof)
        c1 = (C.daemon_ns(hi), C.daemon_ns(lo), C.packets(lab, 1, links), C.packets(lab, 2, links))
        flaps = flap()
        for p, _ in caps:
            lab.stop_bg(p)
        hi_s, lo_s = (c1[0] - c0[0]) / 1e9, (c1[1] - c0[1]) / 1e9
        sent, recv = c1[2][0] - c0[2][0], c1[3][1] - c0[3][1]
        return {
            "sent": sent, "received": recv,
            "us_per_sent": hi_s * 1e6 / max(sent, 1), "us_per_received": lo_s * 1e6 / max(recv, 1),
            "master_core_pct": 100 * hi_s / seconds, "backup_core_pct": 100 * lo_s / seconds,
            "load": [la0, os.getloadavg()],
            **lateness(caps, float(advert), steal, since), **flaps,
        }


def measure_floor(n, advert, seconds, send="sendm"):
    links = (n + 254) // 255
    ifs = ",".join(f"eth{k}" for k in range(links))
    interval_us = int(float(advert) * 1e6)
    with L.Lab("sfl", hosts=2, links=links) as lab:
        rx = subprocess.Popen(["ip", "netns", "exec", lab.ns(2), "chrt", "-f", "10", C.FLOOR,
                               "recvm", ifs, str(seconds + 30)], stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        caps = capture(lab, links, lab.dir)
        time.sleep(WARM_S)
        since = time.time()
        d0 = (F.raw_drops(lab, 1), F.raw_drops(lab, 2))
        la0 = os.getloadavg()
        steal = Steal()
        tx = subprocess.run(["ip", "netns", "exec", lab.ns(1), "chrt", "-f", "10", C.FLOOR, send,
                             ifs, str(n), str(interval_us), str(seconds)],
                            capture_output=True, text=True, check=True).stdout.split()
        steal.end()
        time.sleep(0.2)
        rx.send_signal(signal.SIGINT)
        r = rx.communicate()[0].split()
        for p, _ in caps:
            lab.stop_bg(p)
        sent, tx_cpu = int(tx[1]), float(tx[3])
        got, rx_cpu = int(r[1]), float(r[3])
        return {
            "sent": sent, "received": got,
            "us_per_sent": tx_cpu * 1e6 / max(sent, 1), "us_per_received": rx_cpu * 1e6 / max(got, 1),
            "master_core_pct": 100 * tx_cpu / seconds, "backup_core_pct": 100 * rx_cpu / seconds,
            "load": [la0, os.getloadavg()],
            "backup_drops": F.raw_drops(lab, 2) - d0[1], "floor_send": send,
            **lateness(caps, float(advert), steal, since),
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--only")
    ap.add_argument("--sizes", default="1020")
    ap.add_argument("--adverts", default="0.01")
    ap.add_argument("--json")
    ap.add_argument("--perf", help="perf record both vigild processes into this directory")
    ap.add_argument("--floor-send", default="sendm", choices=["sendm", "sendp"],
                    help="the floor's sender: sendm (raw IP socket, as vigild) or sendp (AF_PACKET "
                         "frames: no route per datagram)")
    args = ap.parse_args()
    if not os.path.exists(C.FLOOR) or os.path.getmtime(C.FLOOR) < os.path.getmtime(C.FLOOR + ".c"):
        subprocess.run(["cc", "-O2", "-o", C.FLOOR, C.FLOOR + ".c"], check=True)
    kinds = [args.only] if args.only else ["floor", "vigil"]
    results = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for n in map(int, args.sizes.split(",")):
        for advert in args.adverts.split(","):
            for kind in kinds:
                try:
                    r = (measure_floor(n, advert, args.seconds, args.floor_send) if kind == "floor"
                         else measure_vigil(n, advert, args.seconds, args.perf))
                except Exception as e:  # noqa: BLE001 - a failed cell is reported, not fatal
                    print(f"{n:5} x {advert:5}s {kind:6} FAILED: {e}", flush=True)
                    continue
                r.update({"impl": kind, "instances": n, "advert_s": float(advert)})
                results.append(r)
                l, s = r["late_ms"], r["spread_ms"]
                what = (f"backup B->M {r['backup_to_master']} transitions {r['master_transitions']} / "
                        f"{r['backup_transitions']} drops {r['master_drops']} / {r['backup_drops']}"
                        if kind == "vigil" else f"drops recv {r['backup_drops']}")
                print(f"{n:5} x {advert:5}s {kind:6} {args.seconds:.0f} s: sent {r['sent']} "
                      f"{r['us_per_sent']:.2f} us ({r['master_core_pct']:.1f}%)  received "
                      f"{r['received']} {r['us_per_received']:.2f} us ({r['backup_core_pct']:.1f}%)  "
                      f"late p50 {l['p50']:+.3f} p99 {l['p99']:+.3f} p99.9 {l['p99.9']:+.3f} max "
                      f"{l['max']:+.3f} ms over MDI {r['gaps_over_mdi']} of {r['gaps']}  spread p50 "
                      f"{s['p50']:.3f} p99 {s['p99']:.3f} ms  late episodes {r['late_episodes']} (with steal "
                      f"{r['late_episodes_with_steal']}) steal {[round(x) for x in r['steal_ms']]} ms  {what}  load {r['load'][0][0]:.1f}->"
                      f"{r['load'][1][0]:.1f}", flush=True)
    print(f"load average at end: {os.getloadavg()}", flush=True)
    if args.json:
        L.write_results(args.json, results, seconds=args.seconds)


if __name__ == "__main__":
    main()
