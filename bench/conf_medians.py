#!/usr/bin/env python3
"""Task-clock medians of `PROGRAM -t -f FILE`, several programs alternating, one `perf stat` per
run, inside an existing network namespace (its name in /tmp/q-ns; veth eth0..eth3 up, as
bench/conf_check.py makes them). The programs and files below are the seventh session's
(BENCHMARKS-conf.md); edit them for another comparison. Prints one table row per program:
median, quartiles, fastest (ms) and the median of the page faults, over 40 runs.
"""
import subprocess, statistics
ns = open('/tmp/q-ns').read().strip()
progs = {
  'vigild 767ea20 (session start), 1,000': ['/tmp/vigild-main-65ae566', '-t', '-f', '/tmp/c1000.conf'],
  'vigild 5e1578a (helpers merged), 1,000': ['/tmp/vigild-merged-5e1578a', '-t', '-f', '/tmp/c1000.conf'],
  'vigild 52168b1 (no sysfs), 1,000': ['/tmp/vigild-nosys', '-t', '-f', '/tmp/c1000.conf'],
  'keepalived 2.2.7, 1,000': ['keepalived', '-t', '-f', '/tmp/c1000.conf'],
  'vigild 767ea20, 1 instance': ['/tmp/vigild-main-65ae566', '-t', '-f', '/tmp/one-eth0.conf'],
  'vigild 52168b1, 1 instance': ['/tmp/vigild-nosys', '-t', '-f', '/tmp/one-eth0.conf'],
}
res = {k: [] for k in progs}
flt = {k: [] for k in progs}
for r in range(40):
    for k, cmd in progs.items():
        p = subprocess.run(['ip', 'netns', 'exec', ns, 'perf', 'stat', '-x,', '-e', 'task-clock,page-faults'] + cmd, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        for line in p.stderr.splitlines():
            f = line.split(',')
            if len(f) > 3 and f[2] == 'task-clock':
                res[k].append(float(f[0]))
            if len(f) > 3 and f[2] == 'page-faults':
                flt[k].append(int(f[0]))
for k in progs:
    v = sorted(res[k]); q = statistics.quantiles(v, n=4)
    print(f"| {k} | {statistics.median(v):.2f} ms | {q[0]:.2f} .. {q[2]:.2f} | {v[0]:.2f} | {statistics.median(flt[k]):.0f} |")
