#!/bin/bash
# Walk docs/HOWTO.md as a new operator would, on a two-router namespace lab (needs root and
# keepalived; documentation addresses only; namespaces and processes removed at exit):
# r1 and r2 run keepalived; `vigild -t`; the HOWTO's scenario and the routers' own
# keepalived.conf in vigil-sim; r2 migrated to vigild; fail-over both ways; status, --json,
# SIGUSR1/2 files; capabilities; rollback leaves no address. A walk-through to read; each step
# that has an expected outcome prints OK or FAILED, and the exit status is 1 if any failed.
# Usage: scripts/howto-walk.sh VIGILD VIGIL_SIM   (the binaries HOWTO step 1 installs)
# HOWTO=path/to/HOWTO.md reads the HOWTO from elsewhere (the package installs it in
# /usr/share/doc/vigil/); an installed package's example configuration is checked with -t too.
set -u
VIGILD=${1:?vigild}; SIM=${2:?vigil-sim}
HOWTO=${HOWTO:-$(dirname "$0")/../docs/HOWTO.md}
FAILED=0
T=hw$$
BR=$T-br; R1=$T-r1; R2=$T-r2
D=$(mktemp -d /tmp/howto-walk.XXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 1.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for n in $R1 $R2 $BR; do ip netns del $n 2>/dev/null; done
}
trap cleanup EXIT
say() { printf '\n### %s\n' "$*"; }
# expect WHAT COMMAND...: run COMMAND, print OK or FAILED with WHAT.
expect() { local what=$1; shift; if "$@"; then echo "OK: $what"; else echo "FAILED: $what"; FAILED=1; fi; }
run() { printf '$ %s\n' "$*"; "$@"; }

ip netns add $BR; ip netns add $R1; ip netns add $R2
ip -n $BR link add br0 type bridge; ip -n $BR link set br0 up
for i in 1 2; do
  ns=$T-r$i
  ip link add $T-v$i type veth peer name eth0 netns $ns
  ip link set $T-v$i netns $BR
  ip -n $BR link set $T-v$i master br0 up
  ip -n $ns link set lo up
  ip -n $ns addr add 192.0.2.1$i/24 dev eth0
  ip -n $ns link set eth0 up
done
sleep 2

cat > $D/keepalived.conf <<'EOF'
global_defs {
  router_id ROUTER
  enable_script_security
  script_user nobody
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority PRIO
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    192.0.2.100/24
  }
}
EOF
sed -e 's/PRIO/150/' -e 's/ROUTER/r1/' $D/keepalived.conf > $D/r1.conf
sed -e 's/PRIO/100/' -e 's/ROUTER/r2/' $D/keepalived.conf > $D/r2.conf

holders() { for i in 1 2; do ip -n $T-r$i -br addr show eth0 | grep -q 192.0.2.100 && printf 'r%s ' $i; done; echo; }

say "before: keepalived on both routers"
ip netns exec $R1 keepalived -n -l -D -f $D/r1.conf -p $D/ka1.pid -r $D/ka1.vrrp.pid > $D/ka1.log 2>&1 & PIDS+=($!); KA1=$!
ip netns exec $R2 keepalived -n -l -D -f $D/r2.conf -p $D/ka2.pid -r $D/ka2.vrrp.pid > $D/ka2.log 2>&1 & PIDS+=($!); KA2=$!
sleep 6
echo "VIP holders: $(holders)"

say "HOWTO 2: vigild -t on r2's keepalived.conf (in r2's namespace)"
ip netns exec $R2 $VIGILD -t -f $D/r2.conf; rc=$?; echo "exit $rc"
expect "vigild -t accepts r2's keepalived.conf" test $rc -eq 0
EXAMPLE=/usr/share/doc/vigil/examples/keepalived.conf
if [ -f $EXAMPLE ]; then
  ip netns exec $R2 $VIGILD -t -f $EXAMPLE; rc=$?; echo "exit $rc"
  expect "vigild -t accepts the package's example configuration" test $rc -eq 0
fi

