#!/usr/bin/env python3
"""List the keywords of keepalived's VRRP-side and global configuration, one `SECTION KEYWORD`
per line, from keepalived's own parser source (its `install_keyword*` calls).

The output is committed as engine/src/conf/keepalived_keywords.txt, which the keyword-table
test (engine/src/conf/keywords.rs) reads with include_str!: nothing reads keepalived's source,
its man page or anything outside the repository at build or test time.

Sections are named the way engine/src/conf/keywords.rs names them: `top` for the top-level
keywords, otherwise the block the keyword is written in (`global_defs`, `vrrp_instance`,
`vrrp_sync_group`, `vrrp_script`, `track_file` (also for its deprecated synonym
`vrrp_track_file`), `vrrp_track_process`, `authentication`, `garp_group`, `track_group`).
Value blocks (`virtual_ipaddress { ... }`, `track_interface { ... }`, `notification_email`
addresses, ...) hold data, not keywords, and are not listed. keepalived's `#ifdef`s are ignored:
every keyword of a full build (Debian's, with VMAC, track_process, BFD, SNMP, DBus, nftables,
LVS) is listed. The checker (LVS) and BFD sections' own keywords are outside this list; their
roots (`virtual_server`, `bfd_instance`, ...) are in it because the top level is. The options
of an address line are listed as section `ipaddress`, the words of a route line as `route`, the
words of a rule line as `rule`.

Usage:
  git clone https://github.com/acassen/keepalived && git -C keepalived checkout v2.2.7
  scripts/keepalived-keywords.py keepalived > engine/src/conf/keepalived_keywords.txt
"""
import re
import sys
from pathlib import Path

# The files whose install_keyword calls define the VRRP-side and global grammar, and the
# top-level roots of the checker and BFD parsers (their inner keywords are not listed).
FILES = [
    "keepalived/core/global_parser.c",
    "keepalived/vrrp/vrrp_parser.c",
    "keepalived/trackers/track_file.c",
]
ROOT_ONLY_FILES = [
    "keepalived/check/check_parser.c",
    "keepalived/bfd/bfd_parser.c",
]
CALL = re.compile(r'\b(install_keyword_root|install_keyword|install_root_end_handler|'
                  r'install_sublevel_end_handler|install_sublevel_end|install_sublevel)\s*\(\s*(?:"([^"]+)")?')
SYNONYM = {"vrrp_track_file": "track_file"}


def scan(text, out, roots_only):
    root = None
    block_stack = []  # keyword that opened the current sublevel
    last_kw = None
    for m in CALL.finditer(text):
        fn, kw = m.group(1), m.group(2)
        if fn == "install_keyword_root":
            out.add(("top", kw))
            root = SYNONYM.get(kw, kw)
            block_stack = []
            last_kw = None
        elif roots_only:
            continue
        elif fn == "install_keyword":
            section = block_stack[-1] if block_stack else root
            if section is not None:
                out.add((section, kw))
            last_kw = kw
        elif fn == "install_sublevel":
            block_stack.append(last_kw)
        elif fn == "install_sublevel_end":
            if block_stack:
                block_stack.pop()


# The options of an address line (vrrp_ipaddress.c) and the words of a route line
# (vrrp_iproute.c) are compared with strcmp(); these are the compared strings that are values or
# sub-options, not options of the line itself (`from` is both an encap sub-option and the source
# prefix of an IPv6 route, so it is a route word).
ADDRESS_VALUES = {"default", "any", "all", "default6", "-", "+", "forever"}
ROUTE_VALUES = {
    "add", "append", "prepend", "as", "disabled", "enabled", "high", "low", "medium",  # values
    "dst", "id", "ila", "inet", "inet6", "ip", "ip6", "mpls", "tc", "ttl",  # encap ...
    "flags", "weight",  # ... and nexthop sub-options
}
# Route types and the destination keyword, which keepalived reads through its rttables tables.
ROUTE_EXTRA = {"default", "blackhole", "unreachable", "prohibit", "throw"}
# The words of a rule line (vrrp_iprule.c): the family words are values; the action types are read
# through keepalived's rttables tables.
RULE_VALUES = {"inet", "inet6"}
RULE_EXTRA = {"blackhole", "unreachable", "prohibit"}
STRCMP = re.compile(r'str[a-z_]*\(\s*str[a-z_]*\s*,\s*"([^"]+)"\s*\)')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = Path(sys.argv[1])
    out = set()
    for f in FILES:
        scan((src / f).read_text(errors="replace"), out, roots_only=False)
    for f in ROOT_ONLY_FILES:
        scan((src / f).read_text(errors="replace"), out, roots_only=True)
    addr = (src / "keepalived/vrrp/vrrp_ipaddress.c").read_text(errors="replace")
    out |= {("ipaddress", w) for w in STRCMP.findall(addr) if w not in ADDRESS_VALUES}
    route = (src / "keepalived/vrrp/vrrp_iproute.c").read_text(errors="replace")
    out |= {("route", w) for w in STRCMP.findall(route) if w not in ROUTE_VALUES}
    out |= {("route", w) for w in ROUTE_EXTRA}
    rule = (src / "keepalived/vrrp/vrrp_iprule.c").read_text(errors="replace")
    out |= {("rule", w) for w in STRCMP.findall(rule) if w not in RULE_VALUES}
    out |= {("rule", w) for w in RULE_EXTRA}
    order = ["top", "global_defs", "vrrp_instance", "authentication", "vrrp_sync_group",
             "vrrp_script", "track_file", "vrrp_track_process", "garp_group", "track_group", "ipaddress", "route", "rule"]
    rank = {s: i for i, s in enumerate(order)}
    print("# keepalived 2.2.7's VRRP-side and global keywords: SECTION KEYWORD.")
    print("# Generated by scripts/keepalived-keywords.py from keepalived's parser source; do not edit.")
    for section, kw in sorted(out, key=lambda p: (rank.get(p[0], len(order)), p[0], p[1])):
        print(f"{section} {kw}")


if __name__ == "__main__":
    main()
