#!/usr/bin/env bash
# Installs the build and test dependencies of rocmforge from Debian 12 packages (and, for the
# oracle tests, the npm packages pinned in tests/node/package-lock.json).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
    build-essential cmake ninja-build pkg-config ccache git
    nlohmann-json3-dev libpcre2-dev libcli11-dev libfmt-dev libspdlog-dev
    libboost-dev libopenblas-dev liblapacke-dev libxxhash-dev libzstd-dev libutf8proc-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    clang libclang-rt-14-dev
    hipcc libamdhip64-dev rocm-device-libs
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js for the oracle tests: any installed node + npm will do (a NodeSource nodejs bundles npm
# and conflicts with Debian's npm package, so only install Debian's when the commands are absent).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
