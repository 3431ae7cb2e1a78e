#!/bin/bash
# Walk docs/LVS-NAT-HOWTO.md exactly as written, on network namespaces (needs root, nft, curl,
# python3; documentation addresses only; every namespace, process and file it made is removed
# at exit). The HOWTO's shell blocks are extracted from the markdown (```sh on=HOSTS id=ID),
# never copied here, and each runs with `bash -e` on the machines it names, in order.
#
# The lab is the HOWTO's step 0: director1, director2, rs1..rs3 and a client, with the
# addresses of its table, on two bridges (public 192.0.2.0/24, private 198.51.100.0/24). Each
# machine also gets its own /etc/keepalived, /etc/vigil, /run and /srv (private bind mounts in
# its own mount namespace, from a scratch directory), as separate machines would have: the
# HOWTO's files and pid files land there, never in the host's. `vigild` is the binary given,
# first in PATH. A block marked skip=REASON is printed, not run (the package installation:
# scripts/test installs nftables).
#
# Between blocks the walk waits for, and checks, what the HOWTO says happens next; each check
# prints OK or FAILED, and the exit status is 1 if any failed.
# Usage: scripts/lvs-nat-howto-walk.sh VIGILD
set -u
VIGILD=$(readlink -f "${1:?usage: scripts/lvs-nat-howto-walk.sh VIGILD}")
HOWTO=${HOWTO:-$(dirname "$0")/../docs/LVS-NAT-HOWTO.md}
FAILED=0
T=lw$$
D=$(mktemp -d /tmp/lvs-nat-walk.XXXX)
HOSTS="director1 director2 rs1 rs2 rs3 client"
ns() { echo "$T-$1"; }

