#!/usr/bin/env bash
# Build the Debian package `vigil` (target/debian/vigil_VERSION-1_amd64.deb): the static vigild
# and vigil-sim (musl, the `dist` profile: fat LTO, one codegen unit), the systemd unit, the man
# page and an example configuration. Metadata: [package.metadata.deb] in io-linux/Cargo.toml.
# Needs a Rust toolchain; installs the musl target (rustup), cargo-deb (from crates.io) and
# musl-tools (apt, as root) when missing. The package itself needs no Rust on the machine it is installed on.
# Usage: scripts/build-deb.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-musl

rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
# ring (rustls, SSL_GET) has C code: the musl build compiles it with musl-gcc (.cargo/config.toml).
if ! command -v musl-gcc >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
  else
    echo "build-deb: needs musl-gcc: apt-get install musl-tools (as root)" >&2; exit 1
  fi
fi
cargo build --profile dist --target "$TARGET" -p vigil-linux -p vigil-sim --bins
# Both binaries must be static: the package declares no dependency on a C library.
for b in vigild vigil-sim; do
  f="target/$TARGET/dist/$b"
  if ! file "$f" 2>/dev/null | grep -q 'static'; then
    ldd "$f" 2>&1 | grep -q 'not a dynamic executable' || { echo "build-deb: $f is not static" >&2; exit 1; }
  fi
done
cargo deb -p vigil-linux --no-build --target "$TARGET" --profile dist -o target/debian/
ls -la target/debian/*.deb
