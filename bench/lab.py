"""Network-namespace lab for the daemon benchmarks (the Python twin of tests/src/netns.rs).

A bridge namespace with one bridge per link (stp 0, forward_delay 0, mcast_snooping 0, IPv6 off)
and host namespaces with one veth per link. Documentation addresses only; names carry the pid.
Everything is removed by Lab.close() (also on exceptions: use it as a context manager), the
scratch directory too unless VIGIL_KEEP_LAB is set.

Host i (1-based) on link k has MAC 02:00:00:00:0k:0i and 192.0.2.(64*k + 10 + i)/26 (a lab of
more than 4 links, up to 16: 192.0.2.(16*k + i)/28).
"""

import datetime
import json
import os
import signal
import subprocess
import time

VIGILD = os.environ.get("VIGILD", os.path.join(os.path.dirname(__file__), "..", "target", "release", "vigild"))
# Extra vigild options for every vigild a bench starts (e.g. VIGILD_ARGS=--packet-socket-adverts),
# split on white space; recorded in every JSON result (write_results).
VIGILD_ARGS = os.environ.get("VIGILD_ARGS", "").split()


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def host_v4(i, link=0):
    return f"192.0.2.{64 * link + 10 + i}"


def host_v4_many(i, link):
    """Host i's address on link k when a lab has more than 4 links (up to 16, 14 hosts):
    192.0.2.(16k + i)/28."""
    return f"192.0.2.{16 * link + i}"


def mac(i, link=0):
    return f"02:00:00:00:{link:02x}:{i:02x}"


def wait_until(timeout, f, step=0.002):
    end = time.monotonic() + timeout
    while True:
        if f():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


