"""The kernel's own time of an address removal, for bench/preempt.py (issue 18 item 1).

bench/preempt.py ends a hand-over when host 2's address monitor (`ip -ts monitor address`, a
user-space process) stamps the RTM_DELADDR notification. That stamp comes after the monitor has
been woken (on this VM often on a halted vCPU) and has read the message: 30-50 us of the
observer's own latency in every run (ftrace, BENCHMARKS-daemon.md, 2026-12-04 morning). This
module takes the other end point in the kernel, in a private ftrace instance (no kprobes on this
kernel, and the function tracer is not permitted: tracepoints only):

  sock:sk_data_ready  on the monitor's netlink socket, in host 2's daemon's context: the
                      RTM_DELADDR notification queued to the monitor. The kernel sends it from
                      inside the daemon's RTM_DELADDR sendto/sendmsg (rtnetlink is synchronous),
                      right after it unlinked the address from the interface (`__inet_del_ifa`:
                      unlink, then `rtmsg_ifa`, then the inetaddr notifier chain that removes
                      the local and broadcast routes). One event per notification, whether the
                      monitor sleeps or not.
  sched:sched_waking  of the monitor's PID: the same notification waking it (about 1 us later,
                      when it sleeps). Recorded to find the monitor's socket (the skaddr of the
                      sk_data_ready just before the wake-up, same context) and to split the
                      observer's latency (woken -> stamped).

Clock: the instance's trace_clock is `tai` (CLOCK_TAI = CLOCK_REALTIME + the kernel's TAI offset,
whole seconds), so that the stamps compare with the pcap's CLOCK_REALTIME ones; the offset is
read with clock_gettime(CLOCK_TAI) - time() rounded to the second. The trace prints
microseconds, as the pcap and `ip -ts` do.

The filters are set per run on the monitor's PID and on the threads of host 2's daemon: a few
events per run. Without tracefs (not root, no tracefs, no `tai` clock or `fields` option) the
instance is not made and `why` says why: the caller reports the kernel column as not measured.
close() removes the instance (and the mount it made) and is safe to call twice.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+):\s+(\w+):\s*(.*)$")


def tai_offset():
    """CLOCK_TAI - CLOCK_REALTIME, in whole seconds (the kernel keeps it in whole seconds)."""
    return round(time.clock_gettime(time.CLOCK_TAI) - time.time())


def threads(pids):
    """Every thread of the given processes (a daemon may remove addresses from any)."""
    out = set()
    for p in pids:
        try:
            out.update(int(t) for t in os.listdir(f"/proc/{p}/task"))
        except OSError:
            out.add(p)
    return sorted(out)


class KernelStamp:
    def __init__(self, enabled=True):
        self.why = None
        self.root = self.inst = None
        self.mounted = False
        self.on = False
        if not enabled:
            self.why = "switched off (--no-kernel-stamp)"
            return
        if os.geteuid() != 0:
            self.why = "not root (tracefs needs root)"
            return
        try:
            self._open()
        except Exception as e:  # noqa: BLE001 (any failure: say why, measure without)
            self.why = f"tracefs: {e}"
            self.close()

    def _open(self):
        root = "/sys/kernel/tracing"
        if not os.path.isdir(os.path.join(root, "instances")):
            root = tempfile.mkdtemp(prefix="vigil-tracefs-")
            self.root = root
            r = subprocess.run(["mount", "-t", "tracefs", "nodev", root], capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise OSError(f"mount -t tracefs failed: {r.stderr.strip()}")
            self.mounted = True
        self.root = root
        inst = os.path.join(root, "instances", f"vigil-preempt-{os.getpid()}")
        os.mkdir(inst)
        self.inst = inst
        self._w("trace_clock", "tai")
        with open(self._p("trace_clock")) as f:
            if "[tai]" not in f.read():
                raise OSError("trace_clock tai not available")
        if not os.path.exists(self._p("options/fields")):
            raise OSError("no 'fields' trace option (needed for the socket address)")
        self._w("options/fields", "1")
        self._w("buffer_size_kb", "512")
        self._w("tracing_on", "0")
        # Nothing matches until arm() sets the run's PIDs.
        self._w("events/sched/sched_waking/filter", "pid == -1")
        self._w("events/sock/sk_data_ready/filter", "family == 65535")
        self._w("events/sched/sched_waking/enable", "1")
        self._w("events/sock/sk_data_ready/enable", "1")
        self.offset = tai_offset()

    def _p(self, rel):
        return os.path.join(self.inst, rel)

    def _w(self, rel, text):
        with open(self._p(rel), "w") as f:
            f.write(text + "\n")

    @property
    def ok(self):
        return self.why is None

    def _events(self, on):
        for rel in ("events/sched/sched_waking/enable", "events/sock/sk_data_ready/enable"):
            self._w(rel, "1" if on else "0")

    def disarm(self):
        """One run without the instance's events (to measure what they cost: the two
        tracepoints off, as with no instance at all)."""
        if self.ok:
            try:
                self._events(False)
            except OSError as e:
                self.why = f"tracefs failed while disarming: {e}"
                self.close()

    def arm(self, monitor_pid, daemon_pids):
        """Start recording for one run: the monitor's wake-ups, and the netlink sockets' data
        ready in the daemon's threads."""
        if not self.ok:
            return
        self.monitor_pid = monitor_pid
        self.tids = threads(daemon_pids)
        try:
            self._w("events/sched/sched_waking/filter", f"pid == {monitor_pid}")
            self._w("events/sock/sk_data_ready/filter",
                    "family == 16 && (" + " || ".join(f"common_pid == {t}" for t in self.tids)
                    + ")")
            self._events(True)
            with open(self._p("trace"), "w"):
                pass  # opened for writing with O_TRUNC: the buffer is cleared
            self._w("tracing_on", "1")
            self.on = True
        except OSError as e:
            # Measured without it from here on, loudly (the caller prints `why` per run).
            self.why = f"tracefs failed while arming: {e}"
            self.close()

    def stop(self):
        if self.on and self.inst:
            try:
                self._w("tracing_on", "0")
            except OSError:
                pass
            self.on = False

    def collect(self):
        """Stop recording; the run's events as (realtime seconds, context comm, context pid,
        event name, {field: value})."""
        self.stop()
        ev = []
        try:
            f = open(self._p("trace"), errors="replace")
        except OSError as e:
            self.why = f"tracefs failed while reading: {e}"
            self.close()
            return None
        with f:
            for line in f:
                m = LINE.match(line)
                if not m:
                    continue
                comm, pid, _cpu, ts, name, rest = m.groups()
                fields = {}
                sk = re.search(r"skaddr=(0x[0-9a-f]+)", rest)
                if sk:
                    fields["skaddr"] = sk.group(1)
                wp = re.search(r"\bpid=0x[0-9a-f]+ \((\d+)\)", rest) or re.search(r"\bpid=(\d+)", rest)
                if wp:
                    fields["pid"] = int(wp.group(1))
                ev.append((float(ts) - self.offset, comm, int(pid), name, fields))
        return ev

    def removal(self, ev, monitor_lines):
        """From one run's events: (times of the notifications queued to the monitor by the
        daemon, in order; times of the monitor's wake-ups by the daemon; a problem or None).
        `monitor_lines`: how many address lines (added or deleted) the monitor printed while
        armed: every notification it printed must have its event, else the stamps are not
        trusted."""
        mine = set(self.tids)
        wakes = [e for e in ev if e[3] == "sched_waking" and e[4].get("pid") == self.monitor_pid
                 and e[2] in mine]
        socks = set()
        for w in wakes:
            before = [e for e in ev if e[3] == "sk_data_ready" and e[2] == w[2] and e[0] <= w[0]
                      and w[0] - e[0] < 50e-6]
            if before:
                socks.add(before[-1][4].get("skaddr"))
        if len(socks) != 1:
            return [], [w[0] for w in wakes], (f"monitor's socket not found ({len(wakes)} "
                                              f"wake-ups by the daemon, sockets {sorted(socks)})")
        sk = socks.pop()
        notes = [e[0] for e in ev if e[3] == "sk_data_ready" and e[4].get("skaddr") == sk
                 and e[2] in mine]
        problem = None
        if len(notes) != monitor_lines:
            problem = f"{len(notes)} notifications traced, the monitor printed {monitor_lines}"
        return notes, [w[0] for w in wakes], problem

    def close(self):
        self.stop()
        if self.inst:
            # Off whatever `on` says: a new instance starts with tracing on, and an arm that
            # failed half-way (2026-12-04 16:09: an event's files gone from the instance on the
            # shared machine) left it so, and the instance behind.
            for rel in ("tracing_on", "events/sched/sched_waking/enable",
                        "events/sock/sk_data_ready/enable"):
                try:
                    self._w(rel, "0")
                except OSError:
                    pass
            try:
                os.rmdir(self.inst)
            except OSError as e:
                print(f"!!! bench/kstamp.py: cannot remove the ftrace instance {self.inst}: {e}; "
                      f"remove it by hand (rmdir)", file=sys.stderr, flush=True)
            self.inst = None
        if self.mounted:
            subprocess.run(["umount", self.root], capture_output=True)
            self.mounted = False
        if self.root and self.root.startswith(tempfile.gettempdir() + "/vigil-tracefs-"):
            try:
                os.rmdir(self.root)
            except OSError:
                pass
        self.root = None
