#!/usr/bin/env python3
"""Per-step timeline of each hand-over in a bench/handover_trace.sh recording (issue 18).

For every deletion that woke host 2's timed address monitor (the FIFO 50 `ip -ts monitor
address` of bench/preempt.py), walks back through host 2's daemon (the process of the run's
`-lo.conf`) and forward through the monitor, and prints microseconds after host 1's advert left
its eth0 (host 1's daemon's net_dev_queue):

  woken     host 2's daemon woken (sched_waking; the frame went through veth, the bridge, the
            capture's copy and host 2's veth, all in host 1's send)
  run       switched in (on `tcpu`; `waker_cpu` is where host 1 sent from: different = a
            cross-vCPU wake-up, an IPI)
  epoll     its epoll_wait / epoll_pwait returns
  recv>     its recvmsg / recvmmsg entered;  recv<  returned
  delete    the RTM_DELADDR sendto / sendmsg entered (`nr`: its system call number)
  queued    the notification queued to the monitor's socket (the sk_data_ready just before the
            monitor's wake-up, same context: bench/kstamp.py's kernel end point)
  mon woken / mon run / mon recv<   the monitor woken by the deletion, switched in, its recvmsg
            returned (it prints its timestamp then)
  delete<   the RTM_DELADDR system call returned (the routes removed too; after the chain)
  br0 / eth0(2)   the bridge's copy for the capture, and host 2's veth receiving the frame
  ipis      IPIs host 1 sent between its advert and host 2's wake-up (e.g. waking the capture)
  lock      host 2 waiting for a lock between entering its RTM_DELADDR and the notification
            (lock:contention_begin -> _end, us; `M` = a mutex: the RTNL, which host 1's own
            RTM_NEWADDR holds when the two overlap in `restart`)
  faults    host 2's page faults from its wake-up to the notification
  h1        host 1's system calls from its advert to host 2's `delete<`: NR[entered-returned] us
            (44 sendto: the RTM_NEWADDR, then the gratuitous ARPs; 1 write: a log line; 2 / 82:
            open / rename of the address record; 46 sendmsg, keepalived's netlink)
  SAME vCPU host 2 ran on the vCPU host 1 sent from: a SCHED_FIFO host 2 then waits for host
            1 (same priority, no preemption) to finish its work and sleep

Each line is labelled by run (e.g. vigil-restart-3); the summary gives the steps by
implementation and mode. Lost events (the trace buffer overran) are counted and reported: a run
missing from the lines is usually one whose events were lost.

Usage: bench/handover_timeline.py OUT   (the OUT of bench/handover_trace.sh)
"""

import collections
import re
import statistics
import sys

LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$")
SYS = {232: "epoll", 281: "epoll", 441: "epoll", 47: "recv", 299: "recv", 45: "recv",
       44: "send", 46: "send"}


