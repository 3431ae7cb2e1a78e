#!/usr/bin/env python3
"""The nftables load-balancer data plane: the cost of the NAT path, and how fast a checker's
decision reaches the kernel.

1. NAT path versus direct, same run, same client, same real server. Three namespaces: a client
   (192.0.2.11/26), a director (192.0.2.12/26 and 192.0.2.76/26, forwarding) and a real server
   (192.0.2.77/26, default route through the director) running bench/tinyhttpd (epoll C HTTP
   server). vigild on the director holds one virtual server 192.0.2.50:80 (lb_algo rr,
   lb_kind NAT, one real server 192.0.2.77:8080, TCP_CHECK). wrk on the client measures, for
   SECONDS each, interleaved and ROUNDS times:
     direct  http://192.0.2.77:8081/   (routed through the director, no NAT: the floor; a
             second instance of the server, so that no direct connection's conntrack entry
             can clash with a NAT connection's reply tuple)
     NAT     http://192.0.2.50/        (through Vigil's nftables DNAT)
   with kept-alive connections (the nat rule runs once per connection; conntrack translates the
   rest) and with a new connection per request (`Connection: close`: the nat rule runs for every
   request); the order alternates between rounds. Reported: requests/s and latency (p50, p99) of each, the ratio NAT / direct
   (median of the rounds), every error wrk counted (connect, read, write, timeout, non-2xx) and
   the client's SYN retransmissions (nstat TcpExtTCPSynRetrans: dropped connection attempts).

2. Decision to kernel: vigild with one virtual server of N real servers (N = 10 and 1,000;
   ports of 198.51.100.1 on lo, one Python asyncio server that can close and reopen each port),
   TCP_CHECK with delay_loop 1 and retry 0, lb_algo rr. UPDATES times a port is closed (the
   checker marks its server down: the table loses it) or reopened (it comes back). For each:
   decision = the timestamp of vigild's `table: removing|adding real server` log line;
   kernel = the moment `nft monitor` (in the namespace) printed the new rule of the service's
   chain. Reported: median and max of kernel - decision, per N.
   CPU per update: vigild's CPU (all threads, schedstat) plus its children's (the `nft`
   processes it runs, /proc/PID/stat cutime+cstime, 10 ms ticks) over the updates, minus the
   same over an equally long window without updates (the checkers' own cost), per update.

Usage: bench/dataplane.py [--seconds S] [--rounds R] [--updates U] [--json FILE]
Needs root, nft, wrk (apt-get install wrk), a C compiler; VIGILD=path (default
target/release/vigild).
"""

import argparse
import datetime
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lab  # noqa: E402

VIGILD = os.environ.get("VIGILD", os.path.join(HERE, "..", "target", "release", "vigild"))
TINY = os.path.join(HERE, "tinyhttpd")

PORTS = r"""
import asyncio, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
servers = {}
async def handle(r, w):
    w.close()
async def open_port(p):
    servers[p] = await asyncio.start_server(handle, "198.51.100.1", p, backlog=64)
async def main():
    for p in range(base, base + n):
        await open_port(p)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        cmd, p = line.split()
        p = int(p)
        if cmd == "close":
            servers[p].close()
            await servers[p].wait_closed()
        else:
            await open_port(p)
        print("done", p, flush=True)
asyncio.run(main())
"""


