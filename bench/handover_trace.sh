#!/bin/bash
# ftrace of bench/preempt.py's hand-overs (issue 18): where the time goes between host 1's
# advert and host 2's RTM_DELADDR, per step, for vigild and keepalived in the same run.
#
# Records, in a private ftrace instance (nothing else's tracing is touched), on every CPU:
# sched_waking / sched_wakeup / sched_switch / sched_migrate_task of the daemons and `ip` (the
# address monitor), IPIs sent and received, cpu_idle, net_dev_queue / netif_rx /
# netif_receive_skb, the system calls of the daemons (and the monitor's recvmsg), the netlink
# sockets' sk_data_ready in the daemons' context (the notification queued), the daemons' lock
# contention (lock:contention_begin / _end: a mutex or spin lock waited for) and page faults;
# plus a `ps`
# listing every 0.1 s to map PIDs to the runs. Then bench/handover_timeline.py OUT prints one
# line per run. The trace costs 0.5-2 us per event: the steps are inflated, compare them side
# by side, not with the bench's untraced figures.
#
# Usage (root): VIGILD=... bench/handover_trace.sh OUT -- python3 bench/preempt.py --runs 6 \
#                   --mode heal   (the filters match command names: the daemon's is the file
#                                  name of $VIGILD, first 15 characters. Another helper's vigild on
#                                  the same machine matches `vigild` too and can flood the buffer:
#                                  a copy under another name, e.g. `vigild-h9`, keeps it out)
set -e   # (not in the `ps` loop below: a listing with no daemon in it must not end it)
OUT=$1; shift; shift
TR=/sys/kernel/tracing
MOUNTED=
if [ ! -e $TR/instances ]; then
    TR=$(mktemp -d /tmp/tracefs.XXXXXX)
    mount -t tracefs nodev "$TR"
    MOUNTED=1
fi
T=$TR/instances/handover$$
mkdir $T
trap 'echo 0 > $T/tracing_on; echo 0 > $T/events/enable; rmdir $T
      if [ -n "$MOUNTED" ]; then umount "$TR"; rmdir "$TR"; fi' EXIT
echo mono > $T/trace_clock
echo 30000 > $T/buffer_size_kb
for e in sched/sched_waking sched/sched_wakeup sched/sched_switch sched/sched_migrate_task \
         ipi/ipi_send_cpu ipi/ipi_send_cpumask irq_vectors/reschedule_entry \
         irq_vectors/call_function_single_entry irq_vectors/call_function_entry power/cpu_idle \
         net/net_dev_queue net/netif_receive_skb net/netif_rx raw_syscalls/sys_enter \
         raw_syscalls/sys_exit sock/sk_data_ready lock/contention_begin lock/contention_end \
         exceptions/page_fault_user exceptions/page_fault_kernel; do
    echo 1 > $T/events/$e/enable
done
V=$(basename "${VIGILD:-vigild}" | cut -c1-15)
SYS="comm == \"$V\" || comm == \"keepalived\" || (comm == \"ip\" && id == 47)"
echo "$SYS" > $T/events/raw_syscalls/sys_enter/filter
echo "$SYS" > $T/events/raw_syscalls/sys_exit/filter
# sched_switch: the daemons, the monitor, idle, and any real-time task (another FIFO daemon
# holding the vCPU host 2 was woken on).
echo "prev_comm == \"$V\" || prev_comm == \"keepalived\" || prev_comm == \"ip\" || next_comm == \"$V\" || next_comm == \"keepalived\" || next_comm == \"ip\" || prev_comm == \"swapper/0\" || prev_comm == \"swapper/1\" || prev_prio < 100 || next_prio < 100" > $T/events/sched/sched_switch/filter
# Netlink sockets' data ready in the daemons: the RTM_DELADDR notification queued to the monitor
# (bench/kstamp.py's end point), to be placed between the removal's sendto and its return.
echo "family == 16 && (comm == \"$V\" || comm == \"keepalived\")" > $T/events/sock/sk_data_ready/filter
# A daemon waiting for a lock (the RTNL mutex that every address change takes, one for the whole
# kernel: host 1 adding its address as host 2 removes its own, restart).
# The frame's path is in the sender's context (host 1's daemon's send): the network events of
# other processes (another helper's 1,020-instance daemon) are left out.
for e in lock/contention_begin lock/contention_end exceptions/page_fault_user \
         exceptions/page_fault_kernel net/net_dev_queue net/netif_receive_skb net/netif_rx; do
    echo "comm == \"$V\" || comm == \"keepalived\"" > $T/events/$e/filter
done
for e in sched_waking sched_wakeup; do
    echo "comm == \"$V\" || comm == \"keepalived\" || comm == \"ip\"" > $T/events/sched/$e/filter
done
( while true; do ps -eo pid,comm,args | grep -E "$V|vigild|keepalived|monitor" | grep -v grep || true
  echo ---; sleep 0.1; done > "$OUT.ps" 2>&1 ) &
PS=$!
echo 1 > $T/tracing_on
cat $T/trace_pipe > "$OUT.trace" &
CAT=$!
"$@" || true
echo 0 > $T/tracing_on
sleep 1
kill $PS $CAT
wc -l "$OUT.trace"
