#!/usr/bin/env python3
"""How `vigild -t` scales with the size of one list of a keepalived.conf, keepalived beside.

For each construct below, a file with N items and one with 4N (default 10,000 and 40,000) is
checked by `vigild -t` and `keepalived -t` in a namespace of this script's own (veth eth0..eth3,
which the files name). Printed per construct and program: the CPU time (user + system, best
of --runs) at N and at 4N, and their ratio. A linear check gives about 4; a check that scans a
list once per item (quadratic) about 16. The 2026-12-05 session found six such scans in
vigild with this kind of file (a real server's duplicate check, a virtual_server_group's
entries, a garp_group's interfaces, and the track_script / track_file / track_process
references): 1.3 to 2.4 s of CPU each at 40,000 items before, 0.03 to 0.3 s after.

Addresses are documentation addresses (2001:db8::/32 where thousands are needed). Nothing is
sent: `-t` only reads the file and the namespace's interfaces.

Usage (root): bench/conf_scaling.py [--vigild PATH] [--keepalived PATH|none] [--n N]
                                    [--runs R] [--only NAME,...] [--json FILE]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402
from conf_check import run_once  # noqa: E402

HEAD = "global_defs {\n    router_id scaling\n    enable_script_security\n    script_user root\n}\n"
INSTANCE = ("vrrp_instance VI_{k} {{\n    state BACKUP\n    interface eth0\n"
            "    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n"
            "    virtual_ipaddress {{\n        192.0.2.{vrid}/32\n    }}\n")


def v6(i):
    return f"2001:db8::{i >> 16:x}:{i & 0xffff:x}"


def vs(body):
    return ("virtual_server 2001:db8:ffff::1 80 {\n    lb_algo rr\n    lb_kind NAT\n"
            "    protocol TCP\n" + body + "}\n")


def list_in_instance(name, items):
    return INSTANCE.format(k=0, vrid=1) + f"    {name} {{\n" + items + "    }\n}\n"


# name -> (what it is, generator of a file with n items)
CONSTRUCTS = {
    "real_server": ("real servers of one virtual_server",
                    lambda n: vs("".join(f"    real_server {v6(i)} 80 {{\n        weight 1\n    }}\n"
                                         for i in range(n)))),
    "virtual_server_group": ("entries of one virtual_server_group",
                             lambda n: "virtual_server_group G {\n"
                             + "".join(f"    {v6(i)} 80\n" for i in range(n)) + "}\n"
                             "virtual_server group G {\n    lb_algo rr\n    lb_kind NAT\n"
                             "    protocol TCP\n    real_server 2001:db8:ffff::5 80 {\n    }\n}\n"),
    "garp_group": ("interfaces of one garp_group",
                   lambda n: "garp_group {\n    garp_interval 1\n    interfaces {\n"
                   + "".join(f"        d{i}\n" for i in range(n)) + "    }\n}\n"),
    "track_process": ("vrrp_track_process blocks, all tracked by one instance",
                      lambda n: "".join(f"vrrp_track_process p{i} {{\n    process proc{i}\n}}\n"
                                        for i in range(n))
                      + list_in_instance("track_process", "".join(f"        p{i}\n" for i in range(n)))),
    "track_file": ("vrrp_track_file blocks, all tracked by one instance",
                   lambda n: "".join(f"vrrp_track_file f{i} {{\n    file /nonexistent/f{i}\n}}\n"
                                     for i in range(n))
                   + list_in_instance("track_file", "".join(f"        f{i}\n" for i in range(n)))),
    "track_script": ("vrrp_script blocks, each tracked once, by 250 instances",
                     lambda n: "".join(f"vrrp_script s{i} {{\n    script /bin/true\n    interval 5\n}}\n"
                                       for i in range(n))
                     + "".join(INSTANCE.format(k=k, vrid=k + 1) + "    track_script {\n"
                               + "".join(f"        s{i}\n" for i in range(k, n, 250))
                               + "    }\n}\n" for k in range(250))),
    "static_ipaddress": ("static_ipaddress entries",
                         lambda n: "static_ipaddress {\n"
                         + "".join(f"    {v6(i)}/128 dev eth0\n" for i in range(n)) + "}\n"),
    "static_routes": ("static_routes entries",
                      lambda n: "static_routes {\n"
                      + "".join(f"    {v6(i)}/128 dev eth0\n" for i in range(n)) + "}\n"),
    "virtual_routes": ("virtual_routes of one instance",
                       lambda n: list_in_instance("virtual_routes",
                                                  "".join(f"        {v6(i)}/128 dev eth0\n" for i in range(n)))),
    "unicast_peer": ("unicast peers of one instance",
                     lambda n: INSTANCE.format(k=0, vrid=1).replace("192.0.2.1/32", "2001:db8:ffff::1/128")
                     + "    unicast_peer {\n" + "".join(f"        {v6(i)}\n" for i in range(n)) + "    }\n}\n"),
    "url": ("url blocks of one HTTP_GET",
            lambda n: vs("    real_server 2001:db8:ffff::5 80 {\n        HTTP_GET {\n"
                         + "".join(f"            url {{\n                path /p{i}\n"
                                   "                status_code 200\n            }\n" for i in range(n))
                         + "        }\n    }\n")),
}


def best_cpu(ns, argv, runs, timeout):
    best = None
    code = None
    for _ in range(runs):
        try:
            _, cpu, code, _ = run_once(["timeout", str(timeout), "ip", "netns", "exec", ns] + argv)
        except OSError as e:
            return None, str(e)
        if code == 124:
            return None, f"over {timeout} s"
        best = cpu if best is None else min(best, cpu)
    return best, code


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigild", default=L.VIGILD)
    ap.add_argument("--keepalived", default="keepalived", help="'none' leaves keepalived out")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=120, help="seconds per run")
    ap.add_argument("--only", default="", help="comma-separated construct names")
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("conf_scaling.py: needs root (it makes a network namespace)")
    names = [n for n in a.only.split(",") if n] or list(CONSTRUCTS)
    unknown = [n for n in names if n not in CONSTRUCTS]
    if unknown:
        sys.exit(f"conf_scaling.py: unknown construct(s) {unknown}; known: {list(CONSTRUCTS)}")
    progs = {"vigild": os.path.abspath(a.vigild)}
    if a.keepalived != "none":
        progs["keepalived"] = shutil.which(a.keepalived) or a.keepalived
    ns = f"vcs{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="vigil-conf-scaling-")
    L.sh("ip", "netns", "add", ns)
    results = {}
    try:
        L.sh("ip", "-n", ns, "link", "set", "lo", "up")
        for k in range(4):
            L.sh("ip", "-n", ns, "link", "add", f"eth{k}", "type", "veth", "peer", "name", f"p{k}")
            L.sh("ip", "-n", ns, "link", "set", f"eth{k}", "up")
        print(f"CPU ms (user + system, best of {a.runs}) of `-t`, {a.n} items and {4 * a.n}; "
              "ratio ~4 linear, ~16 quadratic")
        for name in names:
            what, gen = CONSTRUCTS[name]
            row = {"what": what}
            for size in (a.n, 4 * a.n):
                path = os.path.join(tmp, f"{name}-{size}.conf")
                with open(path, "w") as f:
                    f.write(HEAD + gen(size))
                for prog, exe in progs.items():
                    cpu, code = best_cpu(ns, [exe, "-t", "-f", path], a.runs, a.timeout)
                    row.setdefault(prog, {})[str(size)] = {"cpu_ms": cpu, "exit": code}
                os.unlink(path)
            results[name] = row
            cells = []
            for prog in progs:
                small, big = row[prog][str(a.n)]["cpu_ms"], row[prog][str(4 * a.n)]["cpu_ms"]
                if small is None or big is None:
                    cells.append(f"{prog} {row[prog][str(a.n)]['exit']} / {row[prog][str(4 * a.n)]['exit']}")
                    continue
                ratio = big / small if small > 0 else float("inf")
                codes = f"exit {row[prog][str(a.n)]['exit']}/{row[prog][str(4 * a.n)]['exit']}"
                cells.append(f"{prog} {small:8.1f} -> {big:8.1f} ms (x{ratio:4.1f}, {codes})")
            print(f"  {name:22} " + "   ".join(cells))
    finally:
        L.sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        L.write_results(a.json, results, n=a.n, runs=a.runs,
                        programs={k: os.path.basename(v) for k, v in progs.items()})


if __name__ == "__main__":
    main()
