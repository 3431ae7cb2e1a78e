#!/usr/bin/env python3
"""Preemption hand-over, timed on the wire: Vigil and keepalived interleaved in the same run.

Two routers of one implementation on a bridge, VRRPv3 100 ms (one instance, one /24 VIP); host 1
has priority 200, host 2 priority 100. Two modes:

  restart  host 2 runs alone and becomes MASTER; host 1 starts (a returning router), waits its
           Master_Down_Interval, takes over and sends its first advert.
  heal     both run, host 1 is MASTER; host 1's bridge port is disabled (a silent partition:
           host 2 takes over, both are MASTER), then set forwarding again.

Which advert comes first after a heal decides how host 2 is woken, and that is a matter of the
two routers' advert phases, not of the implementation: if the heal falls between host 1's advert
and host 2's next one, host 2's advert reaches host 1, which answers the lower priority at once
(RFC 9568 6.4.3, keepalived), and host 2 reads that answer 50-100 us after its own send ("answer":
host 2 warm); if it falls between host 2's advert and host 1's next one, host 1's periodic advert
wakes host 2 after up to one interval asleep ("periodic": host 2 cold). Left to chance, the split
differs per run and per implementation (keepalived's usurper sends Skew_Time after the master's
phase, 61 ms of 100 at priority 100: 61% "answer"; vigild's on its own grid: 50%), and a paired
count then compares one implementation's warm runs with the other's cold ones (2026-12-04: 10 of
10 "answer" for keepalived, 1 of 10 for vigild, in one run). So the heal is aimed (--heal-path,
default: alternate): the bench watches both ports' adverts during the partition (tcpdump on each
bridge port, ingress), predicts the next ones, and sets the port forwarding in the middle of a
gap that gives the wanted path (a `bridge -batch` process already running, so the command is one
pipe write); afterwards it checks which path the capture shows, and a run whose aim missed is
redone (counted as `missed`). Run k of every implementation takes the same path, so pairs compare
warm with warm and cold with cold.

Measured (capture on the bridge, `ip -ts monitor address` on host 2 at real-time priority):

  hand-over = (VIP deleted on host 2) - (host 1's first priority-200 advert on the wire after
              the event)

Both routers hold the address during that time. A second end point, the kernel's: host 2's
monitor stamps the deletion only after it has been woken and has read the notification (30-50
us of the observer's own latency in every run, ftrace 2026-12-04), so each run also takes the
moment the kernel queued the RTM_DELADDR notification to that monitor, inside host 2's daemon's
removal (a private ftrace instance, bench/kstamp.py; trace_clock tai, compared with the pcap's
CLOCK_REALTIME), and reports both:

  kernel    = (RTM_DELADDR notification queued to host 2's monitor, i.e. the address unlinked
              from the interface) - (the same first advert)

Without tracefs or root the kernel column says NOT MEASURED and the monitor's figure stands.
The start point is taken at the same place for both implementations: the bench holds the
kernel's receive timestamping on (hold_netstamp; vigild's sockets did, keepalived's do not, and
without it keepalived's adverts were stamped about 12 us later on the path).
Host 1's own monitor (flaps only) runs at
ordinary priority: a real-time one woke as host 1 added its address, inside the measured window,
and preempted host 2's daemon on its CPU. Each run also counts what went wrong: VIP
additions / deletions on either host beyond the one expected (a flap), state changes in the
daemons' logs beyond those expected, and the growth of the drops column of the namespaces' raw
VRRP sockets. Runs alternate between the implementations (vigil, keepalived, keepalived, vigil,
...) so that both see the same load; the 1-minute load average is recorded per run.

With --instances N each router runs N instances (one address each) and the hand-over ends when
host 2's last address is gone. With --before PATH a second vigild binary runs as a third
implementation ("vigil-before"), interleaved with the others, for a before/after comparison.

Note: vigild's engine puts a master's adverts on a grid of its interval. Up to commit 9fc03c9
that grid was counted from the boot, so two vigild routers on one machine sent at the same
instant (when a partition healed, the lower one was sending its own advert as the higher one's
arrived); since then each process counts from a random epoch (io-linux sys::epoch_shift), as
routers on two machines do. A --before binary older than that still shares the grid.

With --pin host 1's daemon runs on CPU 0 and host 2's on CPU 1 (taskset, all threads), for
every implementation. Unpinned, the two routers share one kernel and two vCPUs, and the
scheduler decides whether the hand-over crosses vCPUs: two keepalived (CFS) routers are woken
on the sender's vCPU (wake-affine) and the exchange runs on one vCPU with hot caches and no
inter-processor interrupt; two vigild (SCHED_FIFO 10) routers are kept apart (a FIFO task woken
while an equal-priority one runs on its previous vCPU goes to another), so every hand-over
crosses vCPUs (ftrace 2026-12-04: 6 of 6 vigild runs crossed, 0 of 6 keepalived runs).
Pinned, both cross, as routers on two machines do (BENCHMARKS-daemon.md, 2026-12-04 morning).

With --returning IMPL host 1 runs IMPL for every implementation measured, so that only the old
master (host 2) differs. Both routers share one kernel here, and its routing lock (RTNL) is one
for all namespaces: host 1 adds its address just after its first advert, while host 2 is
removing its own, and how often host 2's RTM_DELADDR waits for host 1's RTM_NEWADDR depends on
host 1's speed, not host 2's (keepalived logs "Entering MASTER STATE" between its advert and its
RTM_NEWADDR: vrrp_state_master_tx in vrrp.c; vigild adds at once). Two routers on two machines
share no lock; the default (same implementation on both hosts) is what a pair of either would do
on this one.

Usage: bench/preempt.py [--runs N] [--mode restart|heal|both] [--instances N] [--before VIGILD]
                        [--only vigil|keepalived] [--heal-path alternate|answer|periodic|random]
                        [--pin] [--no-kernel-stamp | --kernel-stamp-alternate]
                        [--no-netstamp-hold] [--returning vigil|keepalived] [--json FILE]
"""

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402
from kstamp import KernelStamp  # noqa: E402
from takeover import parse_ts  # noqa: E402

