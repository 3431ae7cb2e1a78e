#!/usr/bin/env python3
"""Where the pcap's kernel timestamp of a frame on the lab's bridge is taken, with and without
receive timestamping held on machine-wide (bench/preempt.py's start point, hold_netstamp).

40 UDP frames from host 1 to host 2, captured at once on host 1's bridge port (p1l0, ingress)
and on the bridge (br0), both block-buffered as in bench/preempt.py; prints, per round, the
br0 stamp minus the p1l0 stamp of the same frame (matched by IP id). While any socket on the
machine has SO_TIMESTAMP(NS) the kernel stamps each frame as it enters (netif_rx) and both
captures show that stamp (difference 0); otherwise each capture stamps the frame when it sees
it, and the br0 stamp comes after the bridge's work. A process elsewhere on the machine that
holds timestamping (a vigild, for one) makes the "off" rounds read 0 too.

Usage (root): python3 bench/netstamp_check.py
"""

import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import lab as L  # noqa: E402

SEND = ("import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for i in range(40):\n    s.sendto(b'x', ('{dst}', 9)); time.sleep(0.05)")


def one(lab, hold, tag):
    h = None
    if hold:
        h = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        h.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_TIMESTAMPNS", 35), 1)
    try:
        time.sleep(0.5)
        a = os.path.join(lab.dir, f"{tag}-p1.pcap")
        b = os.path.join(lab.dir, f"{tag}-br.pcap")
        ca = lab.capture(a, dev="p1l0", direction="in", immediate=False)
        cb = lab.capture(b, immediate=False)
        L.sh("ip", "netns", "exec", lab.ns(1), "python3", "-c", SEND.format(dst=L.host_v4(2)))
        time.sleep(1.2)
        lab.stop_bg(ca)
        lab.stop_bg(cb)
    finally:
        if h:
            h.close()
    fa = L.tshark(a, "udp.dstport == 9", ["frame.time_epoch", "ip.id"])
    fb = {i: float(t) for t, i in L.tshark(b, "udp.dstport == 9", ["frame.time_epoch", "ip.id"])}
    d = [(fb[i] - float(t)) * 1e6 for t, i in fa if i in fb]
    if not d:
        print(f"hold {'on ' if hold else 'off'}: no frame matched", flush=True)
        return
    print(f"hold {'on ' if hold else 'off'}: br0 stamp - p1l0 stamp {statistics.median(d):5.1f} us "
          f"median [{min(d):.1f}, {max(d):.1f}] ({len(d)} frames)  load {os.getloadavg()[0]:.2f}",
          flush=True)


def main():
    with L.Lab("nst", hosts=2) as lab:
        for k in range(2):
            one(lab, False, f"off{k}")
            one(lab, True, f"on{k}")


if __name__ == "__main__":
    main()
