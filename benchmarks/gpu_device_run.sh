#!/usr/bin/env bash
# One full run on a GPU machine with prebuilt binaries (build-cuda/): the op harness, the matvec
# bandwidth table and synthetic decode steps. Logs go to $OUT (or ./gpu_run_out).
#   benchmarks/gpu_device_run.sh [tests] [matvec] [step] [ncu]     (default: tests matvec step)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_run_out}"
mkdir -p "$out"
bin=build-cuda
what="${*:-tests matvec step}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv >"$out/smi.txt" 2>&1
for w in $what; do
    case "$w" in
    tests)
        timeout 400 "$bin/rocmforge_gpu_tests" --gtest_output="xml:$out/tests.xml" >"$out/tests.log" 2>&1
        echo "tests rc=$?"
        grep -E "^\[  (FAILED|PASSED) |FAILED TEST|^\[==========\]" "$out/tests.log" | head -40
        grep -B3 -A12 "Failure" "$out/tests.log" | head -80
        ;;
    matvec)
        timeout 300 "$bin/rocmforge_gpu_bench" matvec --reps 30 ${MATVEC_TYPES:+--types $MATVEC_TYPES} >"$out/matvec.log" 2>&1
        echo "matvec rc=$?"
        ;;
    step)
        for m in "0.5b q4_0" "7b q4_0" "7b q8_0" "7b q4_K"; do
            set -- $m
            timeout 120 "$bin/rocmforge_gpu_bench" step --model "$1" --type "$2" --steps 200 --ctx 512 >>"$out/step.log" 2>&1
            echo "step $m rc=$?"
        done
        ;;
    ncu)
        # per-kernel time of one decode step (the second, replayed as a graph) for two models
        for m in "0.5b q4_0 244" "7b q4_0 284"; do
            set -- $m
            timeout 240 ncu --clock-control none --metrics gpu__time_duration.sum --csv "$bin/rocmforge_gpu_bench" step \
                --model "$1" --type "$2" --steps 1 --warmup 1 --config fused >"$out/ncu_step_$1_$2.csv" 2>&1
            echo "ncu step $m rc=$?"
            python3 benchmarks/gpu_ncu_summary.py "$out/ncu_step_$1_$2.csv" "$3" | tee "$out/ncu_step_$1_$2.txt" | head -25
        done
        # one matvec launch in detail
        timeout 200 ncu --clock-control none -k regex:matvec_kernel --launch-skip 5 --launch-count 1 \
            --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy \
            --section SchedulerStats --section LaunchStats "$bin/rocmforge_gpu_bench" matvec --types q4_0 \
            --shape 18944x3584 --variants 0 --reps 1 >"$out/ncu_matvec.log" 2>&1
        echo "ncu matvec rc=$?"
        grep -E "Duration|Throughput|Achieved Occupancy|Registers|Stall|Warp Cycles|Issued|Eligible|L1/TEX Hit|L2 Hit|Mem Busy|Max Bandwidth" "$out/ncu_matvec.log" | head -40
        ;;
    esac
done
cat "$out/smi.txt"
[ -f "$out/matvec.log" ] && cat "$out/matvec.log"
[ -f "$out/step.log" ] && cat "$out/step.log"
exit 0
