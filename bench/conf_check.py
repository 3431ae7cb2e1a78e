#!/usr/bin/env python3
"""`vigild -t` beside `keepalived -t` on a 1,000-instance configuration (25,011 lines).

Both programs check the same generated file in the same network namespace (veth interfaces
eth0..eth3 named by the file), alternately, RUNS times each (whole process: exec, parse, the
interface and script checks, exit). Printed per program: the median and range of the wall time,
the median CPU time (user + system of the child, from wait4), and the instructions of one run
under callgrind (the count does not depend on the machine's load, the times do). The exit codes are printed and must be 0: a check
that fails on the file is not a measurement.

Usage: bench/conf_check.py [--vigild PATH] [--instances N] [--runs R] [--json FILE]
                           [--write FILE]   (only write the configuration and exit)
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402


def generate(instances):
    """keepalived.conf with `instances` VRRP instances of 25 lines each (with the header: 25,011 lines for 1,000) (250 per interface):
    three virtual addresses, PASS authentication, a tracked script, three notify scripts."""
    out = [
        "global_defs {\n    router_id bench\n    vrrp_garp_master_delay 1\n"
        "    enable_script_security\n    script_user root\n}\n"
        "vrrp_script chk {\n    script \"/bin/true\"\n    interval 2\n    weight -10\n}\n"
    ]
    for i in range(instances):
        ifname = f"eth{i // 250}"
        vrid = i % 250 + 1
        a, b = i // 250, i % 250
        out.append(
            f"vrrp_instance VI_{i} {{\n    state BACKUP\n    interface {ifname}\n"
            f"    virtual_router_id {vrid}\n    priority {100 + i % 100}\n    advert_int 1\n"
            f"    garp_master_delay 1\n    garp_master_refresh 60\n    preempt_delay 10\n"
            f"    authentication {{\n        auth_type PASS\n        auth_pass pw{i}\n    }}\n"
            f"    track_script {{\n        chk\n    }}\n"
            f"    notify_master \"/bin/echo MASTER VI_{i}\"\n"
            f"    notify_backup \"/bin/echo BACKUP VI_{i}\"\n"
            f"    notify_fault \"/bin/echo FAULT VI_{i}\"\n"
            f"    virtual_ipaddress {{\n        10.{a}.{b}.1/24 dev {ifname}\n"
            f"        10.{a}.{b}.2/24 dev {ifname} label {ifname}:v\n"
            f"        10.{a}.{b}.3/24 dev {ifname}\n    }}\n}}\n")
    return "".join(out)


def run_once(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall * 1000, (ru.ru_utime + ru.ru_stime) * 1000, p.returncode, err.decode(errors="replace")


def instructions(ns, argv):
    """Instructions of one whole run (user space), counted by callgrind: this VM has no hardware
    counters for `perf stat`, and the count does not depend on the load."""
    if not shutil.which("valgrind"):
        return None
    r = subprocess.run(["ip", "netns", "exec", ns, "valgrind", "--tool=callgrind",
                        "--callgrind-out-file=/dev/null"] + argv,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    for line in r.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip())
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigild", default="target/x86_64-unknown-linux-musl/dist/vigild")
    ap.add_argument("--keepalived", default="keepalived")
    ap.add_argument("--instances", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--json")
    ap.add_argument("--write")
    a = ap.parse_args()
    text = generate(a.instances)
    if a.write:
        open(a.write, "w").write(text)
        return 0
    vigild = os.path.abspath(a.vigild)
    ka = shutil.which(a.keepalived) or a.keepalived
    links = (a.instances + 249) // 250
    ns = f"vcc{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="vigil-conf-check-")
    path = os.path.join(tmp, "keepalived.conf")
    open(path, "w").write(text)
    L.sh("ip", "netns", "add", ns)
    try:
        L.sh("ip", "-n", ns, "link", "set", "lo", "up")
        for k in range(links):
            L.sh("ip", "-n", ns, "link", "add", f"eth{k}", "type", "veth", "peer", "name", f"p{k}")
            L.sh("ip", "-n", ns, "link", "set", f"eth{k}", "up")
        progs = {
            "vigild": [vigild, "-t", "-f", path],
            "keepalived": [ka, "-t", "-f", path],
        }
        res = {k: {"wall_ms": [], "cpu_ms": [], "codes": set()} for k in progs}
        for _ in range(a.runs):
            for name, argv in progs.items():
                wall, cpu, code, err = run_once(["ip", "netns", "exec", ns] + argv)
                res[name]["wall_ms"].append(wall)
                res[name]["cpu_ms"].append(cpu)
                res[name]["codes"].add(code)
                if code != 0 and len(res[name]["codes"]) == 1:
                    print(f"{name}: exit {code}:\n{err[:2000]}", file=sys.stderr)
        # `ip netns exec` is in both measurements; its own cost is measured alone.
        floor = [run_once(["ip", "netns", "exec", ns, "/bin/true"]) for _ in range(a.runs)]
        for name, argv in progs.items():
            res[name]["instructions"] = instructions(ns, argv)
    finally:
        L.sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    lines = text.count("\n")
    print(f"{L.machine()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{a.instances} instances, {lines} lines; {a.runs} runs each, alternating; "
          f"whole process under `ip netns exec`")
    fl = sorted(w for w, _, _, _ in floor)
    fc = sorted(c for _, c, _, _ in floor)
    print(f"  ip netns exec /bin/true: median {statistics.median(fl):.2f} ms wall, "
          f"{statistics.median(fc):.2f} ms CPU (in both figures below)")
    out = {}
    for name, r in res.items():
        w, c = sorted(r["wall_ms"]), sorted(r["cpu_ms"])
        ins = r["instructions"]
        ins_s = f"{ins / 1e6:.1f} M instructions (callgrind, whole process)" if ins else "perf: n/a"
        print(f"  {name:10s} exit {sorted(r['codes'])}: wall median {statistics.median(w):.2f} ms "
              f"[{w[0]:.2f} .. {w[-1]:.2f}], CPU median {statistics.median(c):.2f} ms; {ins_s}")
        out[name] = {"wall_ms": r["wall_ms"], "cpu_ms": r["cpu_ms"], "codes": sorted(r["codes"]),
                     "instructions": ins}
    if a.json:
        L.write_results(a.json, out, instances=a.instances, lines=lines, runs=a.runs,
                        floor_wall_ms=[w for w, _, _, _ in floor],
                        floor_cpu_ms=[c for _, c, _, _ in floor],
                        load=list(load), vigild=vigild)
    return 0


if __name__ == "__main__":
    sys.exit(main())