cleanup() {
  for h in $HOSTS; do
    for p in $(ip netns pids "$(ns $h)" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
  done
  sleep 1
  for h in $HOSTS; do
    for p in $(ip netns pids "$(ns $h)" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$(ns $h)" 2>/dev/null
  done
  ip netns del "$T-br" 2>/dev/null
  rm -rf "$D"
}
trap cleanup EXIT
say() { printf '\n### %s\n' "$*"; }
ok() { if [ "$1" = 0 ]; then echo "OK: $2"; else echo "FAILED: $2"; FAILED=1; fi; }
# wait_for SECONDS COMMAND...: true once COMMAND succeeds, polling every 0.2 s.
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.2; done
}

for tool in nft curl python3 unshare; do
  command -v $tool >/dev/null || { echo "lvs-nat-howto-walk: NOT RUN: $tool is missing" >&2; exit 2; }
done
[ -d /etc/keepalived ] || { echo "lvs-nat-howto-walk: NOT RUN: /etc/keepalived (the bind mount point) is missing: install keepalived" >&2; exit 2; }

# The machines of step 0.
ip netns add "$T-br"
for b in pub priv; do
  ip -n "$T-br" link add $b type bridge stp_state 0 forward_delay 0
  ip -n "$T-br" link set $b up
done
n=0
attach() { # HOST IFNAME BRIDGE ADDRESS
  n=$((n + 1))
  ip link add "$T-v$n" type veth peer name "$2" netns "$(ns $1)"
  ip link set "$T-v$n" netns "$T-br"
  ip -n "$T-br" link set "$T-v$n" master "$3" up
  ip -n "$(ns $1)" addr add "$4" dev "$2"
  ip -n "$(ns $1)" link set "$2" up
}
for h in $HOSTS; do
  ip netns add "$(ns $h)"
  ip -n "$(ns $h)" link set lo up
  mkdir -p "$D/$h/run" "$D/$h/srv" "$D/$h/etc-keepalived" "$D/$h/etc-vigil"
done
attach director1 eth0 pub 192.0.2.11/24;  attach director1 eth1 priv 198.51.100.11/24
attach director2 eth0 pub 192.0.2.12/24;  attach director2 eth1 priv 198.51.100.12/24
attach rs1 eth0 priv 198.51.100.21/24
attach rs2 eth0 priv 198.51.100.22/24
attach rs3 eth0 priv 198.51.100.23/24
attach client eth0 pub 192.0.2.50/24
mkdir -p "$D/bin"; ln -s "$VIGILD" "$D/bin/vigild"

# on HOST COMMAND...: run COMMAND on HOST (its namespace, its own /etc/keepalived, /etc/vigil,
# /run and /srv, vigild first in PATH).
on() {
  local h=$1; shift
  ip netns exec "$(ns $h)" unshare -m --propagation private bash -c '
    set -e
    mount --bind "$0/run" /run
    mount --bind "$0/srv" /srv
    mount --bind "$0/etc-keepalived" /etc/keepalived
    if [ -d /etc/vigil ]; then mount --bind "$0/etc-vigil" /etc/vigil; fi
    export PATH="$1:$PATH"
    shift
    exec "$@"' "$D/$h" "$D/bin" "$@"
}

# The HOWTO's blocks: $D/blocks/NN.sh, and NN ATTRIBUTES lines in $D/blocks/index.
mkdir -p "$D/blocks"
awk -v dir="$D/blocks" '
  /^```sh on=/ { n++; a = $0; sub(/^```sh /, "", a); f = sprintf("%s/%02d.sh", dir, n)
                 printf "%02d %s\n", n, a > (dir "/index"); inb = 1; next }
  inb && /^```$/ { inb = 0; close(f); next }
  inb { print > f }' "$HOWTO"
blocks=$(wc -l < "$D/blocks/index")
ok $([ "$blocks" -ge 10 ]; echo $?) "$blocks shell blocks found in $HOWTO"

holds() { ip -n "$(ns $1)" -br addr show | grep -q "192.0.2.100/" && ip -n "$(ns $1)" -br addr show | grep -q "198.51.100.1/"; }
table_has() { ip netns exec "$(ns $1)" nft list table ip vigil 2>/dev/null | grep -q "$2"; }
answers() { grep -c '^real server ' "$1"; }
from() { grep -c "^real server $2/" "$1"; }

# After block ID: wait for and check what the HOWTO says happens (output in $1 per host).
after() {
  local id=$1 out=$2
  case $id in
    realserver)
      for i in 1 2 3; do
        wait_for 10 ip netns exec "$(ns rs$i)" curl -sf "http://198.51.100.2$i/"
        ok $? "rs$i's web server answers"
      done ;;
    check)
      for h in director1 director2; do grep -q "^exit 0" "$out.$h"; ok $? "vigild -t accepts the configuration on $h"; done ;;
    start2)
      wait_for 30 holds director1; ok $? "director1 holds both virtual addresses"
      for h in director1 director2; do
        wait_for 30 table_has $h "numgen inc mod 4"; ok $? "$h: the table has all three servers (2+1+1 buckets)"
      done ;;
    status)
      grep -q "table ip vigil" "$out.director1"; ok $? "nft list table ip vigil shows Vigil's table" ;;
    spread)
      ok $([ "$(answers "$out.client")" = 8 ] && [ "$(from "$out.client" 198.51.100.21)" = 4 ] \
        && [ "$(from "$out.client" 198.51.100.22)" = 2 ] && [ "$(from "$out.client" 198.51.100.23)" = 2 ]; echo $?) \
        "8 answers: rs1 4, rs2 2, rs3 2 (wrr 2:1:1)" ;;
    rsdown)
      for h in director1 director2; do
        wait_for 30 table_has $h "numgen inc mod 3"; ok $? "$h took rs2 out of its table"
      done ;;
    spread2|spread3)
      ok $([ "$(answers "$out.client")" = 8 ] && [ "$(from "$out.client" 198.51.100.22)" = 0 ]; echo $?) \
        "8 answers, none from the dead rs2" ;;
    stop1)
      wait_for 30 holds director2; ok $? "director2 took both virtual addresses"
      ok $(holds director1; [ $? != 0 ]; echo $?) "director1 holds no virtual address" ;;
    start1again)
      wait_for 30 holds director1; ok $? "director1 took the addresses back" ;;
    stopall)
      for h in director1 director2; do
        wait_for 15 bash -c "! ip netns pids $(ns $h) | grep -q ."; ok $? "vigild on $h stopped"
      done ;;
    after)
      for h in director1 director2; do
        ! grep -q vigil "$out.$h"; ok $? "$h: no table of Vigil's left"
      done ;;
  esac
}

while read -r num attrs; do
  on_hosts=; id=; skip=
  for kv in $attrs; do
    case $kv in on=*) on_hosts=${kv#on=} ;; id=*) id=${kv#id=} ;; skip=*) skip=${kv#skip=} ;; esac
  done
  say "HOWTO block $num ($id) on ${on_hosts//,/, }"
  sed 's/^/    /' "$D/blocks/$num.sh"
  if [ -n "$skip" ]; then echo "(not run: $skip)"; continue; fi
  for h in ${on_hosts//,/ }; do
    # Output to a file, not a pipe: the daemons a block starts must not hold the walk.
    on "$h" bash -e "$D/blocks/$num.sh" > "$D/out.$num.$h" 2>&1
    rc=$?
    echo "--- $h (exit $rc):"; sed 's/^/  /' "$D/out.$num.$h"
    ok $rc "block $num ($id) ran on $h"
    cp "$D/out.$num.$h" "$D/out.$id.$h"
  done
  after "$id" "$D/out.$id"
done < "$D/blocks/index"

if [ $FAILED -ne 0 ]; then echo "lvs-nat-howto-walk: SOME STEPS FAILED (see FAILED above)"; exit 1; fi
echo "lvs-nat-howto-walk: every step as docs/LVS-NAT-HOWTO.md says"
