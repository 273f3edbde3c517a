#!/usr/bin/env bash
# One prefill run on a GPU machine with prebuilt binaries: the op harness (prefill tests and the
# GPU tests they touch), the matmul path sweep, prompt processing, time to first token and the
# per-class time split. Logs go to $OUT (or ./gpu_run_out).
#   BIN=dir benchmarks/gpu_prefill_device_run.sh [tests] [pp] [split] [gemm] [parts] [small]
# BIN holds rocmforge_gpu_tests and rocmforge_gpu_prefill_bench (default build-cuda), and may
# hold lib/ with shared libraries the machine lacks (libfmt).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_run_out}"
mkdir -p "$out"
bin="${BIN:-build-cuda}"
export LD_LIBRARY_PATH="$PWD/$bin/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
what="${*:-tests pp split gemm parts small}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv >"$out/smi.txt" 2>&1
pb="$bin/rocmforge_gpu_prefill_bench"
for w in $what; do
    case "$w" in
    tests)
        timeout "${TEST_TIMEOUT:-240}" "$bin/rocmforge_gpu_tests" --gtest_filter="${TEST_FILTER:-GpuPrefill*:GpuAttention*:GpuMatmul*:GpuStep*}" \
            --gtest_output="xml:$out/tests.xml" >"$out/tests.log" 2>&1
        echo "tests rc=$?"
        grep -E "^\[  (FAILED|PASSED) |FAILED TEST|^\[==========\]|logits nmse" "$out/tests.log" | head -40
        grep -B3 -A12 "Failure" "$out/tests.log" | head -60
        ;;
    gemm)
        timeout 90 "$pb" gemm --type q4_0 --tokens 16,32,64,128,256,512,2048 >"$out/gemm.log" 2>&1
        echo "gemm rc=$?"
        ;;
    pp)
        {
            timeout 80 "$pb" pp --model 7b --type q4_0 --tokens 512,2048,4096 --chunk 512 --reps 3
            timeout 70 "$pb" pp --model 7b --type q4_0 --tokens 2048,4096 --chunk 4096 --reps 3
        } >"$out/pp.log" 2>&1
        echo "pp rc=$?"
        ;;
    split)
        {
            timeout 60 "$pb" split --model 7b --type q4_0 --tokens 4096 --chunk 4096 --reps 2
            timeout 40 "$pb" split --model 7b --type q4_0 --tokens 512 --chunk 512 --reps 3
        } >"$out/split.log" 2>&1
        echo "split rc=$?"
        ;;
    parts)
        timeout 60 "$pb" parts --type q4_0 --tokens 512,4096 >"$out/parts.log" 2>&1
        echo "parts rc=$?"
        ;;
    small)
        timeout 45 "$pb" pp --model 0.5b --type q4_0 --tokens 512,4096 --chunk 512 --reps 5 >"$out/small.log" 2>&1
        echo "small rc=$?"
        ;;
    esac
done
cat "$out/smi.txt"
for f in pp split gemm parts small; do [ -f "$out/$f.log" ] && cat "$out/$f.log"; done
exit 0
