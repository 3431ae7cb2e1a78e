#!/usr/bin/env python3
"""Spurious takeovers and socket drops at many instances and short intervals: Vigil and keepalived
in the same run and the same namespaces (issue 20).

A master (priority 200) and a backup (priority 100) of one implementation run N VRRPv3 instances
(255 per link, one /32 virtual address each). Once the master holds every address and the backup
has settled, for SECONDS:

  transitions  = state changes each router logged during the window (vigild: "X -> Y", keepalived:
                 "Entering ... STATE"); the backup's BACKUP -> MASTER lines are the spurious
                 takeovers (the master is alive throughout)
  socket drops = growth of the drops column of /proc/net/raw for the VRRP sockets (protocol 112)
                 of each router's namespace: adverts the kernel threw away because the socket's
                 receive buffer was full
With --stall MS the backup is stopped (SIGSTOP) for MS milliseconds in the middle of the window:
the same stall for every implementation, longer than Master_Down_Interval at 10-20 ms adverts.
With --stall-both the master is stopped and resumed with it (a pause of the whole machine), and
--stalls K spreads K such stalls over the window.

  rcvbuf       = the receive buffer the kernel granted the backup's VRRP sockets (getsockopt)

Also used by bench/cpu.py (its flap counter). Usage:
  bench/flaps.py [--seconds S] [--sizes 255] [--adverts 0.01,0.02] [--only vigil|keepalived]
                 [--start master-first|together] [--stall MS [--stall-both] [--stalls K]]
                 [--json FILE]
"""

import argparse
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402

VIGIL_CHANGE = re.compile(r"\) (INIT|BACKUP|MASTER|FAULT) -> (INIT|BACKUP|MASTER|FAULT):")
KEEPALIVED_CHANGE = re.compile(r"\) Entering (INIT|BACKUP|MASTER|FAULT) STATE")


def raw_drops(lab, host):
    """Sum of the drops column of the namespace's raw sockets of protocol 112 (VRRP)."""
    out = L.sh("ip", "netns", "exec", lab.ns(host), "cat", "/proc/net/raw").stdout
    total = 0
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 13 and f[1].endswith(":0070"):
            total += int(f[-1])
    return total


