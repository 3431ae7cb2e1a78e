#!/usr/bin/env python3
"""A capture of a mixed Vigil / keepalived cluster, for people and for tshark.

VRRPv3 over IPv4 at 100 ms, VRID 51, VIP 192.0.2.100: keepalived (priority 200, host 1) and
vigild (priority 100, host 2) start; keepalived wins; keepalived stops gracefully (priority 0)
and vigild takes over; keepalived starts again and preempts; both stop. Then tshark checks every
VRRP packet's checksum.

Usage: bench/mixed_capture.py OUT.pcap
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402

VIP = "192.0.2.100"


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "mixed.pcap")
    conf = lambda prio: L.conf([L.instance_conf("VI_1", "eth0", 51, prio, 3, "0.1", [f"{VIP}/24"])])
    with L.Lab("mix", hosts=2) as lab:
        cap = lab.capture(out)
        v = lab.start("vigil", 2, conf(100))
        k = lab.start("keepalived", 1, conf(200))
        assert L.wait_until(10, lambda: lab.has(1, VIP) and not lab.has(2, VIP)), lab.dir
        time.sleep(1)
        k.terminate()
        assert L.wait_until(5, lambda: lab.has(2, VIP)), lab.dir
        time.sleep(1)
        k = lab.start("keepalived", 1, conf(200))
        assert L.wait_until(10, lambda: lab.has(1, VIP) and not lab.has(2, VIP)), lab.dir
        time.sleep(1)
        k.terminate()
        v.terminate()
        time.sleep(0.2)
        lab.stop_bg(cap)
    rows = L.tshark(out, "vrrp", ["eth.src", "vrrp.prio", "vrrp.checksum.status"])
    bad = [r for r in rows if r[2] != "1"]
    by = {}
    for src, prio, _ in rows:
        by[(src, prio)] = by.get((src, prio), 0) + 1
    for (src, prio), n in sorted(by.items()):
        who = "keepalived" if src == L.mac(1) else "vigild"
        print(f"{n:4} adverts from {who:10} ({src}) priority {prio}")
    print(f"{len(rows)} VRRP packets, {len(bad)} with a bad checksum")
    sys.exit(1 if bad or not rows else 0)


if __name__ == "__main__":
    main()