VIP = "192.0.2.100"
INTERVAL = 0.1
BINARIES = {}
CHANGE = {
    "vigil": re.compile(r"\) (\w+) -> (\w+):"),
    "keepalived": re.compile(r"\) Entering (INIT|BACKUP|MASTER|FAULT) STATE"),
}


def vips(n):
    """The instances' addresses: 192.0.2.100 for one instance, 203.0.113.1.. for more."""
    return [VIP] if n == 1 else [f"203.0.113.{k + 1}" for k in range(n)]


def conf(prio, n=1):
    return L.conf([L.instance_conf(f"VI_{k}", "eth0", 51 + k, prio, 3, "0.1", [f"{v}/24"])
                   for k, v in enumerate(vips(n))])


def raw_drops(lab, host):
    out = L.sh("ip", "netns", "exec", lab.ns(host), "cat", "/proc/net/raw").stdout
    return sum(int(f[-1]) for f in (l.split() for l in out.splitlines()[1:])
               if len(f) >= 13 and f[1].endswith(":0070"))


def changes(d, offset):
    """State changes logged by daemon `d` after byte `offset` of its log."""
    n = 0
    with open(d.log, errors="replace") as f:
        f.seek(offset)
        for line in f:
            if CHANGE[d.kind].search(line):
                n += 1
    return n


def vip_events(path, addrs):
    """(added, deleted, last deletion time) of the addresses in an `ip -ts monitor address`
    file."""
    added = deleted = 0
    last_del = None
    for line in open(path):
        if not line.startswith("[") or not any(f" {a}/" in line for a in addrs):
            continue
        if "Deleted" in line:
            deleted += 1
            last_del = parse_ts(line)
        else:
            added += 1
    return added, deleted, last_del


def monitor_lines(path, since):
    """The address lines (added or deleted, any address) an `ip -ts monitor address` file
    stamped at or after `since`, in order: (time, deleted?, line)."""
    out = []
    for line in open(path):
        if line.startswith("["):
            t = parse_ts(line)
            if t >= since:
                out.append((t, "Deleted" in line, line))
    return out


def holds(lab, host, addrs):
    have = set(lab.addrs(host))
    return sum(a in have for a in addrs)


def settle(lab, hi_master, n=1):
    a = vips(n)
    want = (lambda: holds(lab, 1, a) == n and holds(lab, 2, a) == 0) if hi_master else \
        (lambda: holds(lab, 2, a) == n)
    return L.wait_until(10, want)


class PortWatch:
    """Live timestamps of the VRRP frames crossing one bridge port in one direction (`tcpdump -Q
    in`: what the host sends, before the bridge may drop it; `-Q out`: what the bridge delivers
    to the host), read as tcpdump prints them."""

    def __init__(self, lab, port, direction):
        self.times = []
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", lab.br(), "tcpdump", "-i", port, "-Q", direction, "-nn", "-tt",
             "-l", "--immediate-mode", "ip proto 112"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            try:
                self.times.append(float(line.split()[0]))
            except (ValueError, IndexError):
                pass

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


