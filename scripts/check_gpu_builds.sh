#!/usr/bin/env bash
# Compile checks of the GPU backend for both vendors (no GPU needed):
#   build-cuda: nvcc (sm_90 by default, ROCMFORGE_CUDA_ARCHS to change), Release, tests on
#   build-hip:  CXX=hipcc, gfx1030 full build + gfx1100 device code only (-S), Release, tests on
# Usage: scripts/check_gpu_builds.sh [cuda|hip|all] [--gpu-only]
#   --gpu-only builds the GPU targets only (library, GPU op harness, GPU bench, the CUDA probes of
#   benchmarks/probes, HIP device code)
#   instead of every target. Warnings are errors. Uses ccache when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
gpu_only=0
for a in "$@"; do [ "$a" = "--gpu-only" ] && gpu_only=1; done
jobs="${JOBS:-$(nproc)}"

targets() {
    if [ "$gpu_only" = 1 ]; then echo "rocmforge_lib rocmforge_gpu_tests rocmforge_gpu_bench rocmforge_gpu_prefill_bench $*"; fi
}

if [ "$which" = cuda ] || [ "$which" = all ]; then
    nvcc="${CUDACXX:-/usr/local/cuda/bin/nvcc}"
    [ -x "$nvcc" ] || { echo "check_gpu_builds: nvcc not found at $nvcc (set CUDACXX)" >&2; exit 1; }
    cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DROCMFORGE_CUDA=ON -DROCMFORGE_TESTS=ON \
        -DROCMFORGE_WERROR=ON -DCMAKE_CUDA_COMPILER="$nvcc" -DROCMFORGE_CUDA_ARCHS="${ROCMFORGE_CUDA_ARCHS:-90}" >/dev/null
    # shellcheck disable=SC2046
    cmake --build build-cuda -j "$jobs" $( [ "$gpu_only" = 1 ] && echo --target $(targets rocmforge_probe_read_size \
        rocmforge_probe_pdl_chain rocmforge_probe_ring_barrier rocmforge_probe_flag_chain rocmforge_probe_row_pattern \
        rocmforge_probe_attn_block) )
    echo "check_gpu_builds: CUDA build OK (build-cuda)"
fi

if [ "$which" = hip ] || [ "$which" = all ]; then
    command -v hipcc >/dev/null || { echo "check_gpu_builds: hipcc not found (apt-get install hipcc libamdhip64-dev rocm-device-libs)" >&2; exit 1; }
    CXX=hipcc cmake -S . -B build-hip -G Ninja -DCMAKE_BUILD_TYPE=Release -DROCMFORGE_HIP=ON -DROCMFORGE_TESTS=ON \
        -DROCMFORGE_WERROR=ON -DROCMFORGE_HIP_ARCHS="${ROCMFORGE_HIP_ARCHS:-gfx1030}" \
        -DROCMFORGE_HIP_DEVICE_ONLY_ARCHS="${ROCMFORGE_HIP_DEVICE_ONLY_ARCHS:-gfx1100}" >/dev/null
    # shellcheck disable=SC2046
    cmake --build build-hip -j "$jobs" $( [ "$gpu_only" = 1 ] && echo --target $(targets rocmforge_hip_device_only) )
    echo "check_gpu_builds: HIP build OK (build-hip)"
fi
