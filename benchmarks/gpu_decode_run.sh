#!/usr/bin/env bash
# Batch-1 decode measurements on a GPU machine, before/after in one run, from prebuilt binaries
# packed here (the device machine has no compiler dependencies of the whole project):
#   BINS: a tar.xz holding rocmforge_gpu_tests, rocmforge_gpu_bench (this tree) and base_gpu_bench
#         (the bench built from the commit to compare against); default .devdec/bins.tar.xz.
#   benchmarks/gpu_decode_run.sh [tests] [step] [long] [matvec] [ncu] [barrier]   (default: tests step long matvec)
#     tests   the GPU op harness (GTEST_FILTER to select)
#     step    the four decode targets (0.5b q4_0, 7b q4_0 / q8_0 / q4_K) at context 512, base and new,
#             the new one per decode switch set of DECODE_SETS (rocmforge_gpu_bench step --decode)
#     barrier the device-wide barrier probe
#   Environment: GTEST_FILTER, TESTS_TIMEOUT (tests); DECODE_SETS, BASE_AGAIN=1 (step: the base bench
#   again after the new sets, a drift check); LONG_SETS (long: decode switch sets, default "default").
#     long    the same at contexts 8192 and 32768 (new), 0.5b / 7b q4_0 also with the base bench
#     matvec  the one-token matvec against the many-token kernel, every launch configuration
#     ncu     per-kernel times and DRAM bytes of 7b q4_0 and 0.5b q4_0 steps (benchmarks/gpu_ncu_summary.py)
#     ncu-engine  the same for the engine's models (NCU_ENGINE, default qwen2.5-7b:q4_k_m: its Q6_K tensors),
#             the last NCU_LAST kernels (default 231, about one 7b step) grouped per template instance
#     trace   the decode attention's per-block phases inside a queued step (7b and 0.5b q4_0, step --trace 1)
#     sass    per-instruction warp-stall samples (ncu source page) of the matvec kernels on the 7b
#             down (many-token kernel) and gate/up (one-token kernel) shapes, SASS_TYPES (default
#             q4_0 q8_0), summarised by benchmarks/gpu_ncu_sass_summary.py
#     engine  `rocmforge bench` (the tarball's rocmforge) on the four targets, tg128 after 512 tokens,
#             decode pipelining on (default) and off (RF_DECODE_PIPELINE=off), same process order
#             (ENGINE_TARGETS, ENGINE_PIPELINE="on off", ENGINE_DEPTH="512": depths, space-separated)
# Logs go to $OUT (or ./gpu_run_out); a summary is printed last.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_run_out}"
mkdir -p "$out"
bins=/tmp/rf_decode_bins
mkdir -p "$bins"
tar xJf "${BINS:-.devdec/bins.tar.xz}" -C "$bins" || { echo "no binaries"; exit 1; }
export LD_LIBRARY_PATH="$bins${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # libfmt where the image lacks it
what="${*:-tests step long matvec}"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv >"$out/smi.txt" 2>&1
targets="0.5b:q4_0 7b:q4_0 7b:q8_0 7b:q4_K"
for w in $what; do
    case "$w" in
    tests)
        timeout "${TESTS_TIMEOUT:-300}" "$bins/rocmforge_gpu_tests" --gtest_filter="${GTEST_FILTER:-*}" \
            --gtest_output="xml:$out/tests.xml" >"$out/tests.log" 2>&1
        echo "tests rc=$?"
        grep -E "^\[  (FAILED|PASSED) |FAILED TEST|^\[==========\]" "$out/tests.log" | head -40
        grep -B3 -A12 "Failure" "$out/tests.log" | head -60
        ;;
    step)
        for t in $targets; do
            m=${t%%:*} ty=${t##*:}
            timeout 120 "$bins/base_gpu_bench" step --model "$m" --type "$ty" --steps 100 --ctx 512 >>"$out/step_base.log" 2>&1
            echo "base step $t rc=$?"
            timeout 150 "$bins/rocmforge_gpu_bench" step --model "$m" --type "$ty" --steps 200 --ctx 512 --config pdl \
                --decode "${DECODE_SETS:-default,norm-off,no-matvec1,matvec1-all}" >>"$out/step_new.log" 2>&1
            echo "new step $t rc=$?"
            if [ -n "${BASE_AGAIN:-}" ]; then  # the base again after the new sets (drift check)
                timeout 120 "$bins/base_gpu_bench" step --model "$m" --type "$ty" --steps 100 --ctx 512 >>"$out/step_base.log" 2>&1
                echo "base again step $t rc=$?"
            fi
        done
        ;;
    long)
        for t in $targets; do
            m=${t%%:*} ty=${t##*:}
            timeout 150 "$bins/rocmforge_gpu_bench" step --model "$m" --type "$ty" --steps 50 --warmup 4 --config pdl \
                --ctx 8192,32768 --decode "${LONG_SETS:-default}" >>"$out/long_new.log" 2>&1
            echo "new long $t rc=$?"
        done
        for t in 0.5b:q4_0 7b:q4_0; do
            m=${t%%:*} ty=${t##*:}
            for c in 8192 32768; do
                timeout 150 "$bins/base_gpu_bench" step --model "$m" --type "$ty" --steps 30 --warmup 4 --ctx $c \
                    >>"$out/long_base.log" 2>&1
                echo "base long $t $c rc=$?"
            done
        done
        ;;
    matvec)
        timeout 200 "$bins/rocmforge_gpu_bench" matvec --reps 30 --types q4_0,q8_0 --variants "${MATVEC_VARIANTS:-1}" >"$out/matvec.log" 2>&1
        echo "matvec rc=$?"
        timeout 100 "$bins/rocmforge_gpu_bench" matvec --reps 30 --types q4_K,q6_K --variants 0 >>"$out/matvec.log" 2>&1
        echo "matvec k rc=$?"
        ;;
    engine)
        for t in ${ENGINE_TARGETS:-qwen2.5-0.5b:q4_0 qwen2.5-7b:q4_0 qwen2.5-7b:q8_0 qwen2.5-7b:q4_k_m}; do
            for d in ${ENGINE_DEPTH:-512}; do
            for pipe in ${ENGINE_PIPELINE:-on off}; do
                env $([ $pipe = off ] && echo RF_DECODE_PIPELINE=off) timeout 200 "$bins/rocmforge" bench --synthetic "$t" \
                    --device gpu -p 0 -n 128 -d "$d" -r 3 >>"$out/engine.log" 2>&1
                echo "engine $t depth $d pipeline $pipe rc=$?"
            done
            done
        done
        ;;
    barrier)
        timeout 60 "$bins/rocmforge_gpu_bench" barrier --reps 200 >"$out/barrier.log" 2>&1
        echo "barrier rc=$?"
        ;;
    ncu)
        for m in "7b q4_0" "0.5b q4_0"; do
            set -- $m
            timeout 150 ncu --clock-control none --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv \
                "$bins/rocmforge_gpu_bench" step --model "$1" --type "$2" --steps 1 --warmup 2 --ctx 512 --config pdl \
                >"$out/ncu_step_$1_$2.csv" 2>&1
            echo "ncu step $m rc=$?"
        done
        ;;
    ncu-engine)
        # the engine's own models (their real type mixes: q4_k_m's Q6_K tensors), a few decode steps of
        # `rocmforge bench`; the summary of the last NCU_LAST kernels (about one step) per template instance
        for m in ${NCU_ENGINE:-qwen2.5-7b:q4_k_m}; do
            f="$out/ncu_engine_${m//[:.]/_}.csv"
            timeout 300 ncu --clock-control none --metrics gpu__time_duration.sum,dram__bytes_read.sum --csv \
                "$bins/rocmforge" bench --synthetic "$m" --device gpu -p 0 -n 3 -d 512 -r 1 >"$f" 2>&1
            echo "ncu engine $m rc=$?"
            python3 benchmarks/gpu_ncu_summary.py "$f" "${NCU_LAST:-231}" --templates | head -30
        done
        ;;
    trace)
        for m in "7b q4_0" "0.5b q4_0"; do
            set -- $m
            timeout 100 "$bins/rocmforge_gpu_bench" step --model "$1" --type "$2" --steps 30 --ctx 512 --config pdl \
                --trace 1 >"$out/trace_$1_$2.log" 2>&1
            echo "trace $m rc=$?"
            grep -E "^  launch 1" "$out/trace_$1_$2.log" | cut -c1-330
        done
        ;;
    sass)
        for ty in ${SASS_TYPES:-q4_0 q8_0}; do
            for k in "matvec_kernel 3584x18944" "matvec1_kernel 18944x3584"; do
                set -- $k
                f="$out/sass_${ty}_$1_$2.txt"
                timeout 120 ncu --section SourceCounters --page source --print-source sass -k "regex:$1" --launch-skip 3 \
                    --launch-count 1 "$bins/rocmforge_gpu_bench" matvec --types "$ty" --shape "$2" --reps 3 --variants 0 >"$f" 2>&1
                echo "sass $ty $1 $2 rc=$?"
                python3 benchmarks/gpu_ncu_sass_summary.py "$f" --top 8
            done
        done
        ;;
    esac
done
echo "==== summary"
grep -E "rc=|PASSED|FAILED" "$out"/*.log 2>/dev/null | grep -v "rc=0" | head -20
for f in step_base step_new long_new long_base; do
    [ -f "$out/$f.log" ] || continue
    echo "-- $f"
    grep -E "^device|^context|^on +on +on|^on +on +off " "$out/$f.log" | sed -E -e 's/device: NVIDIA H[0-9]+[^;]*; //' \
        -e 's/ \([0-9]+ layers, embd [0-9]+, ff [0-9]+\)//' -e 's/ +/ /g'
done
[ -f "$out/matvec.log" ] && grep -E "^device|/1 " "$out/matvec.log" | cut -c1-150
[ -f "$out/barrier.log" ] && cat "$out/barrier.log"
[ -f "$out/engine.log" ] && grep -E "^\| qwen|host time per" "$out/engine.log"
exit 0
