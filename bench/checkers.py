#!/usr/bin/env python3
"""Health checkers at scale: checks per second, CPU per check and the spread of check start
times for N real servers (default 1,000: half TCP_CHECK, half HTTP_GET) at delay_loop 1 s.

One namespace: the real servers are N listening ports on 198.51.100.1 (lo), answered by one
Python asyncio server (HTTP/1.0 200 with a short body); vigild runs in the same namespace with
one virtual server holding the N real servers, checkers only (no VRRP instance, as keepalived's
checker process without VRRP).

Measured over SECONDS once every checker has run:
  checks/s         = runs started (sum of the per-checker counters of `vigild status`) / SECONDS
  us CPU per check = vigild's CPU time (all threads, /proc/PID/task/*/schedstat) / runs
  % of a core      = CPU / SECONDS
  failures         = failed runs in the window (expected 0: every server answers)
Spread (a second, shorter run with -D, which logs every run start): the start times' offsets
within the 1 s delay_loop, in 10 ms buckets: the fullest bucket versus the even share, and the
largest gap between consecutive starts.

keepalived's checker cannot start on this machine (its kernel has no IPVS: CONFIG_IP_VS is not
set), so there is no side-by-side keepalived figure; see BENCHMARKS-checkers.md.

Usage: bench/checkers.py [--servers N] [--seconds S] [--json FILE]
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

VIGILD = os.environ.get(
    "VIGILD", os.path.join(os.path.dirname(__file__), "..", "target", "release", "vigild")
)

SERVER = r"""
import asyncio, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
BODY = b"ok\n"
REPLY = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n" + BODY
async def handle(r, w):
    try:
        await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 2)
        w.write(REPLY)
        await w.drain()
    except Exception:
        pass
    w.close()
async def main():
    for p in range(base, base + n):
        await asyncio.start_server(handle, "198.51.100.1", p, backlog=64)
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def cpu_ns(pid):
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(f).read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def runs_and_failures(status_file):
    runs = fails = 0
    try:
        text = open(status_file).read()
    except OSError:
        return None
    for m in re.finditer(r"runs (\d+) failures (\d+)", text):
        runs += int(m.group(1))
        fails += int(m.group(2))
    return runs, fails


def config(n, base):
    lines = [
        "virtual_server 192.0.2.100 80 {",
        "    delay_loop 1",
        "    lb_algo rr",
        "    lb_kind NAT",
        "    protocol TCP",
    ]
    for i in range(n):
        port = base + i
        if i % 2 == 0:
            check = "        TCP_CHECK {\n            connect_ip 198.51.100.1\n            connect_port %d\n            connect_timeout 0.9\n        }" % port
        else:
            check = (
                "        HTTP_GET {\n            url {\n                path /\n                status_code 200\n"
                "            }\n            connect_ip 198.51.100.1\n            connect_port %d\n            connect_timeout 0.9\n        }" % port
            )
        # Real servers are told apart by address (198.51.100.0/24 and 203.0.113.0/24 cover
        # 508 each); every checker connects to 198.51.100.1 on its own port.
        net = "198.51.100" if i < 254 * 2 else "203.0.113"
        host = f"{net}.{(i % 254) + 1}"
        rport = 1000 + i
        lines.append(f"    real_server {host} {rport} {{\n{check}\n    }}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def start_vigild(ns, conf, pid_file, log, detail):
    args = ["ip", "netns", "exec", ns, VIGILD, "-n", "-l", "-f", conf, "-p", pid_file]
    if detail:
        args.append("-D")
    env = dict(os.environ, VIGIL_NO_REALTIME="1")
    return subprocess.Popen(args, stdout=log, stderr=log, env=env)


def spread(log_path, seconds):
    starts = []
    pat = re.compile(r"^(\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d\.\d+))Z.*: run \d+ \(deadline")
    for line in open(log_path, errors="replace"):
        m = pat.match(line)
        if m:
            h, mi, s = int(m.group(2)), int(m.group(3)), float(m.group(4))
            starts.append(h * 3600 + mi * 60 + s)
    if len(starts) < 100:
        return None
    # The last `seconds` whole seconds of starts.
    end = starts[-1]
    window = [t for t in starts if t > end - seconds]
    buckets = [0] * 100
    for t in window:
        buckets[int((t % 1.0) * 100) % 100] += 1
    even = len(window) / 100
    s = sorted(t % 1.0 for t in window)
    gaps = [b - a for a, b in zip(s, s[1:])] + [1.0 - s[-1] + s[0]]
    return {
        "starts": len(window),
        "fullest_10ms_bucket": max(buckets),
        "emptiest_10ms_bucket": min(buckets),
        "even_share_per_bucket": round(even, 1),
        "largest_gap_ms": round(max(gaps) * 1000, 2),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--servers", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/checkers.py needs root (network namespaces)")
    if not os.path.exists(VIGILD):
        sys.exit(f"{VIGILD} missing: cargo build --release -p vigil-linux")
    ns = f"vgck{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="vigil-bench-checkers-")
    base = 20000
    procs = []
    result = {"servers": a.servers, "seconds": a.seconds, "delay_loop_s": 1}
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", "198.51.100.1/32", "dev", "lo")
        srv = subprocess.Popen(
            ["ip", "netns", "exec", ns, "python3", "-c", SERVER, str(base), str(a.servers)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        procs.append(srv)
        if srv.stdout.readline().strip() != "ready":
            sys.exit("test server did not start")
        conf = os.path.join(tmp, "checkers.conf")
        open(conf, "w").write(config(a.servers, base))
        for detail in (False, True):
            pid_file = os.path.join(tmp, f"v{int(detail)}.pid")
            log_path = os.path.join(tmp, f"v{int(detail)}.log")
            with open(log_path, "w") as log:
                v = start_vigild(ns, conf, pid_file, log, detail)
            procs.append(v)
            status = pid_file + ".checkers"
            # Every checker has run (first runs spread over 1 s), then some margin.
            time.sleep(3.0)
            if detail:
                time.sleep(a.seconds / 2)
                result["spread"] = spread(log_path, a.seconds / 2 - 1)
            else:
                r0, f0 = runs_and_failures(status)
                c0, t0 = cpu_ns(v.pid), time.monotonic()
                time.sleep(a.seconds)
                r1, f1 = runs_and_failures(status)
                c1, t1 = cpu_ns(v.pid), time.monotonic()
                el = t1 - t0
                runs = r1 - r0
                result.update({
                    "checks_per_s": round(runs / el, 1),
                    "expected_checks_per_s": a.servers,
                    "us_cpu_per_check": round((c1 - c0) / 1000 / max(runs, 1), 2),
                    "pct_of_a_core": round((c1 - c0) / 1e9 / el * 100, 2),
                    "failures_in_window": f1 - f0,
                    "rss_kib": int(open(f"/proc/{v.pid}/status").read().split("VmRSS:")[1].split()[0]),
                })
            t_stop = time.monotonic()
            v.terminate()
            try:
                v.wait(timeout=20)
                result["stop_s" if not detail else "stop_s_with_D"] = round(time.monotonic() - t_stop, 3)
            except subprocess.TimeoutExpired:
                for _ in range(3):
                    for f in ("syscall", "wchan", "stack"):
                        try:
                            print(f, open(f"/proc/{v.pid}/{f}").read(), file=sys.stderr)
                        except OSError as e:
                            print(f, e, file=sys.stderr)
                    time.sleep(0.5)
                print(open(log_path).read()[-600:], file=sys.stderr)
                raise
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    print(json.dumps(result, indent=2))
    if a.json:
        open(a.json, "w").write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