def proc_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(") ", 1)[1]
        return rest[0] in "ZX"
    except (OSError, IndexError):
        return True


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Daemon:
    """vigild or keepalived in a host namespace."""

    def __init__(self, lab, kind, host, conf_text, tag, extra_env=None):
        self.kind, self.host = kind, host
        d = lab.dir
        self.conf = os.path.join(d, f"{tag}.conf")
        self.pid_file = os.path.join(d, f"{tag}.pid")
        self.vrrp_pid_file = os.path.join(d, f"{tag}.vrrp.pid")
        self.log = os.path.join(d, f"{tag}.log")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        ns = lab.ns(host)
        if kind == "vigil":
            cmd = ["ip", "netns", "exec", ns, VIGILD, "-n", "-l", "-f", self.conf, "-p", self.pid_file,
                   *VIGILD_ARGS]
        else:
            cmd = ["ip", "netns", "exec", ns, "keepalived", "-n", "-l", "-G", "-P", "-f", self.conf,
                   "-p", self.pid_file, "-r", self.vrrp_pid_file]
        env = dict(os.environ)
        env.update(extra_env or {})
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT, env=env)
        if kind == "keepalived":
            wait_until(5, lambda: self.child() is not None)

    def child(self):
        try:
            with open(self.vrrp_pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        p = [self.proc.pid]
        if self.kind == "keepalived" and self.child():
            p.insert(0, self.child())
        return p

    def cpu_ticks(self):
        return sum(cpu_ticks(p) for p in self.pids() if not proc_gone(p))

    def rss_kb(self):
        return sum(rss_kb(p) for p in self.pids() if not proc_gone(p))

    def kill9(self):
        pids = self.pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for p in pids[:-1]:
            wait_until(5, lambda: _reap(p) or proc_gone(p))

    def terminate(self):
        pids = self.pids()
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill9()
        for p in pids[:-1]:
            wait_until(5, lambda: _reap(p) or proc_gone(p))


def _reap(pid):
    try:
        r, _ = os.waitpid(pid, os.WNOHANG)
        return r == pid
    except ChildProcessError:
        return False


class Lab:
    def __init__(self, name, hosts=2, links=1):
        # Orphaned keepalived children are re-parented here, not to PID 1 (which does not reap).
        try:
            import ctypes
            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except OSError:
            pass
        self.prefix = f"vb{os.getpid()}{name}"[:14]
        self.hosts, self.links = hosts, links
        self.dir = f"/tmp/vigil-bench-{self.prefix}"
        sh("rm", "-rf", self.dir)
        os.makedirs(self.dir)
        self.daemons, self.bg = [], []
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def br(self):
        return f"{self.prefix}br"

    def ns(self, i):
        return f"{self.prefix}h{i}"

    def _build(self):
        br = self.br()
        sh("ip", "netns", "add", br)
        sh("ip", "netns", "exec", br, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           "net.ipv6.conf.default.disable_ipv6=1")
        # The bridge stands for a switch: bridged frames do not go through the IPv4/IPv6/ARP
        # netfilter hooks (br_netfilter, on by default in every new namespace of this kernel,
        # `br_nf_pre_routing` in every sender's profile: the sender pays for the bridge and the
        # receiver in its own context). Per namespace, this one only. VIGIL_LAB_BRIDGE_NF=1 keeps
        # the kernel's default (the figures before 2026-12-04's eighth session were taken so).
        if os.environ.get("VIGIL_LAB_BRIDGE_NF", "0") != "1":
            sh("ip", "netns", "exec", br, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0",
               "net.bridge.bridge-nf-call-ip6tables=0", "net.bridge.bridge-nf-call-arptables=0",
               check=False)
        for k in range(self.links):
            sh("ip", "-n", br, "link", "add", f"br{k}", "type", "bridge", "stp_state", "0",
               "forward_delay", "0", "mcast_snooping", "0")
            sh("ip", "-n", br, "link", "set", f"br{k}", "up")
        for i in range(1, self.hosts + 1):
            ns = self.ns(i)
            sh("ip", "netns", "add", ns)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
               "net.ipv6.conf.default.accept_dad=0")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            for k in range(self.links):
                port = f"p{i}l{k}"
                sh("ip", "link", "add", f"eth{k}", "netns", ns, "address", mac(i, k), "type", "veth",
                   "peer", "name", port, "netns", br)
                sh("ip", "-n", br, "link", "set", port, "master", f"br{k}", "up")
                addr = (f"{host_v4(i, k)}/26" if self.links <= 4
                        else f"{host_v4_many(i, k)}/28")
                sh("ip", "-n", ns, "addr", "add", addr, "dev", f"eth{k}")
                sh("ip", "-n", ns, "link", "set", f"eth{k}", "up")

    def start(self, kind, host, conf_text, tag=None, env=None):
        d = Daemon(self, kind, host, conf_text, tag or f"{kind}{len(self.daemons)}h{host}", env)
        self.daemons.append(d)
        return d

    def addrs(self, host, link=0):
        out = sh("ip", "-n", self.ns(host), "-o", "addr", "show", "dev", f"eth{link}").stdout
        return [l.split()[3].split("/")[0] for l in out.splitlines()]

    def has(self, host, addr, link=0):
        return addr in self.addrs(host, link)

    def count_addrs(self, host, link=0):
        return len(self.addrs(host, link))

    def capture(self, path, link=0, dev=None, direction=None, immediate=True):
        """tcpdump into `path` on bridge `link` (or on `dev`, a port, in one `direction`). Not
        `immediate`: packets are handed over in blocks, so tcpdump does not wake for each one
        (a capture beside the measured path that must not compete for its CPUs)."""
        err = path + ".stderr"
        cmd = ["ip", "netns", "exec", self.br(), "tcpdump", "-i", dev or f"br{link}", "-nn"]
        if direction:
            cmd += ["-Q", direction]
        if immediate:
            cmd += ["--immediate-mode"]
        p = subprocess.Popen(cmd + ["-U", "-B", "16384", "-w", path],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(err, "w"))
        wait_until(5, lambda: "listening" in open(err).read())
        self.bg.append(p)
        return p

    def monitor_addresses(self, host, path, timed=True):
        """`ip -ts monitor address` in host `host`'s namespace, into `path`. `timed`: at
        real-time priority (FIFO 50), for a monitor whose timestamps are measured, so that its
        own wake-up is not what is measured. A monitor that only counts events runs at nice 19:
        a real-time one preempts whatever runs on its CPU when its event comes, the daemon
        under test included (a FIFO 50 task preempts FIFO 10 vigild; bench/preempt.py)."""
        prio = ["chrt", "-f", "50"] if timed else ["nice", "-n", "19"]
        p = subprocess.Popen(prio + ["ip", "-n", self.ns(host), "-ts", "monitor", "address"],
                             stdin=subprocess.DEVNULL, stdout=open(path, "w"),
                             stderr=subprocess.DEVNULL)
        time.sleep(0.05)
        self.bg.append(p)
        return p

    def stop_bg(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.bg:
            self.bg.remove(p)

    def close(self):
        for d in self.daemons:
            if d.proc.poll() is None:
                d.kill9()
        for p in list(self.bg):
            self.stop_bg(p)
        for i in range(1, self.hosts + 1):
            sh("ip", "netns", "del", self.ns(i), check=False)
        sh("ip", "netns", "del", self.br(), check=False)
        if not os.environ.get("VIGIL_KEEP_LAB"):
            sh("rm", "-rf", self.dir, check=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def instance_conf(name, iface, vrid, prio, version, advert, vips, src=None):
    s = (f"vrrp_instance {name} {{\n  state BACKUP\n  interface {iface}\n  virtual_router_id {vrid}\n"
         f"  priority {prio}\n  version {version}\n  advert_int {advert}\n")
    if src:
        s += f"  mcast_src_ip {src}\n"
    s += "  virtual_ipaddress {\n" + "".join(f"    {v}\n" for v in vips) + "  }\n}\n"
    return s


def conf(instances, garp_delay=None):
    g = "global_defs {\n  router_id bench\n"
    if garp_delay is not None:
        g += f"  vrrp_garp_master_delay {garp_delay}\n"
    g += "}\n"
    return g + "".join(instances)


def tshark(pcap, filt, fields):
    cmd = ["tshark", "-r", pcap, "-Y", filt, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return [l.split("\t") for l in out.splitlines() if l]


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nf = "on" if os.environ.get("VIGIL_LAB_BRIDGE_NF", "0") == "1" else "off"
    return f"{os.cpu_count()} cores, {cpu}, Linux {os.uname().release}, lab bridge netfilter {nf}"


def keepalived_version():
    r = sh("keepalived", "--version", check=False)
    return (r.stderr or r.stdout).splitlines()[0] if (r.stderr or r.stdout) else "?"


def start_master_then_backup(lab, kind, n, links, conf_hi, conf_lo):
    """Start the master (host 1), wait until it holds all `n` addresses (plus the `links` primary
    addresses), then the backup (host 2), and let it settle: the steady state is measured, not a
    start-up race. Returns (master, backup)."""
    hi = lab.start(kind, 1, conf_hi)
    ok = wait_until(30, lambda: sum(lab.count_addrs(1, k) for k in range(links)) >= n + links,
                    step=0.2)
    if not ok:
        raise RuntimeError(f"{kind}: master never held all {n} addresses ({lab.dir})")
    lo = lab.start(kind, 2, conf_lo)
    time.sleep(3)
    return hi, lo


def binary_id(path):
    """A binary as results name it: its file name and the start of its SHA-256 (a path of one
    machine would make the committed results name a place outside the repository)."""
    if not path:
        return path
    import hashlib
    try:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        digest = "unreadable"
    return f"{os.path.basename(path)} (sha256 {digest}...)"


def write_results(path, results, **extra):
    """Write a benchmark's results as JSON, with the date, the machine and keepalived's version."""
    with open(path, "w") as f:
        json.dump({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                   "machine": machine(), "keepalived": keepalived_version(),
                   "vigild_args": VIGILD_ARGS, **extra,
                   "results": results}, f, indent=1)
