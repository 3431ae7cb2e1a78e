#!/bin/sh
# How far `vigild -t`'s check arena (io-linux/src/check_arena.rs) reached: NEXT - BASE at
# exit_group, read with gdb from the binary's own symbols (the dist build keeps its symbol
# table). The arena's region is aligned to 2 MiB huge pages: the page count is this divided by
# 2,097,152, rounded up, and each page is zeroed by the kernel at its first touch.
# Usage: bench/conf_arena.sh NAMESPACE BINARY FILE     (prints "ARENA bytes MiB")
NS=$1; B=$2; C=$3
NEXT=$(nm "$B" | awk '/check_arena4NEXT/{print $1}')
BASE=$(nm "$B" | awk '/check_arena4BASE/{print $1}')
timeout 120 ip netns exec "$NS" gdb -q -batch -ex 'catch syscall exit_group' -ex run -ex "python
import gdb
m = gdb.execute('info proc mappings', to_string=True)
lo = None
for l in m.splitlines():
    f = l.split()
    if len(f) >= 5 and f[-1].endswith('/$(basename "$B")'):
        lo = int(f[0], 16); break
inf = gdb.selected_inferior()
rd = lambda a: int.from_bytes(inf.read_memory(a, 8).tobytes(), 'little')
n = rd(lo + 0x$NEXT); b = rd(lo + 0x$BASE)
print('ARENA', n - b, (n - b) / 2**20, 'MiB')
" -ex kill --args "$B" -t -f "$C" 2>&1 | grep ARENA