def main():
    base = sys.argv[1]
    ev = []
    lost = 0
    for line in open(base + ".trace", errors="replace"):
        m = LINE.match(line)
        if "LOST" in line and m is None:
            lost += 1
        if m:
            comm, pid, cpu, ts, name, rest = m.groups()
            ev.append((float(ts), int(pid), int(cpu), name, rest, comm))
    tags, mon = {}, set()
    for line in open(base + ".ps"):
        f = line.split(None, 2)
        if len(f) < 3 or not f[0].isdigit():
            continue
        pid, comm, args = int(f[0]), f[1], f[2]
        m = re.search(r"pre/([\w-]+)-(lo|hi)\.conf", args)
        if m and comm != "ip":  # the daemons (vigild under any file name, keepalived)
            tags.setdefault(m.group(2), {})[pid] = m.group(1)
        if comm == "ip" and re.search(r"-n \S+preh2 -ts monitor", args):
            mon.add(pid)
    by_pid = collections.defaultdict(list)
    for i, e in enumerate(ev):
        by_pid[e[1]].append(i)

    def woken(rest):
        m = re.search(r"pid=(\d+)", rest)
        return int(m.group(1)) if m else None

    def nr(e):
        m = re.search(r"NR (\d+)", e[4])
        return m.group(1) if m else "?"

    def kind(e):
        m = re.search(r"NR (\d+)", e[4])
        return SYS.get(int(m.group(1))) if m else None

    steps = collections.defaultdict(list)
    for i, e in enumerate(ev):
        if e[3] != "sched_waking" or woken(e[4]) not in mon or "prio=49" not in e[4]:
            continue
        lo = e[1]
        run = tags.get("lo", {}).get(lo)
        if run is None:
            continue
        his = {p for p, t in tags.get("hi", {}).items() if t == run}
        mine = [ev[j] for j in by_pid[lo] if j <= i]
        send = next((x for x in reversed(mine) if x[3] == "sys_enter"), None)
        recv = next((x for x in reversed(mine) if x[3] == "sys_exit" and kind(x) == "recv"
                     and send and x[0] <= send[0]), None)
        if send is None or recv is None:
            continue
        recv_in = next((x for x in reversed(mine) if x[3] == "sys_enter" and kind(x) == "recv"
                        and x[0] <= recv[0]), None)
        ep = next((x for x in reversed(mine) if x[3] == "sys_exit" and kind(x) == "epoll"
                   and x[0] <= recv[0]), None)
        upto = ep[0] if ep else recv[0]
        sw = next((x for x in reversed(ev[:i]) if x[3] == "sched_switch"
                   and f"next_pid={lo} " in x[4] + " " and x[0] <= upto), None)
        wk = next((x for x in reversed(ev[:i]) if x[3] == "sched_waking" and woken(x[4]) == lo
                   and x[0] <= (sw[0] if sw else upto)), None)
        if wk is None:
            continue
        wku = next((x for x in ev[:i] if x[3] == "sched_wakeup" and woken(x[4]) == lo
                    and x[0] >= wk[0]), None)
        adv = next((x for x in reversed(ev[:i]) if x[3] == "net_dev_queue" and "dev=eth0" in x[4]
                    and x[1] in his and wk[0] - 0.002 <= x[0] <= wk[0]), None)
        if adv is None:
            continue
        t0 = adv[0]
        mp = woken(e[4])
        msw = next((x for x in ev[i:] if x[3] == "sched_switch"
                    and f"next_pid={mp} " in x[4] + " "), None)
        mre = next((x for x in ev[i:] if x[1] == mp and x[3] == "sys_exit"), None)
        between = [x for x in ev if t0 <= x[0] <= wk[0] and x[1] == adv[1]]
        br0 = next((x for x in between if x[3] == "netif_receive_skb" and "dev=br0" in x[4]), None)
        eth2 = next((x for x in between if x[3] == "netif_receive_skb" and "dev=eth0" in x[4]),
                    None)
        ipis = ["%.0f:%s" % ((x[0] - t0) * 1e6, re.search(r"callsite=(\w+)", x[4]).group(1))
                for x in between if x[3] == "ipi_send_cpu"]
        tcpu = re.search(r"target_cpu=(\d+)", wku[4]).group(1) if wku else "?"
        queued = next((x for x in reversed(mine) if x[3] == "sk_data_ready"
                       and x[0] >= send[0] and e[0] - x[0] < 50e-6), None)
        back = next((ev[j] for j in by_pid[lo] if j > i and ev[j][3] == "sys_exit"), None)
        # Host 2 waiting for a lock inside its removal, before the notification.
        wait, mutex = 0.0, False
        if queued:
            began = None
            for x in mine:
                if x[0] < send[0] or x[0] > queued[0]:
                    continue
                if x[3] == "contention_begin":
                    began, mutex = x[0], mutex or "MUTEX" in x[4]
                elif x[3] == "contention_end" and began is not None:
                    wait += (x[0] - began) * 1e6
                    began = None
        faults = sum(1 for x in mine if x[3].startswith("page_fault") and x[0] >= wk[0])
        # Host 1's system calls from its advert to host 2's return from the removal.
        end = back[0] if back else e[0]
        h1, opened = [], {}
        for p in his:
            for j in by_pid[p]:
                x = ev[j]
                if not t0 <= x[0] <= end:
                    continue
                if x[3] == "sys_enter":
                    opened[p] = x
                elif x[3] == "sys_exit" and p in opened:
                    y = opened.pop(p)
                    h1.append((y[0], f"{nr(y)}[{(y[0] - t0) * 1e6:.0f}-{(x[0] - t0) * 1e6:.0f}]"))
        h1 += [(y[0], f"{nr(y)}[{(y[0] - t0) * 1e6:.0f}-]") for y in opened.values()]
        same = sw is not None and sw[2] == adv[2]
        marks = [("woken", wk), ("run", sw), ("epoll", ep), ("recv>", recv_in), ("recv<", recv),
                 ("delete", send), ("queued", queued), ("mon woken", e), ("mon run", msw),
                 ("mon recv<", mre)]

        def us(x):
            return None if x is None else (x[0] - t0) * 1e6
        impl = run.rsplit("-", 1)[0]  # implementation and mode
        prev = 0.0
        for name, x in marks:
            if x is not None:
                steps[(impl, name)].append(us(x) - prev)
                prev = us(x)
        if back and queued:
            # From the notification to the system call's return (not a step of the chain).
            steps[(impl, "delete<")].append(us(back) - us(queued))
        if queued:
            steps[(impl, "lock wait")].append(wait)
        steps[(impl, "same vCPU")].append(1.0 if same else 0.0)
        print(f"{run:22} waker_cpu={wk[2]} tcpu={tcpu} "
              + " ".join(f"{n} {us(x):.0f}" if x else f"{n} -" for n, x in marks)
              + f"  nr {nr(send)}"
              + (f"  delete< {us(back):.0f} (nr {nr(back)})" if back else "  delete< -")
              + f"  br0 {us(br0):.0f}" * (br0 is not None)
              + f"  eth0(2) {us(eth2):.0f}" * (eth2 is not None)
              + f"  ipis {ipis}"
              + (f"  lock {wait:.0f}{'M' if mutex else ''}" if wait else "")
              + (f"  faults {faults}" if faults else "")
              + ("  SAME vCPU" if same else "")
              + f"  h1 {' '.join(t for _, t in sorted(h1))}")
    if lost:
        print(f"!!! {lost} lines of lost events (the trace buffer overran): runs may be missing")
    print("\nstep durations, median [min, max] us (each step from the previous mark); `lock wait`"
          " = host 2's, inside its removal; `same vCPU` = the share of runs where host 2 ran on"
          " host 1's vCPU:")
    for impl in sorted({k[0] for k in steps}):
        print(impl)
        for name in ("woken", "run", "epoll", "recv>", "recv<", "delete", "queued", "mon woken",
                     "mon run", "mon recv<", "delete<", "lock wait", "same vCPU"):
            xs = steps.get((impl, name))
            if xs and name == "same vCPU":
                print(f"  {name:10} {sum(xs):.0f} of {len(xs)}")
            elif xs:
                print(f"  {name:10} {statistics.median(xs):6.0f} [{min(xs):.0f}, {max(xs):.0f}]"
                      f" ({len(xs)})")


if __name__ == "__main__":
    main()
