#!/usr/bin/env bash
# Prepares the git-ignored .carry/deps folder that tools/device/validate_h100.sh needs on the GPU machine,
# whose image lacks these Debian packages' headers and libraries: PCRE2, xxHash, utf8proc (-dev and runtime).
# Run on this (Debian 12) machine; then pass carry: [".carry"] to the device tool. The .pc files' prefix is
# rewritten to their own location (pkg-config's ${pcfiledir}) so that the folder works wherever it lands.
#   tools/device/make_carry.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
deps="$PWD/.carry/deps"
tmp="$(mktemp -d)"
chmod 755 "$tmp"  # (apt downloads as its own user where it can)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libpcre2-dev libpcre2-8-0 libxxhash-dev libxxhash0 libutf8proc-dev libutf8proc2 >/dev/null)
mkdir -p "$deps"
for d in "$tmp"/*.deb; do dpkg -x "$d" "$deps"; done
sed -i 's|^prefix=/usr$|prefix=${pcfiledir}/../../..|' "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
PKG_CONFIG_PATH="$deps/usr/lib/x86_64-linux-gnu/pkgconfig" pkg-config --cflags --libs libpcre2-8 libxxhash libutf8proc
echo "ready: $deps ($(du -sh "$deps" | cut -f1))"