class BridgeBatch:
    """`bridge -batch -` in the bridge namespace, started ahead: a port change is then one pipe
    write (a new `ip netns exec ... bridge` process takes 2-20 ms to get there)."""

    def __init__(self, lab):
        self.p = subprocess.Popen(["ip", "netns", "exec", lab.br(), "bridge", "-batch", "-"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, text=True)

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.p.kill()
            self.p.wait()


class Missed(RuntimeError):
    """The aimed heal took the other path (the capture says which): the run is redone."""


def bursts(ts):
    """The first advert of each burst (one per interval at --instances N)."""
    out = []
    for t in ts:
        if not out or t - out[-1] > 0.005:
            out.append(t)
    return out


def period(ts):
    d = sorted(b - a for a, b in zip(ts[-5:], ts[-4:]))
    return d[len(d) // 2] if d else INTERVAL


def aim(sent1, sent2, path, lead=0.015, gap_min=0.02):
    """When to heal so that the first advert after it is host 2's ("answer") or host 1's
    ("periodic"): the middle of the next gap between an advert of the one router and the next
    of the other, predicted from each router's last adverts and its own period (keepalived's
    period stretches under load). None when no gap of at least `gap_min` comes within the next
    few intervals, or the two routers send within 10 ms of each other (phases too close: the
    run is redone with new daemons)."""
    sent1, sent2 = bursts(sent1), bursts(sent2)
    if len(sent1) < 3 or len(sent2) < 3:
        return None
    now = time.time()
    ev = []
    for who, ts in ((1, sent1), (2, sent2)):
        t, per = ts[-1], period(ts)
        for k in range(8):
            ev.append((t + k * per, who))
    ev.sort()
    before, after = (1, 2) if path == "answer" else (2, 1)
    for i in range(1, len(ev) - 2):
        (z, _), (a, wa), (b, wb), (c, _) = ev[i - 1:i + 3]
        # Neither router sends within 10 ms of the other around the heal: two adverts a few us
        # apart race (host 2's arrives as host 1 sends its periodic one), and the run is no
        # longer the path it is counted as.
        if (wa == before and wb == after and b - a >= gap_min and a - z >= gap_min / 2
                and c - b >= gap_min / 2 and (a + b) / 2 >= now + lead):
            return (a + b) / 2
    return None


PIN = False
# The kernel-side end point (bench/kstamp.py); main() replaces it.
KS = KernelStamp(enabled=False)
# --kernel-stamp-alternate: the instance's events on in runs 0, 1, 4, 5, ..., off in 2, 3, 6, 7,
# ... (both heal paths in each half), to measure what they cost in the same window.
ALTERNATE = False
# --returning: host 1's implementation for every run (None: the measured one).
RETURNING = None


def start(lab, kind, host, text, tag):
    """Start a router; with --pin, host 1's daemon on CPU 0 and host 2's on CPU 1 (every thread),
    as two machines would have them: no router is then woken on the other's CPU."""
    d = lab.start(kind, host, text, tag=tag)
    if PIN:
        for pid in d.pids():
            L.sh("taskset", "-a", "-p", "-c", str(host - 1), str(pid), check=False)
    return d


def one_run(lab, impl, mode, k, n=1, heal_path="random"):
    """One hand-over of `impl`: "vigil", "keepalived", or "vigil-before" (the vigild binary
    named by --before, for a before/after comparison in the same window). `heal_path`: "answer"
    or "periodic" aims the heal (see the module's note; raises Missed when the capture shows the
    other path), "random" heals at a random instant as this bench did before 2026-12-04."""
    tag = f"{impl}-{mode}-{k}"
    kind = "vigil" if impl.startswith("vigil") else "keepalived"
    # Host 1 (the returning / healing router): the measured implementation, or with --returning
    # the same one for every implementation measured (module note).
    hi_impl = RETURNING or impl
    hi_kind = "vigil" if hi_impl.startswith("vigil") else "keepalived"
    L.VIGILD = BINARIES.get(impl, L.VIGILD)
    addrs = vips(n)
    lo = start(lab, kind, 2, conf(100, n), f"{tag}-lo")
    watch = batch = None
    try:
        if mode == "restart":
            if not settle(lab, False, n):
                raise RuntimeError("host 2 never became MASTER")
            time.sleep(0.3 + random.random() * INTERVAL)
        else:
            L.VIGILD = BINARIES.get(hi_impl, L.VIGILD)
            hi = start(lab, hi_kind, 1, conf(200, n), f"{tag}-hi")
            if not settle(lab, True, n):
                raise RuntimeError("no election")
            L.sh("ip", "netns", "exec", lab.br(), "bridge", "link", "set", "dev", "p1l0", "state", "0")
            if not settle(lab, False, n):
                raise RuntimeError("host 2 did not take over during the partition")
            if heal_path == "random":
                # Both MASTER now; a random phase between the two routers' advert schedules.
                time.sleep(0.3 + random.random() * INTERVAL)
        pcap = os.path.join(lab.dir, f"{tag}.pcap")
        to1 = None
        if mode == "heal":
            # What the bridge delivers to host 1 once its port forwards: host 2's advert there
            # before host 1's first one = the "answer" path. Not immediate: no wake-up per frame.
            to1 = lab.capture(pcap + ".to1", dev="p1l0", direction="out", immediate=False)
            if heal_path != "random":
                watch = (PortWatch(lab, "p1l0", "in"), PortWatch(lab, "p2l0", "in"))
                batch = BridgeBatch(lab)
                time.sleep(0.3)
        # Not immediate: a tcpdump woken for each frame on the bridge is woken by host 1's
        # first advert, and the wake-up (an IPI to the other vCPU when the scheduler puts it
        # there: 14-19 us on this VM, ftrace 2026-12-04 07:48) ran in host 1's send, between
        # the bridge's copy for the capture and host 2's copy: inside the measured window, for
        # whichever implementation drew it. The frames keep their kernel timestamps.
        cap = lab.capture(pcap, immediate=False)
        mon2 = lab.monitor_addresses(2, pcap + ".mon2")
        # Host 1's monitor only counts flaps, and host 1 adds its address inside the measured
        # window (restart): at real-time priority it preempted host 2's daemon on its CPU
        # between reading the advert and removing the address (perf trace, 17:55 UTC
        # 2026-12-03: 88 us, the slow runs of vigild's restart). Not timed: ordinary priority.
        mon1 = lab.monitor_addresses(1, pcap + ".mon1", timed=False)
        drops0 = (raw_drops(lab, 1), raw_drops(lab, 2))
        offs = {}
        # The kernel's end point: the RTM_DELADDR notification queued to host 2's monitor, in
        # host 2's daemon's context (bench/kstamp.py). Armed now, so that every line the
        # monitor prints from here on has its event.
        t_arm = time.time()
        armed = KS.ok and not (ALTERNATE and (k // 2) % 2 == 1)
        if armed:
            KS.arm(mon2.pid, lo.pids())
        else:
            KS.disarm()
        time.sleep(0.2)
        if watch:
            # Stopped first (a tcpdump takes up to tens of ms to exit; it must not run beside
            # the measured path either), then aimed from what they saw.
            for w in watch:
                w.stop()
            at = aim(watch[0].times, watch[1].times, heal_path)
            if at is None:
                raise Missed(f"no gap of 20 ms for the {heal_path} path, or phases within 10 ms")
            time.sleep(max(0.0, at - time.time()))
        t_event = time.time()
        at_set = at if watch else t_event
        if mode == "restart":
            L.VIGILD = BINARIES.get(hi_impl, L.VIGILD)
            hi = start(lab, hi_kind, 1, conf(200, n), f"{tag}-hi")
        else:
            offs = {d: os.path.getsize(d.log) for d in (hi, lo)}
            if batch:
                batch.send("link set dev p1l0 state 3")
            else:
                L.sh("ip", "netns", "exec", lab.br(), "bridge", "link", "set", "dev", "p1l0", "state", "3")
        ok = settle(lab, True, n)
        time.sleep(0.5)
        kev = KS.collect() if KS.ok and armed else None
        drops = (raw_drops(lab, 1) - drops0[0], raw_drops(lab, 2) - drops0[1])
        for p in (mon1, mon2):
            lab.stop_bg(p)
        # Not immediate: libpcap hands a block over when it is full or 1 s old (tcpdump's
        # timeout); stopped earlier, the block with the event was lost.
        time.sleep(1.1)
        for p in (cap, to1):
            if p:
                lab.stop_bg(p)
        if batch:
            batch.close()
            batch = None
        if not ok:
            raise RuntimeError("host 2 kept the address")
        rows = L.tshark(pcap, "vrrp", ["frame.time_epoch", "eth.src", "vrrp.prio"])
        first = next((float(t) for t, src, p in rows
                      if src == L.mac(1) and p == "200" and float(t) >= t_event), None)
        if first is None:
            raise RuntimeError(f"no advert of host 1 in {pcap}")
        # How long before host 1's first advert host 2 sent its own (heal). Under 1 ms, host 1's
        # first advert is its answer to host 2's lower priority (or, two routers on one advert
        # grid, sent at the same instant), and host 2 had just run: it is woken warm. Otherwise
        # host 1's periodic advert came first and woke host 2 after up to one interval asleep.
        own = [float(t) for t, src, p in rows if src == L.mac(2) and float(t) <= first]
        since_own_us = (first - own[-1]) * 1e6 if own else None
        path = answer_us = None
        if mode == "heal":
            got = [float(t) for t, src in L.tshark(pcap + ".to1", "vrrp", ["frame.time_epoch", "eth.src"])
                   if src == L.mac(2) and float(t) >= t_event]
            # The delivery capture has lost a frame now and then (three runs at 03:30, all with
            # host 2's advert on the bridge 0.1 ms before host 1's answer): host 2's advert on
            # the bridge after the heal and within 2 ms before host 1's first counts too (the
            # aim keeps host 1's periodic advert 10 ms away from host 2's).
            heard = [float(t) for t, src, p in rows if src == L.mac(2) and t_event <= float(t) < first]
            answered = (got and got[0] < first) or (heard and first - heard[-1] < 0.002)
            path = "answer" if answered else "periodic"
            # How long host 1 took to answer (from host 2's advert reaching its port): an
            # answer skipped or held back shows here as tens of ms.
            answer_us = (first - got[0]) * 1e6 if got and got[0] < first else None
            if heal_path in ("answer", "periodic") and path != heal_path:
                nxt2 = [float(t) for t, src, p in rows if src == L.mac(2) and float(t) >= t_event]
                raise Missed(f"aimed at {heal_path}, took {path} (heal set {(t_event - at_set) * 1e3:.1f} ms "
                             f"after the aim; then host 1 +{(first - t_event) * 1e3:.1f} ms, host 2 "
                             f"+{(nxt2[0] - t_event) * 1e3 if nxt2 else float('nan'):.1f} ms, "
                             f"delivered to host 1 +{(got[0] - t_event) * 1e3 if got else float('nan'):.1f} ms)")
        add2, del2, gone = vip_events(pcap + ".mon2", addrs)
        add1, del1, _ = vip_events(pcap + ".mon1", addrs)
        # Expected: host 1 adds each address once (restart) or holds them (heal), host 2 deletes
        # each once.
        flaps = add2 + max(del2 - n, 0) + del1 + max(add1 - (n if mode == "restart" else 0), 0)
        # Expected state changes after the heal: MASTER -> BACKUP on host 2 per instance. (On
        # restart host 1 starts, and the implementations log start-up differently: not counted.)
        extra = None
        if offs:
            extra = changes(lo, offs[lo]) - n + changes(hi, offs[hi])
        if gone is None:
            raise RuntimeError("no deletion seen")
        kernel_ms = observer_us = woken_us = None
        kproblem = (None if KS.ok and armed else
                    "not measured: not armed in this run (--kernel-stamp-alternate)" if KS.ok
                    else f"not measured: {KS.why}")
        if kev is not None:
            lines = monitor_lines(pcap + ".mon2", t_arm)
            notes, wakes, kproblem = KS.removal(kev, len(lines))
            # The notification of the monitor's last deletion of one of the run's addresses
            # (the line that ends the hand-over): the monitor prints them in the order the
            # kernel queued them, one line per notification.
            last = max((i for i, (t, dl, line) in enumerate(lines)
                        if dl and any(f" {a}/" in line for a in addrs)), default=None)
            if kproblem is None and last is not None:
                k_t = notes[last]
                if not first < k_t < gone:
                    kproblem = (f"kernel stamp {(k_t - first) * 1e3:.3f} ms not between host 1's "
                                f"advert and the monitor's stamp {(gone - first) * 1e3:.3f} ms")
                else:
                    kernel_ms = (k_t - first) * 1000
                    observer_us = (gone - k_t) * 1e6
                    w = [x for x in wakes if k_t <= x < k_t + 50e-6]
                    woken_us = (w[0] - k_t) * 1e6 if w else None
            elif kproblem is None:
                kproblem = "no deletion line after arming"
        return {"ms": (gone - first) * 1000, "kernel_ms": kernel_ms, "observer_us": observer_us,
                "monitor_woken_us": woken_us, "kernel_problem": kproblem, "armed": armed,
                "flaps": flaps, "extra_changes": extra,
                "drops": drops, "load": os.getloadavg()[0], "since_own_advert_us": since_own_us,
                "path": path, "answer_us": answer_us}
    finally:
        KS.stop()
        # A run that ended early (a missed aim, a failure) left its captures, monitors and the
        # bridge batch running: stopped here, or they ran beside every later run (a real-time
        # address monitor of host 2 among them).
        for w in watch or ():
            w.stop()
        if batch:
            batch.close()
        for p in list(lab.bg):
            lab.stop_bg(p)
        for d in lab.daemons:
            if d.proc.poll() is None:
                d.terminate()
        lab.daemons.clear()
        L.sh("ip", "netns", "exec", lab.br(), "bridge", "link", "set", "dev", "p1l0", "state", "3",
             check=False)
        for h in (1, 2):
            have = set(lab.addrs(h))
            for a in addrs:
                if a in have:
                    L.sh("ip", "-n", lab.ns(h), "addr", "del", f"{a}/24", "dev", "eth0", check=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--mode", default="both", choices=["restart", "heal", "both"])
    ap.add_argument("--instances", type=int, default=1,
                    help="instances per router (hand-over = the last address gone)")
    ap.add_argument("--only")
    ap.add_argument("--before", help="another vigild binary, run as a third implementation")
    ap.add_argument("--heal-path", default="alternate",
                    choices=["alternate", "answer", "periodic", "random"],
                    help="which advert comes first after the heal (module note): alternate = run "
                         "k takes 'answer' for even k, 'periodic' for odd k, for every "
                         "implementation; random = a random heal instant (the bench before "
                         "2026-12-04)")
    ap.add_argument("--pin", action="store_true",
                    help="host 1's daemon on CPU 0, host 2's on CPU 1 (module note)")
    ap.add_argument("--no-kernel-stamp", action="store_true",
                    help="no ftrace instance: the monitor's stamp only (to measure the "
                         "instance's cost)")
    ap.add_argument("--kernel-stamp-alternate", action="store_true",
                    help="the ftrace instance's events on in runs 0, 1, 4, 5, ... and off in 2, 3, "
                         "6, 7, ...: the monitor's figure with and without, in the same window")
    ap.add_argument("--no-netstamp-hold", action="store_true",
                    help="do not hold the kernel's receive timestamping on (the start point as "
                         "before 2026-12-04's eighth session: see hold_netstamp)")
    ap.add_argument("--returning", choices=["vigil", "keepalived"],
                    help="host 1 (the returning or healing router) runs this implementation for "
                         "every implementation measured: only host 2, the old master, differs "
                         "(module note)")
    ap.add_argument("--json")
    args = ap.parse_args()
    global PIN, KS, ALTERNATE, RETURNING
    PIN = args.pin
    RETURNING = args.returning
    ALTERNATE = args.kernel_stamp_alternate
    # SIGTERM / SIGHUP end the run through the `finally`s (ftrace instance, mount, namespaces).
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, f: sys.exit(128 + n))
    KS = KernelStamp(enabled=not args.no_kernel_stamp)
    hold = None if args.no_netstamp_hold else hold_netstamp()
    try:
        run(args)
    finally:
        KS.close()
        if hold:
            hold.close()


def hold_netstamp():
    """Keep the kernel's receive timestamping on for the whole bench: a socket of ours with
    SO_TIMESTAMPNS. The start point is the pcap's kernel timestamp of host 1's first advert, and
    where in the frame's path the kernel takes it depends on a machine-wide switch: while any
    socket on the machine asks for receive timestamps, every frame is stamped as it enters the
    bridge's port (netif_rx, about 1 us after host 1's net_dev_queue); otherwise tcpdump stamps
    it as the bridge hands it to the capture (15-20 us later in the traced path, after the
    bridge's work). vigild asks for them (SO_TIMESTAMPNS on its VRRP sockets), keepalived does
    not: without this socket, keepalived's runs started their clock later on the same path than
    vigild's (ftrace 2026-12-04 12:49, BENCHMARKS-daemon.md, eighth session)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_TIMESTAMPNS", 35), 1)
    return s


def med3(xs, fmt=".3f"):
    """median [min, max] of the values that are not None, as text."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "not measured"
    return f"{L.percentile(xs, 50):{fmt}} [{min(xs):{fmt}}, {max(xs):{fmt}}]"


def run(args):
    if KS.ok:
        print(f"kernel end point: sock:sk_data_ready on host 2's monitor socket (RTM_DELADDR "
              f"queued), trace_clock tai, TAI offset {KS.offset} s", flush=True)
    else:
        print(f"!!! kernel end point NOT MEASURED: {KS.why}; the monitor's stamp only", flush=True)
    kinds = [args.only] if args.only else ["vigil", "keepalived"]
    BINARIES["vigil"] = L.VIGILD
    if args.before:
        BINARIES["vigil-before"] = args.before
        kinds.append("vigil-before")
    modes = ["restart", "heal"] if args.mode == "both" else [args.mode]
    results = []
    pairs_out = []
    with L.Lab("pre", hosts=2) as lab:
        for mode in modes:
            runs = {k: [] for k in kinds}
            failed = {k: 0 for k in kinds}
            missed = {k: 0 for k in kinds}
            for k in range(args.runs):
                order = kinds if k % 2 == 0 else kinds[::-1]  # neither always first
                hp = args.heal_path
                if hp == "alternate":
                    hp = ("answer", "periodic")[k % 2]
                for kind in order:
                    r = None
                    for _ in range(6):
                        try:
                            r = one_run(lab, kind, mode, k, args.instances, hp)
                            break
                        except Missed as e:
                            print(f"  {mode} {kind} run {k}: {e}, again", flush=True)
                            missed[kind] += 1
                        except RuntimeError as e:
                            print(f"  {mode} {kind} run {k}: {e}", flush=True)
                            failed[kind] += 1
                            break
                    if r is None:
                        continue
                    r["k"] = k
                    runs[kind].append(r)
                    own = r["since_own_advert_us"]
                    kern = (f"kernel {r['kernel_ms']:7.3f} ms (monitor +{r['observer_us']:.0f} us"
                            + ("" if r["monitor_woken_us"] is None
                               else f", woken +{r['monitor_woken_us']:.0f}") + ")  "
                            if r["kernel_ms"] is not None
                            else f"kernel NOT MEASURED ({r['kernel_problem']})  ")
                    print(f"  {mode:7} {kind:12} run {k:2}  monitor {r['ms']:7.3f} ms  {kern}"
                          f"{'' if r['path'] is None else r['path'] + '  '}"
                          f"{'' if r['answer_us'] is None else 'answered in %.0f us  ' % r['answer_us']}"
                          f"flaps {r['flaps']}  "
                          f"extra changes {r['extra_changes']}  drops {r['drops']}  "
                          f"load {r['load']:.2f}  host 2's own advert "
                          f"{'-' if own is None else f'{own:.0f} us'} before", flush=True)
            for kind in kinds:
                xs = [r["ms"] for r in runs[kind]]
                if not xs:
                    print(f"{mode:7} {kind:10} all runs failed", flush=True)
                    continue
                ks = [r["kernel_ms"] for r in runs[kind] if r["kernel_ms"] is not None]
                obs = [r["observer_us"] for r in runs[kind] if r["observer_us"] is not None]
                s = {"mode": mode, "impl": kind, "instances": args.instances, "runs": len(xs),
                     "failed": failed[kind], "missed_aim": missed[kind],
                     "heal_path": args.heal_path if mode == "heal" else None,
                     "median_ms": L.percentile(xs, 50), "min_ms": min(xs), "max_ms": max(xs),
                     "kernel_runs": len(ks),
                     "kernel_median_ms": L.percentile(ks, 50) if ks else None,
                     "kernel_min_ms": min(ks) if ks else None,
                     "kernel_max_ms": max(ks) if ks else None,
                     "observer_us": [L.percentile(obs, 50), min(obs), max(obs)] if obs else None,
                     "flaps": sum(r["flaps"] for r in runs[kind]),
                     "extra_changes": sum(r["extra_changes"] or 0 for r in runs[kind]),
                     "drops": sum(sum(r["drops"]) for r in runs[kind]),
                     "load": [min(r["load"] for r in runs[kind]), max(r["load"] for r in runs[kind])],
                     "each": runs[kind]}
                # Split by the path the heal took (module note): host 2 woken warm by the answer
                # to its own advert, or cold by host 1's periodic advert.
                for name in ("answer", "periodic"):
                    ys = [r["ms"] for r in runs[kind] if r["path"] == name]
                    s[name] = [L.percentile(ys, 50), min(ys), max(ys), len(ys)] if ys else None
                    zs = [r["kernel_ms"] for r in runs[kind]
                          if r["path"] == name and r["kernel_ms"] is not None]
                    s[name + "_kernel"] = [L.percentile(zs, 50), min(zs), max(zs), len(zs)] if zs else None
                results.append(s)
                print(f"{mode:7} {kind:12} runs {len(xs):2}  after the first advert, ms: monitor "
                      f"stamp {med3(xs)}  kernel removal {med3(ks)} ({len(ks)} of {len(xs)} runs)"
                      f"  monitor - kernel {med3(obs, '.0f')} us", flush=True)
                if args.kernel_stamp_alternate:
                    on = [r["ms"] for r in runs[kind] if r["armed"]]
                    off = [r["ms"] for r in runs[kind] if not r["armed"]]
                    s["monitor_armed_ms"] = [L.percentile(on, 50), len(on)] if on else None
                    s["monitor_not_armed_ms"] = [L.percentile(off, 50), len(off)] if off else None
                    print(f"{'':7} {'':12} monitor stamp with the instance's events on: {med3(on)} "
                          f"({len(on)} runs), off: {med3(off)} ({len(off)} runs)", flush=True)
                print(f"{'':7} {'':12} flaps "
                      f"{s['flaps']}  extra state changes {s['extra_changes']}  socket drops "
                      f"{s['drops']}  failed {s['failed']}  missed aim {s['missed_aim']}  "
                      f"load {s['load'][0]:.1f}-{s['load'][1]:.1f}", flush=True)
                for name in ("answer", "periodic"):
                    if mode == "heal" and s[name]:
                        m, lo, hi, n = s[name]
                        kk = s[name + "_kernel"]
                        print(f"{'':7} {'':12} {name} (host 2 woken {'warm' if name == 'answer' else 'cold'}): "
                              f"{n} runs, monitor {m:.3f} ms [{lo:.3f}, {hi:.3f}], kernel "
                              + (f"{kk[0]:.3f} ms [{kk[1]:.3f}, {kk[2]:.3f}] ({kk[3]})" if kk
                                 else "not measured"), flush=True)
            if "keepalived" in kinds and runs.get("vigil") and runs["keepalived"]:
                # Pairwise, same window: run k of vigil against run k of keepalived; in `heal`
                # with an aimed path both took the same path, else the i-th run of each path.
                if mode == "heal" and args.heal_path == "random":
                    pairs = [pr for name in ("answer", "periodic") for pr in zip(
                        [r for r in runs["vigil"] if r["path"] == name],
                        [r for r in runs["keepalived"] if r["path"] == name])]
                else:
                    ka = {r["k"]: r for r in runs["keepalived"]}
                    pairs = [(v, ka[v["k"]]) for v in runs["vigil"] if v["k"] in ka]
                slower = sum(1 for v, c in pairs if v["ms"] > c["ms"])
                kp = [(v, c) for v, c in pairs
                      if v["kernel_ms"] is not None and c["kernel_ms"] is not None]
                kslower = sum(1 for v, c in kp if v["kernel_ms"] > c["kernel_ms"])
                print(f"{mode:7} vigil slower than keepalived in {slower} of {len(pairs)} paired "
                      f"runs (monitor stamp), in {kslower} of {len(kp)} (kernel removal); slowest "
                      f"vigil {max(r['ms'] for r in runs['vigil']):.3f} ms, fastest keepalived "
                      f"{min(r['ms'] for r in runs['keepalived']):.3f} ms (monitor)", flush=True)
                paired = {"mode": mode, "paired": len(pairs), "vigil_slower_monitor": slower,
                          "paired_kernel": len(kp), "vigil_slower_kernel": kslower}
                if mode == "heal":
                    for name in ("answer", "periodic"):
                        pn = [(v, c) for v, c in pairs if v["path"] == name]
                        kn = [(v, c) for v, c in kp if v["path"] == name]
                        a = sum(v['ms'] > c['ms'] for v, c in pn)
                        b = sum(v['kernel_ms'] > c['kernel_ms'] for v, c in kn)
                        paired[name] = [a, len(pn), b, len(kn)]
                        print(f"{'':7} {name}: vigil slower in {a} of {len(pn)} (monitor), {b} of "
                              f"{len(kn)} (kernel)", flush=True)
                pairs_out.append(paired)
    if args.json:
        L.write_results(args.json, results, vigild=L.binary_id(BINARIES["vigil"]),
                        before=L.binary_id(args.before),
                        paired=pairs_out, pin=args.pin, returning=args.returning,
                        kernel_stamp_alternate=args.kernel_stamp_alternate,
                        netstamp_hold=not args.no_netstamp_hold,
                        kernel_end_point=("sock:sk_data_ready on host 2's monitor socket in host "
                                          "2's daemon's context (RTM_DELADDR queued), "
                                          "trace_clock tai" if KS.ok else
                                          f"NOT MEASURED: {KS.why}"))


if __name__ == "__main__":
    main()
