#!/usr/bin/env bash
# Install the Debian package on a machine without Rust and walk docs/HOWTO.md with it.
#
# The "machine" is a fresh Debian 12 root (debootstrap --variant=minbase: no Rust, no compiler),
# entered through its own mount and PID namespaces, so nothing is mounted on the host and every
# process ends with the walk. Inside it: apt-get installs the walk's peer and tools (keepalived,
# iproute2, procps) and is told not to start services; `dpkg -i` installs the package; the files
# the package promises are checked; then scripts/howto-walk.sh runs against the installed
# /usr/sbin/vigild and /usr/bin/vigil-sim and the installed HOWTO, in a network namespace of its
# own (it builds its lab there). Needs root, debootstrap (apt-get install debootstrap) and
# network access to a Debian mirror for the first two steps.
#
# Usage: scripts/deb-walk.sh target/debian/vigil_*.deb [ROOT]
#   ROOT: an existing debootstrapped root to reuse (default: a new one under /tmp).
set -euo pipefail
DEB=$(readlink -f "${1:?usage: scripts/deb-walk.sh PACKAGE.deb [ROOT]}")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${2:-}
if [ -z "$ROOT" ]; then
  ROOT=$(mktemp -d /tmp/vigil-debroot.XXXX)/root
fi
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ ! -x "$ROOT/bin/sh" ]; then
  command -v debootstrap >/dev/null || { echo "deb-walk: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  echo "deb-walk: debootstrap bookworm into $ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >/dev/null
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# Packages installed in the root must not start their services (keepalived would).
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT/walk"
mkdir -p "$ROOT/walk/scripts"
cp "$HERE/howto-walk.sh" "$ROOT/walk/scripts/"
cp "$DEB" "$ROOT/walk/"
PKG=/walk/$(basename "$DEB")

# enter MODE COMMAND: run COMMAND in the root, in new mount and PID namespaces (and, for the
# walk, a new network namespace), with /proc, /sys, /dev, /run and /tmp of its own.
enter() {
  local net=()
  [ "$1" = isolated ] && net=(--net)
  shift
  unshare --mount --pid --fork --propagation private "${net[@]}" \
    env ROOT="$ROOT" CMD="$*" bash -c '
      set -e
      # The root must be a mount point of its own: `ip netns exec` remounts / (make-rslave).
      mount --bind "$ROOT" "$ROOT"
      mount -t proc proc "$ROOT/proc"
      mount -t sysfs sys "$ROOT/sys"
      mount --rbind /dev "$ROOT/dev"
      mount -t tmpfs tmpfs "$ROOT/run"
      mount -t tmpfs tmpfs "$ROOT/tmp"
      exec chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
        /bin/bash -c "$CMD"'
}

echo "### the root has no Rust toolchain and no C compiler"
enter plain 'for t in cargo rustc rustup cc gcc; do if command -v $t; then echo "unexpected: $t"; exit 1; fi; done; echo "none of cargo, rustc, rustup, cc, gcc"'

echo "### apt-get: the walk's peer and tools (keepalived, iproute2, procps)"
enter plain 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends keepalived iproute2 procps >/dev/null && keepalived --version 2>&1 | head -n 1'

echo "### dpkg -i $(basename "$DEB")"
enter plain "dpkg -i $PKG && dpkg -s vigil | sed -n '1,12p'"

echo "### what the package installed"
enter plain 'set -e
dpkg -L vigil
for f in /usr/sbin/vigild /usr/bin/vigil-sim /lib/systemd/system/vigild.service \
         /usr/share/doc/vigil/examples/keepalived.conf /usr/share/doc/vigil/HOWTO.md; do
  test -s $f || { echo "missing: $f"; exit 1; }
done
ls /usr/share/man/man8/vigild.8* >/dev/null || { echo "missing: the man page"; exit 1; }
zcat -f /usr/share/man/man8/vigild.8* | sed -n "1,3p"
grep -E "^(ExecStart|Type)=" /lib/systemd/system/vigild.service
vigild --help | head -n 3
vigil-sim --help | head -n 3
echo "every file in place"'

echo "### the HOWTO walk, against the installed package (own network namespace)"
enter isolated 'ip link set lo up; HOWTO=/usr/share/doc/vigil/HOWTO.md bash /walk/scripts/howto-walk.sh /usr/sbin/vigild /usr/bin/vigil-sim'