def rcvbuf(lab, host, daemon):
    """The receive buffers the kernel granted the daemon's VRRP sockets (SO_RCVBUF read with
    getsockopt on a copy of each socket taken with pidfd_getfd), distinct values."""
    import ctypes  # noqa: PLC0415
    import socket  # noqa: PLC0415
    inodes = set()
    for line in L.sh("ip", "netns", "exec", lab.ns(host), "cat", "/proc/net/raw").stdout.splitlines()[1:]:
        f = line.split()
        if len(f) >= 13 and f[1].endswith(":0070"):
            inodes.add(f[9])
    libc = ctypes.CDLL(None, use_errno=True)
    out = set()
    for pid in daemon.pids():
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                m = re.fullmatch(r"socket:\[(\d+)\]", link)
                if not m or m.group(1) not in inodes:
                    continue
                copy = libc.syscall(438, pidfd, int(fd), 0)  # pidfd_getfd
                if copy < 0:
                    continue
                s = socket.socket(fileno=copy)
                try:
                    out.add(s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
                finally:
                    s.close()
        finally:
            os.close(pidfd)
    return sorted(out)


def vips_held(lab, host, links):
    """IPv4 addresses on the host's links beyond each link's own primary address."""
    n = 0
    for k in range(links):
        out = L.sh("ip", "-n", lab.ns(host), "-o", "-4", "addr", "show", "dev", f"eth{k}").stdout
        n += max(len(out.splitlines()) - 1, 0)
    return n


class Transitions:
    """Counts the state changes a daemon logs from the moment it is created."""

    def __init__(self, daemon):
        self.d = daemon
        self.offset = os.path.getsize(daemon.log)

    def count(self):
        pat = VIGIL_CHANGE if self.d.kind == "vigil" else KEEPALIVED_CHANGE
        to_master = total = 0
        with open(self.d.log, errors="replace") as f:
            f.seek(self.offset)
            for line in f:
                m = pat.search(line)
                if not m:
                    continue
                total += 1
                if m.group(m.lastindex) == "MASTER":
                    to_master += 1
        return total, to_master


def window(lab, hi, lo, links):
    """Start counting now: returns a function that, called at the end of the window, gives the
    transitions and socket drops of each router since."""
    t_hi, t_lo = Transitions(hi), Transitions(lo)
    d0 = (raw_drops(lab, 1), raw_drops(lab, 2))
    a0 = vips_held(lab, 2, links)

    def end():
        (hi_all, _), (lo_all, lo_master) = t_hi.count(), t_lo.count()
        return {
            "master_transitions": hi_all, "backup_transitions": lo_all,
            "backup_to_master": lo_master,
            "master_drops": raw_drops(lab, 1) - d0[0], "backup_drops": raw_drops(lab, 2) - d0[1],
            "backup_vips_start": a0, "backup_vips_end": vips_held(lab, 2, links),
            "backup_rcvbuf": rcvbuf(lab, 2, lo),
        }
    return end


def stall(daemon, ms, also=None):
    """Stop every process of the daemon for `ms` milliseconds (SIGSTOP / SIGCONT): a loop that
    does not run for longer than Master_Down_Interval, the adverts waiting in its socket. With
    `also` (the master), both are stopped and resumed together: what a pause of the whole
    machine (a virtual machine whose vCPUs all stop) does to two routers on it."""
    pids = daemon.pids() + (also.pids() if also else [])
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    time.sleep(ms / 1000)
    for p in pids:
        os.kill(p, signal.SIGCONT)


def measure(kind, n, advert, seconds, start, stall_ms=0, stall_both=False, stalls=1):
    from cpu import conf  # noqa: PLC0415 - the same configuration as the CPU benchmark
    links = (n + 254) // 255
    with L.Lab("flp", hosts=2, links=links) as lab:
        if start == "master-first":
            hi, lo = L.start_master_then_backup(lab, kind, n, links, conf(n, 200, advert),
                                                conf(n, 100, advert))
        else:
            # Both at once (the backup first by a hair): every instance of both goes through
            # start-up at the same time, the master preempts; the window starts 3 s later.
            lo = lab.start(kind, 2, conf(n, 100, advert))
            hi = lab.start(kind, 1, conf(n, 200, advert))
            ok = L.wait_until(30, lambda: vips_held(lab, 1, links) >= n, step=0.2)
            if not ok:
                raise RuntimeError(f"{kind}: master never held all {n} addresses ({lab.dir})")
            time.sleep(3)
        end = window(lab, hi, lo, links)
        if stall_ms:
            for _ in range(stalls):
                time.sleep(seconds / (stalls + 1))
                stall(lo, stall_ms, hi if stall_both else None)
            time.sleep(seconds / (stalls + 1))
        else:
            time.sleep(seconds)
        return end()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--only")
    ap.add_argument("--sizes", default="255")
    ap.add_argument("--adverts", default="0.01,0.02,0.1")
    ap.add_argument("--start", choices=["master-first", "together"], default="master-first")
    ap.add_argument("--stall", type=float, default=0,
                    help="stop the backup for this many ms in the middle of the window")
    ap.add_argument("--stall-both", action="store_true",
                    help="stop the master together with the backup (a pause of the whole machine)")
    ap.add_argument("--stalls", type=int, default=1, help="how many stalls, evenly spread")
    ap.add_argument("--json")
    args = ap.parse_args()
    kinds = [args.only] if args.only else ["vigil", "keepalived"]
    results = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for n in map(int, args.sizes.split(",")):
        for advert in args.adverts.split(","):
            for kind in kinds:
                try:
                    r = measure(kind, n, advert, args.seconds, args.start, args.stall,
                                args.stall_both, args.stalls)
                except Exception as e:  # noqa: BLE001 - a failed cell is reported, not fatal
                    print(f"{n:5} x {advert:5}s {kind:10} FAILED: {e}", flush=True)
                    continue
                r.update({"impl": kind, "instances": n, "advert_s": float(advert), "start": args.start,
                          "stall_ms": args.stall, "stall_both": args.stall_both,
                          "stalls": args.stalls})
                results.append(r)
                print(f"{n:5} x {advert:5}s {kind:10} {args.seconds:.0f} s"
                      f"{f' {args.stalls} stall(s) of {args.stall:.0f} ms' if args.stall else ''}"
                      f"{' (both)' if args.stall_both else ''}: backup B->M "
                      f"{r['backup_to_master']:6}  transitions master / backup "
                      f"{r['master_transitions']:6} / {r['backup_transitions']:6}  socket drops "
                      f"master / backup {r['master_drops']:7} / {r['backup_drops']:7}  backup VIPs "
                      f"{r['backup_vips_start']} -> {r['backup_vips_end']}  backup rcvbuf "
                      f"{r['backup_rcvbuf']}", flush=True)
    print(f"load average at end: {os.getloadavg()}", flush=True)
    if args.json:
        L.write_results(args.json, results, seconds=args.seconds)


if __name__ == "__main__":
    main()
