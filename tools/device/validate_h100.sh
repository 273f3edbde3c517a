#!/usr/bin/env bash
# One full validation run on the GPU machine (the H100 of the device tool): builds the project
# with CUDA there (16 cores), runs the CPU tests, the GPU op harness, end-to-end GPU runs of the
# CLI, and the benchmarks the GPU issues name. Everything is logged under $OUT; a summary is
# printed last. Needs the git-ignored .carry/ folder (Debian -dev packages the image lacks, the
# tiny HF models), passed with carry: [".carry"]; tools/device/make_carry.sh prepares .carry/deps.
#   tools/device/validate_h100.sh [build] [tests] [e2e] [decode] [long] [prefill]   (default: all)
set -uo pipefail
cd "$(dirname "$0")/../.."
out="$(realpath -m "${OUT:-device_out}")"
mkdir -p "$out"
what="${*:-build tests e2e decode long prefill}"
deps="$PWD/.carry/deps/usr/lib/x86_64-linux-gnu"
export PKG_CONFIG_PATH="$deps/pkgconfig"
export LD_LIBRARY_PATH="$deps${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ROCMFORGE_GPU_LOCK_TIMEOUT=60
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv >"$out/smi.txt" 2>&1
rf=build-cuda/rocmforge
summary="$out/summary.md"
: >"$summary"

for w in $what; do
    case "$w" in
    build)
        cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DROCMFORGE_CUDA=ON \
            -DROCMFORGE_CUDA_ARCHS=90 >"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
        cmake --build build-cuda -j 16 >"$out/build.log" 2>&1 || { grep -E "error|Error" "$out/build.log" | head -40; exit 1; }
        echo "build ok" | tee -a "$summary"
        ;;
    tests)
        # CPU unit tests (those needing ../shared skip: it does not travel) and the GPU harness.
        (cd build-cuda && timeout 500 ctest -j 8 -LE interop --output-on-failure >"$out/ctest.log" 2>&1)
        echo "ctest rc=$? $(grep -E 'tests passed|tests failed' "$out/ctest.log")" | tee -a "$summary"
        grep -E "\*\*\*Failed|Timeout|Not Run" "$out/ctest.log" | head -20 | tee -a "$summary"
        ;;
    e2e)
        # The CLI on the GPU with the embedded default model. GPU and CPU quantize activations
        # differently (f16 vs Q8_0 blocks), so their greedy texts may part at a near tie; the
        # accuracy check against transformers is the harness test gpu_engine_path_test.
        gpu=$($rf run --device gpu -p "The Python interpreter" -n 32 --temp 0 2>"$out/run_gpu.err")
        cpu=$($rf run --device cpu -p "The Python interpreter" -n 32 --temp 0 2>"$out/run_cpu.err")
        python3 - "$gpu" "$cpu" <<'PY' | tee -a "$summary"
import sys
g, c = sys.argv[1], sys.argv[2]
n = next((i for i, (a, b) in enumerate(zip(g, c)) if a != b), min(len(g), len(c)))
print(f"e2e greedy text: gpu and cpu agree on the first {n} of {len(c)} characters")
PY
        tail -1 "$out/run_gpu.err" | tee -a "$summary"
        $rf logits --device gpu --text "In computer science, a hash table is" --out "$out/l_gpu.f32" 2>/dev/null
        $rf logits --device cpu --text "In computer science, a hash table is" --out "$out/l_cpu.f32" 2>/dev/null
        # the same through the decode kernels: one token per step (-b 1), over the prompt and the CPU's
        # greedy continuation
        $rf logits --device gpu -b 1 --text "The Python interpreter$cpu" --out "$out/ld_gpu.f32" 2>/dev/null
        $rf logits --device cpu -b 1 --text "The Python interpreter$cpu" --out "$out/ld_cpu.f32" 2>/dev/null
        python3 - "$out/l_gpu.f32" "$out/l_cpu.f32" "$out/ld_gpu.f32" "$out/ld_cpu.f32" <<'PY' | tee -a "$summary"
import sys, numpy as np
for what, (pg, pc) in (("prefill", sys.argv[1:3]), ("decode, one token per step", sys.argv[3:5])):
    g, c = (np.fromfile(p, dtype="<f4").reshape(-1, 8192) for p in (pg, pc))
    top2 = np.sort(c, 1)[:, -2:]
    rows = np.nonzero(g.argmax(1) != c.argmax(1))[0]
    print(f"e2e logits gpu vs cpu ({what}, {len(c)} rows): max|d|/max|c| = {np.abs(g - c).max() / np.abs(c).max():.2e}, "
          f"nmse {((g - c) ** 2).sum() / (c ** 2).sum():.2e}, argmax equal {np.mean(g.argmax(1) == c.argmax(1)) * 100:.0f}%"
          + "".join(f"; row {r} differs, cpu top-2 margin {top2[r, 1] - top2[r, 0]:.3f}" for r in rows))
PY
        ;;
    decode)
        for m in qwen2.5-7b:q4_0 qwen2.5-7b:q8_0 qwen2.5-7b:q4_k_m qwen2.5-0.5b:q4_0; do
            log="$out/bench_${m/:/_}.log"  # (the device tool returns no file with ':' in its name)
            timeout 240 $rf bench --synthetic "$m" --device gpu -p 0 -n 128 -d 512 -r 3 >"$log" 2>&1
            grep -E "^\| qwen" "$log" | tee -a "$summary"
        done
        ;;
    long)
        for d in 8192 32768; do
            for m in qwen2.5-7b:q4_0 qwen2.5-0.5b:q4_0; do
                log="$out/bench_${m/:/_}_d$d.log"
                timeout 240 $rf bench --synthetic "$m" --device gpu -p 0 -n 128 -d $d -r 3 >"$log" 2>&1
                grep -E "^\| qwen" "$log" | tee -a "$summary"
            done
        done
        ;;
    prefill)
        timeout 240 $rf bench --synthetic qwen2.5-7b:q4_0 --device gpu -p 512 -n 0 -r 3 >"$out/pp_7b_512.log" 2>&1
        timeout 240 $rf bench --synthetic qwen2.5-7b:q4_0 --device gpu -p 4096 -n 0 -r 3 >"$out/pp_7b_4096_b512.log" 2>&1
        timeout 240 $rf bench --synthetic qwen2.5-7b:q4_0 --device gpu -p 4096 -n 0 -r 3 -b 4096 >"$out/pp_7b_4096_b4096.log" 2>&1
        timeout 240 $rf bench --synthetic qwen2.5-7b:q4_0 --device gpu -p 2048 -n 0 -r 3 -b 2048 >"$out/pp_7b_2048.log" 2>&1
        timeout 240 $rf bench --synthetic qwen2.5-0.5b:q4_0 --device gpu -p 512 -n 0 -r 3 >"$out/pp_05b_512.log" 2>&1
        for f in pp_7b_512 pp_7b_4096_b512 pp_7b_4096_b4096 pp_7b_2048 pp_05b_512; do
            grep -E "^\| qwen" "$out/$f.log" | sed "s/^/$f: /" | tee -a "$summary"
        done
        ;;
    esac
done
echo "==== summary"
cat "$out/smi.txt" "$summary"
