#!/usr/bin/env python3
"""Per-stage figures of host 2's own path in bench/preempt.py's hand-overs, from vigild's
`handover-probe` build (issue 18; io-linux/src/handover_probe.rs), in nanoseconds.

Each address removal of a probe build appends a line to its process's own file,
vigild-probe.<pid>.log in $VIGILD_PROBE_DIR (this script sets it to a fresh directory, so that
another probe daemon on the machine writes elsewhere; without it, /tmp): the PID, then
the advert's kernel receive stamp (0) and, after it, the wake-up (epoll returned), recvmmsg
entered and returned, the engine's decision, the removal action started, the RTM_DELADDR
`sendto` entered and returned. This script runs a command (bench/preempt.py with one or two
probe builds: VIGILD=... and --before ...), lists the processes every 0.1 s meanwhile to know
which binary and which run each PID was, and prints the stages per binary and mode:

  arr->woke       advert received -> epoll returned (the wake-up: the kernel's and the VM's)
  woke->recv>     epoll returned -> recvmmsg entered (the loop's dispatch)
  recvmmsg        the system call
  recv<->decided  recvmmsg returned -> the engine has decided (parse, clocks, engine)
  decided->act    -> the runner starts the removal (actions before it)
  act->send       -> the RTM_DELADDR sendto entered (interface lookup, the request)
  sendto          the removal's system call (the kernel's end point is inside it)
  woke->send      the daemon's whole user-space path plus its recvmmsg

Only removals 0-5 ms after their advert count (start-up and shutdown removals are not
hand-overs). The stamps are clock_gettime (vDSO) reads, 20-40 ns each on this machine.

Usage (root): bench/handover_probe.py -- env VIGILD=NEW python3 bench/preempt.py --runs 10 \\
                  --mode both --only vigil --before MAIN
(NEW and MAIN: `cargo build --profile dist --target x86_64-unknown-linux-musl -p vigil-linux
--bin vigild --features handover-probe` of each commit, copied under distinct file names.)
"""

import collections
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

COLS = ["arr->woke", "woke->recv>", "recvmmsg", "recv<->decided", "decided->act", "act->send",
        "sendto", "woke->send"]


def main():
    cmd = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    # The probe daemons the command starts inherit the directory (bench/lab.py passes the
    # environment on): their files, and only theirs, land in it.
    probe_dir = tempfile.mkdtemp(prefix="vigild-probe-")
    os.environ["VIGILD_PROBE_DIR"] = probe_dir
    print(f"probe files: {probe_dir}", file=sys.stderr)
    who, done = {}, threading.Event()

    def watch():
        while not done.is_set():
            out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
            for line in out.splitlines():
                f = line.split(None, 1)
                m = len(f) == 2 and re.search(r"(\S+)\s.*pre/([\w-]+)-(lo|hi)\.conf", f[1])
                if m and f[0].isdigit():
                    who[int(f[0])] = (os.path.basename(m.group(1)), m.group(2))
            time.sleep(0.1)
    t = threading.Thread(target=watch)
    t.start()
    try:
        subprocess.run(cmd)
    finally:
        done.set()
        t.join()
    st = collections.defaultdict(list)
    lines = []
    for path in sorted(glob.glob(os.path.join(probe_dir, "vigild-probe.*.log"))):
        with open(path) as log:
            lines.extend(log)
    if not lines:
        print(f"no probe lines in {probe_dir}: were the binaries built with "
              "--features handover-probe?", file=sys.stderr)
    for line in lines:
        f = line.split()
        if len(f) != 9 or "-" in f[1:]:
            continue
        t, pid = [int(x) for x in f[1:]], int(f[0])
        if t[1] < 0 or t[7] > 5_000_000 or pid not in who:
            continue
        binary, run = who[pid]
        mode = "restart" if "restart" in run else "heal"
        st[(binary, mode)].append([t[1]] + [t[i + 1] - t[i] for i in range(1, 7)] + [t[6] - t[1]])
    print("ns, median [min, max] (removals)")
    for key in sorted(st):
        rows = st[key]
        print(f"{key[0]} {key[1]} ({len(rows)})")
        for j, c in enumerate(COLS):
            xs = [r[j] for r in rows]
            print(f"  {c:15} {statistics.median(xs):8.0f} [{min(xs)}, {max(xs)}]")


if __name__ == "__main__":
    main()