def cpu_ns(pid):
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def children_ns(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def unit(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def syn_retrans(ns):
    out = lab.sh("ip", "netns", "exec", ns, "nstat", "-az", "TcpExtTCPSynRetrans", check=False).stdout
    for line in out.splitlines():
        if line.startswith("TcpExtTCPSynRetrans"):
            return int(line.split()[1])
    return 0


def wrk(ns, url, seconds, close):
    syn0 = syn_retrans(ns)
    cmd = ["ip", "netns", "exec", ns, "wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", url]
    if close:
        cmd[6:6] = ["-H", "Connection: close"]
    out = lab.sh(*cmd, check=False).stdout
    r = {"rps": None, "p50_ms": None, "p99_ms": None, "errors": {}, "requests": None}
    for line in out.splitlines():
        s = line.split()
        if line.startswith("Requests/sec:"):
            r["rps"] = float(s[1])
        elif len(s) == 2 and s[0] == "50%":
            r["p50_ms"] = unit(s[1])
        elif len(s) == 2 and s[0] == "99%":
            r["p99_ms"] = unit(s[1])
        elif "requests in" in line:
            r["requests"] = int(s[0])
        elif line.strip().startswith("Socket errors:"):
            for k, v in re.findall(r"(\w+) (\d+)", line.split(":", 1)[1]):
                r["errors"][k] = int(v)
        elif line.strip().startswith("Non-2xx"):
            r["errors"]["non2xx"] = int(s[-1])
    if r["rps"] is None:
        r["errors"]["wrk_output"] = out.strip()[-300:]
    r["syn_retransmissions"] = syn_retrans(ns) - syn0
    return r


def nat_vs_direct(seconds, rounds):
    res = {"runs": []}
    with lab.Lab("dpnat", hosts=3, links=2) as L:
        c, d, rs = L.ns(1), L.ns(2), L.ns(3)
        lab.sh("ip", "-n", c, "link", "set", "eth1", "down")
        lab.sh("ip", "-n", rs, "link", "set", "eth0", "down")
        lab.sh("ip", "-n", rs, "route", "add", "default", "via", lab.host_v4(2, 1))
        lab.sh("ip", "-n", c, "route", "add", "192.0.2.64/26", "via", lab.host_v4(2, 0))
        lab.sh("ip", "netns", "exec", d, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for k in ["net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=10000 65000"]:
            lab.sh("ip", "netns", "exec", c, "sysctl", "-qw", k)
        lab.sh("ip", "-n", d, "addr", "add", "192.0.2.50/26", "dev", "eth0")
        # Two instances of the server: 8080 behind the NAT, 8081 reached directly. With one port
        # for both, a NAT connection's reply tuple (rs:8080 -> client:port) can equal a direct
        # connection's still in conntrack's TIME_WAIT (120 s): DNAT cannot remap a fixed
        # destination, the kernel drops the SYN and the client retransmits it 1 s later (seen in
        # the first runs of this benchmark: hundreds of SYN retransmissions, rates collapsing).
        for port in ("8080", "8081"):
            srv = subprocess.Popen(["ip", "netns", "exec", rs, TINY, lab.host_v4(3, 1), port, "rs"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            L.bg.append(srv)
            srv.stdout.readline()
        conf = f"""virtual_server 192.0.2.50 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {lab.host_v4(3, 1)} 8080 {{ TCP_CHECK {{ connect_timeout 1 }} }}
}}
"""
        v = L.start("vigil", 2, conf)
        ok = lab.wait_until(20, lambda: "numgen" in lab.sh("ip", "netns", "exec", d, "nft", "list",
                                                           "ruleset").stdout, step=0.1)
        if not ok:
            raise SystemExit("vigild did not build its table: " + open(v.log).read())
        res["ruleset"] = lab.sh("ip", "netns", "exec", d, "nft", "list", "table", "ip", "vigil").stdout
        direct = f"http://{lab.host_v4(3, 1)}:8081/"
        nat = "http://192.0.2.50/"
        cpu0 = v.cpu_ticks()
        for r in range(rounds):
            for close in (False, True):
                # Alternate which path goes first: the machine's load drifts.
                order = [("direct", direct), ("nat", nat)]
                for path, url in (order if r % 2 == 0 else order[::-1]):
                    w = wrk(c, url, seconds, close)
                    w.update(round=r, path=path, new_connection_per_request=close)
                    res["runs"].append(w)
                    print(f"  round {r} {'new conn' if close else 'kept-alive'} {path:6}: "
                          f"{w['rps']} req/s p50 {w['p50_ms']} ms p99 {w['p99_ms']} ms "
                          f"errors {w['errors'] or 0}, SYN retransmissions {w['syn_retransmissions']}", flush=True)
        res["vigild_cpu_ticks_during_traffic"] = v.cpu_ticks() - cpu0
        res["conntrack_max"] = lab.sh("ip", "netns", "exec", d, "sysctl", "-n",
                                      "net.netfilter.nf_conntrack_max", check=False).stdout.strip()
        log = open(v.log).read()
        res["vigild_errors"] = [l for l in log.splitlines()
                                if (" ERROR " in l or " WARN " in l) and "notice:" not in l]
    summary = {}
    for close in (False, True):
        key = "new_connection_per_request" if close else "kept_alive"
        ratios, per = [], {"direct": [], "nat": []}
        for r in range(rounds):
            runs = {x["path"]: x for x in res["runs"]
                    if x["round"] == r and x["new_connection_per_request"] == close}
            if runs["direct"]["rps"] and runs["nat"]["rps"]:
                ratios.append(runs["nat"]["rps"] / runs["direct"]["rps"])
            for p in per:
                per[p].append(runs[p])
        summary[key] = {
            p: {"rps_median": statistics.median([x["rps"] for x in per[p] if x["rps"]] or [0]),
                "p50_ms_median": statistics.median([x["p50_ms"] for x in per[p] if x["p50_ms"]] or [0]),
                "p99_ms_median": statistics.median([x["p99_ms"] for x in per[p] if x["p99_ms"]] or [0]),
                "errors": sum(sum(x["errors"].values()) if all(isinstance(e, int) for e in x["errors"].values()) else 1
                              for x in per[p]),
                "syn_retransmissions": sum(x["syn_retransmissions"] for x in per[p])}
            for p in per}
        summary[key]["ratio_nat_over_direct_median"] = statistics.median(ratios) if ratios else None
        summary[key]["ratios"] = ratios
    res["summary"] = summary
    return res


class Monitor:
    """`nft monitor rules` in a namespace; every line with its arrival time (wall clock)."""

    def __init__(self, ns):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "stdbuf", "-oL", "nft", "monitor",
                                      "rules"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.lines, self.lock = [], threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            t = time.time()
            with self.lock:
                self.lines.append((t, line))

    def first_after(self, t0, needle):
        with self.lock:
            for t, line in self.lines:
                if t >= t0 and needle in line:
                    return t
        return None

    def close(self):
        self.proc.kill()
        self.proc.wait()


def log_time(line):
    stamp = line.split()[0]
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def decision_to_kernel(n, updates):
    base = 20000
    out = {"servers": n, "samples_ms": [], "missed": 0}
    with lab.Lab(f"dpk{n}", hosts=1, links=1) as L:
        ns = L.ns(1)
        lab.sh("ip", "-n", ns, "addr", "add", "198.51.100.1/32", "dev", "lo")
        ports = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", PORTS, str(base), str(n)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        L.bg.append(ports)
        ports.stdout.readline()
        reals = "".join(f"    real_server 198.51.100.1 {p} {{ TCP_CHECK {{ connect_timeout 1\n"
                        f"        retry 0 }} }}\n" for p in range(base, base + n))
        conf = f"""virtual_server 192.0.2.50 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
{reals}}}
"""
        v = L.start("vigil", 1, conf)
        nft = lambda: lab.sh("ip", "netns", "exec", ns, "nft", "list", "table", "ip", "vigil",
                             check=False).stdout
        if not lab.wait_until(60, lambda: f"numgen inc mod {n} " in nft(), step=0.2):
            raise SystemExit(f"N={n}: the table never had every server: " + open(v.log).read()[-2000:])
        mon = Monitor(ns)
        time.sleep(0.5)
        # Baseline: the checkers' own CPU over a window as long as the updates will take.
        pid = v.proc.pid
        t_start = time.monotonic()
        c0, k0 = cpu_ns(pid), children_ns(pid)
        pos = os.path.getsize(v.log)
        for u in range(updates):
            port = base + (u // 2) % n
            down = u % 2 == 0
            t_ask = time.time()
            ports.stdin.write(f"{'close' if down else 'open'} {port}\n")
            ports.stdin.flush()
            ports.stdout.readline()
            word = "removing" if down else "adding"
            needle = f"table: {word} real server 198.51.100.1:{port} "
            t_dec = None

            def decided():
                nonlocal t_dec, pos
                with open(v.log) as f:
                    f.seek(pos)
                    for line in f:
                        if needle in line:
                            t_dec = log_time(line)
                            return True
                return False

            if not lab.wait_until(15, decided, step=0.01):
                out["missed"] += 1
                continue
            pos = os.path.getsize(v.log)
            t_k = None
            lab.wait_until(5, lambda: mon.first_after(max(t_ask, t_dec - 0.001), "add rule ip vigil vs0") is not None,
                           step=0.005)
            t_k = mon.first_after(max(t_ask, t_dec - 0.001), "add rule ip vigil vs0")
            if t_k is None:
                out["missed"] += 1
                continue
            out["samples_ms"].append((t_k - t_dec) * 1000)
        t_upd = time.monotonic() - t_start
        c1, k1 = cpu_ns(pid), children_ns(pid)
        time.sleep(0.2)
        c2, k2 = cpu_ns(pid), children_ns(pid)
        t_b0 = time.monotonic()
        time.sleep(t_upd)
        c3, k3 = cpu_ns(pid), children_ns(pid)
        t_base = time.monotonic() - t_b0
        mon.close()
        s = out["samples_ms"]
        got = len(s)
        upd_cpu = (c1 - c0) + (k1 - k0)
        base_cpu = ((c3 - c2) + (k3 - k2)) * t_upd / t_base
        out.update(
            median_ms=statistics.median(s) if s else None,
            max_ms=max(s) if s else None,
            min_ms=min(s) if s else None,
            updates=got,
            window_s=t_upd,
            cpu_ms_per_update=(upd_cpu - base_cpu) / 1e6 / got if got else None,
            nft_children_cpu_ms_per_update=(k1 - k0) / 1e6 / got if got else None,
            vigild_cpu_ms_updates_window=upd_cpu / 1e6,
            vigild_cpu_ms_baseline_window=base_cpu / 1e6,
            data_plane_errors=[l for l in open(v.log).read().splitlines() if "data plane" in l
                               and (" ERROR " in l or " WARN " in l) and "notice:" not in l],
        )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--json")
    a = ap.parse_args()
    if not os.path.exists(TINY) or os.path.getmtime(TINY) < os.path.getmtime(TINY + ".c"):
        lab.sh("cc", "-O2", "-o", TINY, TINY + ".c")
    lab.VIGILD = VIGILD
    res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"nproc": os.cpu_count(), "kernel": os.uname().release,
                       "loadavg_start": open("/proc/loadavg").read().split()[:3],
                       "nft": lab.sh("nft", "--version").stdout.strip(),
                       "wrk": lab.sh("wrk", "-v", check=False).stdout.splitlines()[0:1]},
           "vigild": VIGILD, "argv": sys.argv}
    # Which backend vigild picks on this host, as `vigild -t` says (the figures are nftables'
    # only where this says nftables).
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("virtual_server 192.0.2.50 80 {\n protocol TCP\n lb_algo rr\n real_server 192.0.2.77 8080 { }\n}\n")
    conf.close()
    t = subprocess.run([VIGILD, "-t", "-f", conf.name], capture_output=True, text=True)
    os.unlink(conf.name)
    backend = [l for l in (t.stdout + t.stderr).splitlines() if "data plane on this host" in l]
    res["machine"]["backend"] = backend[0] if backend else None
    print(f"load average at start: {' '.join(res['machine']['loadavg_start'])}; "
          f"{backend[0] if backend else 'vigild -t printed no backend line'}", flush=True)
    print("1. NAT path versus direct (wrk -t2 -c32)", flush=True)
    res["nat_vs_direct"] = nat_vs_direct(a.seconds, a.rounds)
    for k, s in res["nat_vs_direct"]["summary"].items():
        print(f"  {k}: direct {s['direct']['rps_median']:.0f} req/s (p50 {s['direct']['p50_ms_median']} ms, "
              f"p99 {s['direct']['p99_ms_median']} ms, errors {s['direct']['errors']}, SYN retr. {s['direct']['syn_retransmissions']}); "
              f"NAT {s['nat']['rps_median']:.0f} req/s (p50 {s['nat']['p50_ms_median']} ms, "
              f"p99 {s['nat']['p99_ms_median']} ms, errors {s['nat']['errors']}, SYN retr. {s['nat']['syn_retransmissions']}); "
              f"ratio NAT/direct {s['ratio_nat_over_direct_median']:.3f} (rounds {[round(r, 3) for r in s['ratios']]})")
    print("2. checker decision -> nft ruleset changed", flush=True)
    res["decision_to_kernel"] = []
    for n in (10, 1000):
        r = decision_to_kernel(n, a.updates)
        res["decision_to_kernel"].append(r)
        print(f"  {n} real servers: {r['updates']} updates ({r['missed']} missed): median "
              f"{r['median_ms']:.1f} ms, min {r['min_ms']:.1f}, max {r['max_ms']:.1f}; CPU per update "
              f"{r['cpu_ms_per_update']:.1f} ms (of which nft children {r['nft_children_cpu_ms_per_update']:.1f} ms); "
              f"data-plane errors {len(r['data_plane_errors'])}", flush=True)
    res["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    print(f"load average at end: {' '.join(res['machine']['loadavg_end'])}", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