say "HOWTO 3: simulate before deploying (the HOWTO's my-routers.toml, copied from the HOWTO)"
awk '/^```toml/{n++; if(n==1){f=1;next}} /^```/{f=0} f' "$HOWTO" > $D/my-routers.toml
expect "the HOWTO's scenario was found in $HOWTO" test -s $D/my-routers.toml
( cd $D && run $SIM run my-routers.toml; echo "exit $?"; run $SIM run my-routers.toml --svg t.svg >/dev/null; echo "exit $?"; ls -la t.svg )
expect "vigil-sim runs the HOWTO's scenario and its expectations hold" bash -c "$SIM run $D/my-routers.toml >/dev/null"

say "HOWTO 3, second form: each router's real keepalived.conf in the scenario"
{ echo 'name = "lab"'; echo 'duration = "30s"'
  for i in 1 2; do echo; echo '[[nodes]]'; echo "name = \"r$i\""; echo 'keepalived_conf = """'; cat $D/r$i.conf; echo '"""'; done
  printf '\n[[faults]]\nat = "10s"\ndo = "stop"\nnode = "r1"\n\n[[faults]]\nat = "20s"\ndo = "start"\nnode = "r1"\n\n[[expect]]\nat = "15s"\nmaster = "r2"\n\n[[expect]]\nat = "28s"\nmaster = "r1"\n'
} > $D/lab.toml
( cd $D && $SIM run lab.toml | tail -12; echo "exit ${PIPESTATUS[0]}" )
expect "vigil-sim runs the routers' own keepalived.conf" bash -c "cd $D && $SIM run lab.toml >/dev/null"

say "HOWTO 4.1: on the backup r2: stop keepalived, start vigild, read its status"
kill -TERM $KA2; wait $KA2 2>/dev/null
ip netns exec $R2 $VIGILD -n -f $D/r2.conf -p $D/vigild.pid > $D/vigild.log 2>&1 & PIDS+=($!); VG=$!
sleep 5
run $VIGILD -p $D/vigild.pid status
echo "VIP holders: $(holders)"
expect "keepalived r1 stays master, vigild r2 is its backup" test "$(holders)" = "r1 "

say "HOWTO 4.2: stop keepalived on the master r1 (priority 0): r2 takes over within Skew_Time"
kill -TERM $KA1; t0=$(date +%s.%N); wait $KA1 2>/dev/null
for k in $(seq 1 40); do ip -n $R2 -br addr show eth0 | grep -q 192.0.2.100 && break; sleep 0.05; done
t1=$(date +%s.%N); echo "r2 holds the VIP after $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }") s (keepalived's stop included)"
echo "VIP holders: $(holders)"
expect "vigild r2 took over from keepalived r1" test "$(holders)" = "r2 "
run $VIGILD -p $D/vigild.pid status | sed -n 1,6p

say "keepalived back on r1 (priority 150, preempt): it takes the addresses back"
ip netns exec $R1 keepalived -n -l -D -f $D/r1.conf -p $D/ka1.pid -r $D/ka1.vrrp.pid > $D/ka1b.log 2>&1 & PIDS+=($!); KA1=$!
sleep 6
echo "VIP holders: $(holders)"
expect "keepalived r1 preempted vigild r2" test "$(holders)" = "r1 "
run $VIGILD -p $D/vigild.pid status

say "HOWTO 5: --json, SIGUSR1 / SIGUSR2 files"
$VIGILD -p $D/vigild.pid status --json | head -c 600; echo
kill -USR1 $VG; kill -USR2 $VG; sleep 0.5
ls -la /tmp/keepalived.data /tmp/keepalived.stats; head -20 /tmp/keepalived.stats
expect "SIGUSR1 and SIGUSR2 wrote keepalived's files" test -s /tmp/keepalived.data -a -s /tmp/keepalived.stats

say "HOWTO 7: capabilities of the running vigild"
grep -E '^Cap(Eff|Prm|Bnd)' /proc/$VG/status; grep -E "capabilities kept|real-time" $D/vigild.log

say "rollback: stop vigild (no address left behind)"
kill -TERM $VG; wait $VG; rc=$?; echo "vigild exit $rc"
expect "vigild stopped cleanly" test $rc -eq 0
ip -n $R2 -br addr show eth0
expect "no address left behind on r2" bash -c "! ip -n $R2 -br addr show eth0 | grep -q 192.0.2.100"
say "vigild's log"
cat $D/vigild.log
echo "lab dir: $D"
if [ $FAILED -ne 0 ]; then echo "howto-walk: SOME STEPS FAILED (see FAILED above)"; exit 1; fi
echo "howto-walk: every step as the HOWTO says"
