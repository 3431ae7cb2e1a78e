#!/usr/bin/env python3
"""Whether two `vigild` builds say the same thing about the same configurations: stdout, stderr
and exit code of `PROGRAM -t -f FILE` inside a network namespace, for every file given (or every
file under a directory given). A change to the reader or the model builder must leave `-t`'s
output byte-identical: this prints each file that differs and the count.

Usage: bench/conf_same_output.py NAMESPACE BASE NEW PATH...
  e.g. bench/conf_same_output.py vq /tmp/vigild-base target/.../vigild /tmp/c1000.conf \\
       tests/configs fuzz/corpus/config
"""

import os
import subprocess
import sys


def run(ns, prog, path):
    p = subprocess.run(["ip", "netns", "exec", ns, prog, "-t", "-f", path],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    ns, base, new, *paths = sys.argv[1:]
    files = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, names in os.walk(p):
                files += sorted(os.path.join(d, n) for n in names)
        else:
            files.append(p)
    differ = 0
    codes = {}
    for f in files:
        a, b = run(ns, base, f), run(ns, new, f)
        codes[a[0]] = codes.get(a[0], 0) + 1
        if a != b:
            differ += 1
            print(f"DIFFERS: {f}: exit {a[0]} / {b[0]}")
    print(f"{len(files)} files, {differ} differ (exit codes of the base: {codes})")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
