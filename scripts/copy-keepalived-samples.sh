#!/bin/sh
# Copy Debian's keepalived sample configurations into the repository, so that the differential
# tests (tests/tests/config_differential.rs, tests/tests/dump_differential.rs) never read outside
# it. Run once after installing keepalived (apt-get install keepalived); commit the result.
# The samples are keepalived's (GPL-2.0-or-later, /usr/share/doc/keepalived/copyright).
set -eu
src=/usr/share/doc/keepalived/samples
dst=$(dirname "$0")/../tests/configs/keepalived-samples
[ -d "$src" ] || { echo "$src is missing: apt-get install keepalived" >&2; exit 1; }
mkdir -p "$dst"
version=$(dpkg-query -W -f='${Version}' keepalived 2>/dev/null || echo unknown)
n=0
for f in "$src"/keepalived.conf.*; do
    cp "$f" "$dst/"
    n=$((n + 1))
done
cat > "$dst/README.md" <<EOT
# keepalived's sample configurations

Copied by \`scripts/copy-keepalived-samples.sh\` from Debian's keepalived package (version
$version, \`$src\`): $n files, unchanged. They are keepalived's own examples
(GPL-2.0-or-later, like keepalived). The differential tests run keepalived and vigild on them;
nothing reads the package's copy at test time.
EOT
echo "copied $n samples into $dst"
