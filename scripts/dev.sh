#!/usr/bin/env bash
# The two entry points of the README:
#   scripts/dev.sh run    install dependencies, build, run the default model
#   scripts/dev.sh test   install dependencies, build (warnings are errors), run every test,
#                         then build the fuzz targets (build-fuzz, clang) and run them briefly
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"
jobs="$(nproc)"

scripts/install_deps.sh

case "$mode" in
run)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j "$jobs"
    # The main job: generate from the embedded default model (tiny-qwen3, q8_0) on the best
    # device this build can use.
    build/rocmforge run -p "${ROCMFORGE_PROMPT:-The Python interpreter}" -n 64 --temp 0
    ;;
test)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DROCMFORGE_WERROR=ON >/dev/null
    cmake --build build -j "$jobs"
    if [ -f tests/node/package.json ]; then (cd tests/node && npm ci --no-audit --no-fund --loglevel=error); fi
    ctest --test-dir build --output-on-failure -j "$jobs"
    # Fuzz smoke runs: the libFuzzer targets (clang, ASan + UBSan) in their own small build that
    # compiles only core + formats; each target runs ~50k inputs from its seed corpus.
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DROCMFORGE_FUZZ=ON -DROCMFORGE_TESTS=OFF -DROCMFORGE_WERROR=ON >/dev/null
    cmake --build build-fuzz -j "$jobs" --target fuzz_gguf_reader fuzz_safetensors_header
    ctest --test-dir build-fuzz -L fuzz --output-on-failure
    ;;
*)
    echo "usage: scripts/dev.sh run|test" >&2
    exit 2
    ;;
esac
