#!/usr/bin/env python3
"""Record the keepalived golden captures again, from a real keepalived in network namespaces.

Writes into OUT_DIR (default: a new temporary folder; pass engine/tests/data/captures to replace
the committed set) the files that engine/tests/data/captures/README.md describes: one pcap per
VRRP flavour, garp.pcap and una.pcap, a `tshark -V` text of the first frames of each, and
checksums.txt (for every VRRP packet: its fields and which checksum form it matches).

The scenario of every run: host 2 (priority 100) starts alone and becomes MASTER; host 1
(priority 150) starts and preempts it; host 1 stops gracefully (SIGTERM: a priority-0 advert)
and host 2 takes over; host 2 stops. The pcap holds only the VRRP frames of that run.

Needs root, keepalived, tcpdump and tshark (scripts/test installs them). The lab is bench/lab.py:
a bridge namespace and two host namespaces, documentation addresses, names carrying the pid,
everything removed at the end.

Usage: scripts/record-captures.py [OUT_DIR]
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import lab as L  # noqa: E402

V4_VIP = "192.0.2.100"
V6_VIP = "2001:db8::100"

# name -> (VRRP version, advert_int, VIP with prefix, authentication block or None)
RUNS = {
    "vrrp2-ipv4": (2, "1", f"{V4_VIP}/24", None),
    "vrrp2-ipv4-authpass": (2, "1", f"{V4_VIP}/24", "secret1"),
    "vrrp3-ipv4": (3, "1", f"{V4_VIP}/24", None),
    "vrrp3-ipv4-ai0.1": (3, "0.1", f"{V4_VIP}/24", None),
    "vrrp3-ipv6": (3, "1", f"{V6_VIP}/64", None),
}
# Which run the announcement captures come from, and their display filter.
ANNOUNCES = {"garp": ("vrrp3-ipv4", "arp"), "una": ("vrrp3-ipv6", "icmpv6.type == 136")}


def conf(version, advert, vip, auth, prio):
    s = "global_defs {\n  router_id capture\n}\n"
    s += (f"vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n"
          f"  priority {prio}\n  version {version}\n  advert_int {advert}\n")
    if auth:
        s += f"  authentication {{\n    auth_type PASS\n    auth_pass {auth}\n  }}\n"
    return s + f"  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"record-captures: {' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def record(name, out_dir, work):
    version, advert, vip, auth = RUNS[name]
    addr = vip.split("/")[0]
    step = float(advert)
    raw = os.path.join(work, f"{name}.all.pcap")
    with L.Lab("cap", hosts=2) as lab:
        cap = lab.capture(raw)
        low = lab.start("keepalived", 2, conf(version, advert, vip, auth, 100))
        if not L.wait_until(10, lambda: lab.has(2, addr)):
            sys.exit(f"record-captures: {name}: host 2 never became MASTER ({lab.dir})")
        time.sleep(5.5 * step)
        high = lab.start("keepalived", 1, conf(version, advert, vip, auth, 150))
        if not L.wait_until(10, lambda: lab.has(1, addr) and not lab.has(2, addr)):
            sys.exit(f"record-captures: {name}: host 1 never preempted ({lab.dir})")
        time.sleep(5.5 * step)
        high.terminate()
        if not L.wait_until(10, lambda: lab.has(2, addr)):
            sys.exit(f"record-captures: {name}: host 2 never took over ({lab.dir})")
        time.sleep(2.5 * step)
        low.terminate()
        time.sleep(0.3)
        lab.stop_bg(cap)
    pcap = os.path.join(out_dir, f"{name}.pcap")
    run(["tshark", "-r", raw, "-Y", "vrrp", "-F", "pcap", "-w", pcap])
    return raw, pcap


def tshark_text(pcap, txt):
    with open(txt, "w") as f:
        f.write(run(["tshark", "-r", pcap, "-V", "-c", "6"]))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def mac(b):
    return ":".join(f"{x:02x}" for x in b)


def checksum_lines(name, pcap):
    """One line per VRRP packet: its IP and VRRP fields, and whether the checksum field makes the
    ones'-complement sum come out right over the message alone (VRRPv2's rule) or over the message
    with the IPv4/IPv6 pseudo-header in front (VRRPv3's rule)."""
    with open(pcap, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    off, lines, plain_n, pseudo_n = 24, [], 0, 0
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        eth = f"{mac(frame[6:12])}>{mac(frame[0:6])}"
        etype = struct.unpack("!H", frame[12:14])[0]
        ip = frame[14:]
        if etype == 0x0800 and ip[9] == 112:
            ihl = (ip[0] & 15) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            src, dst = ip[12:16], ip[16:20]
            msg = ip[ihl:total]
            flags = struct.unpack("!H", ip[6:8])[0]
            head = (f"IPv4 {socket.inet_ntoa(src)}>{socket.inet_ntoa(dst)} ttl={ip[8]} "
                    f"tos=0x{ip[1]:02x} df={(flags >> 14) & 1} id={struct.unpack('!H', ip[4:6])[0]}")
            pseudo = src + dst + struct.pack("!BBH", 0, 112, len(msg))
            fam = socket.AF_INET
        elif etype == 0x86DD and ip[6] == 112:
            plen = struct.unpack("!H", ip[4:6])[0]
            src, dst = ip[8:24], ip[24:40]
            msg = ip[40:40 + plen]
            tclass = ((ip[0] & 15) << 4) | (ip[1] >> 4)
            head = (f"IPv6 {socket.inet_ntop(socket.AF_INET6, src)}>"
                    f"{socket.inet_ntop(socket.AF_INET6, dst)} hlim={ip[7]} tclass=0x{tclass:02x}")
            pseudo = src + dst + struct.pack("!IxxxB", len(msg), 112)
            fam = socket.AF_INET6
        else:
            continue
        ver, typ = msg[0] >> 4, msg[0] & 15
        vrid, prio, count = msg[1], msg[2], msg[3]
        alen = 4 if fam == socket.AF_INET else 16
        if ver == 2:
            auth_type, adver = msg[4], msg[5]
            cks = struct.unpack("!H", msg[6:8])[0]
            addrs = [socket.inet_ntop(fam, msg[8 + i * alen:8 + (i + 1) * alen]) for i in range(count)]
            auth_data = msg[8 + count * alen:16 + count * alen]
            vrrp = (f"VRRPv2 type={typ} vrid={vrid} prio={prio} count={count} auth_type={auth_type} "
                    f"adver_int={adver}s auth_data={auth_data!r}")
        else:
            rsvd, maxadv = msg[4] >> 4, struct.unpack("!H", msg[4:6])[0] & 0x0FFF
            cks = struct.unpack("!H", msg[6:8])[0]
            addrs = [socket.inet_ntop(fam, msg[8 + i * alen:8 + (i + 1) * alen]) for i in range(count)]
            vrrp = (f"VRRPv3 type={typ} vrid={vrid} prio={prio} count={count} rsvd={rsvd} "
                    f"max_adver_int={maxadv}cs")
        plain_ok = csum(msg) == 0xFFFF
        pseudo_ok = csum(pseudo + msg) == 0xFFFF
        plain_n += plain_ok
        pseudo_n += pseudo_ok
        lines.append(f"{ts:.6f} {eth} {head} | {vrrp} addrs={addrs!r} len={len(msg)} "
                     f"cksum=0x{cks:04x} plain_ok={plain_ok} pseudo_ok={pseudo_ok}")
    lines.append(f"-- {name}: {len(lines)} VRRP packets; checksum matches plain(v2-style)={plain_n}, "
                 f"with pseudo-header={pseudo_n}")
    return lines


def main():
    if os.geteuid() != 0:
        sys.exit("record-captures: needs root (network namespaces); run it as root")
    for tool in ("keepalived", "tcpdump", "tshark", "ip"):
        if shutil.which(tool) is None:
            sys.exit(f"record-captures: {tool} not found (apt-get install keepalived tcpdump tshark iproute2)")
    out_dir = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="vigil-captures-")
    os.makedirs(out_dir, exist_ok=True)
    print(f"keepalived: {L.keepalived_version()}; writing into {out_dir}")
    work = tempfile.mkdtemp(prefix="vigil-captures-raw-")
    raws = {}
    try:
        for name in RUNS:
            raws[name], pcap = record(name, out_dir, work)
            tshark_text(pcap, os.path.join(out_dir, f"{name}.txt"))
            print(f"{name}.pcap recorded")
        for name, (source, filt) in ANNOUNCES.items():
            pcap = os.path.join(out_dir, f"{name}.pcap")
            run(["tshark", "-r", raws[source], "-Y", filt, "-F", "pcap", "-w", pcap])
            tshark_text(pcap, os.path.join(out_dir, f"{name}.txt"))
        table = []
        for name in sorted(RUNS, key=lambda n: f"{n}.pcap"):
            table.append(f"== {name}.pcap")
            table += checksum_lines(f"{name}.pcap", os.path.join(out_dir, f"{name}.pcap"))
        with open(os.path.join(out_dir, "checksums.txt"), "w") as f:
            f.write("\n".join(table) + "\n")
        for line in table:
            if line.startswith("--"):
                print(line)
        for name in ANNOUNCES:
            n = len(run(["tshark", "-r", os.path.join(out_dir, f"{name}.pcap")]).splitlines())
            print(f"-- {name}.pcap: {n} frames")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
