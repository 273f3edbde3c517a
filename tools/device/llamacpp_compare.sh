#!/usr/bin/env bash
# llama.cpp's own figures on the same GPU as rocmforge's: builds llama.cpp's CUDA backend from a
# source tarball, writes the Qwen2.5 shapes of `rocmforge bench --synthetic` as F16 GGUFs with
# llama.cpp's gguf-py (tools/device/llamacpp_synthetic_qwen2.py), quantizes them with
# llama-quantize, and times the same files with llama-bench and with rocmforge bench.
#   tools/device/llamacpp_compare.sh [unpack] [f16] [build] [models] [bench] [rocmforge]   (default: all)
# (f16 and build can run side by side, after unpack: the first is one Python process, the second nvcc.)
# Every step skips what is already there, so a run stopped by the device tool's 10-minute limit
# goes on where it stopped in the next call on the same (warm) machine. Results under $OUT.
# Inputs (git-ignored, passed with carry: [".carry"]):
#   LLAMACPP_TARBALL  llama.cpp's source tree as .tar.xz (default .carry/llama.cpp.tar.xz, made by
#                     tools/device/make_llamacpp_tarball.sh)
#   TOKENIZER_GGUF    a llama.cpp conversion of a Qwen model, for its tokenizer
set -uo pipefail
cd "$(dirname "$0")/../.."
out="$(realpath -m "${OUT:-device_out}")"
mkdir -p "$out"
what="${*:-unpack f16 build models bench rocmforge}"
tarball="${LLAMACPP_TARBALL:-.carry/llama.cpp.tar.xz}"
tok="${TOKENIZER_GGUF:-.carry/shared/models/llamacpp-gguf/tiny-qwen3moe-llamacpp-q8_0.gguf}"
root=build-llamacpp
src=$root/src
bin=$root/b/bin
models=$root/models
mkdir -p "$root" "$models"
# name llama-quantize type, for each file benchmarked
files="qwen2.5-7b:Q4_0 qwen2.5-7b:Q8_0 qwen2.5-7b:Q4_K_M qwen2.5-0.5b:Q4_0"
gguf_of() { local m=${1%%:*} t=${1##*:}; echo "$models/$m-${t,,}.gguf"; }

for w in $what; do
    case "$w" in
    unpack)
        [ -f "$src/CMakeLists.txt" ] || { mkdir -p "$src" && tar xJf "$tarball" -C "$src"; } || exit 1
        ;;
    f16)
        # the F16 files llama-quantize reads, for the shapes whose quantized files are not all there
        for shape in qwen2.5-7b qwen2.5-0.5b; do
            f16="$models/$shape-f16.gguf"
            need=0
            for f in $files; do [ "${f%%:*}" = "$shape" ] && [ ! -f "$(gguf_of "$f")" ] && need=1; done
            [ $need = 1 ] && [ ! -f "$f16" ] || continue
            PYTHONPATH="$src/gguf-py" python3 tools/device/llamacpp_synthetic_qwen2.py "$shape" "$tok" \
                "$f16.part" >"$out/synthetic_$shape.log" 2>&1 || { tail -20 "$out/synthetic_$shape.log"; exit 1; }
            mv "$f16.part" "$f16"
            echo "$f16: $(du -h "$f16" | cut -f1)"
        done
        ;;
    build)
        [ -f "$root/b/build.ninja" ] || cmake -S "$src" -B "$root/b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
            -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_CUDA_NCCL=OFF -DLLAMA_BUILD_TESTS=OFF \
            -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF \
            >"$out/llamacpp_cmake.log" 2>&1 || { tail -30 "$out/llamacpp_cmake.log"; exit 1; }
        ninja -C "$root/b" -j 16 llama-bench llama-quantize >"$out/llamacpp_build.log" 2>&1 ||
            { grep -E "error" "$out/llamacpp_build.log" | head -20; tail -3 "$out/llamacpp_build.log"; exit 1; }
        echo "llama.cpp build ok ($(grep -o 'ggml version: .*' "$out/llamacpp_cmake.log" 2>/dev/null))"
        ;;
    models)
        # llama-quantize's files (its own per-tensor mix for each type) from the F16 ones
        for f in $files; do
            shape=${f%%:*} q=$(gguf_of "$f") log="$out/quantize_${f%%:*}_${f##*:}.log"
            if [ ! -f "$q" ]; then
                [ -f "$models/$shape-f16.gguf" ] || { echo "$models/$shape-f16.gguf missing: run the f16 step"; exit 1; }
                "$bin/llama-quantize" "$models/$shape-f16.gguf" "$q.part" "${f##*:}" >"$log" 2>&1 || { tail -20 "$log"; exit 1; }
                mv "$q.part" "$q"
            fi
            echo "$q: $(du -h "$q" | cut -f1)"
        done
        ;;
    bench)
        # llama-bench's tg128 after a 512-token depth, flash attention on and off, every layer on the GPU
        list=$(for f in $files; do printf '%s,' "$(gguf_of "$f")"; done)
        "$bin/llama-bench" -m "${list%,}" -ngl 99 -p 0 -n 128 -d 512 -r 5 -fa on,off -o md \
            >"$out/llama_bench.md" 2>"$out/llama_bench.err" || { tail -20 "$out/llama_bench.err"; exit 1; }
        cat "$out/llama_bench.md"
        ;;
    rocmforge)
        [ -x build-cuda/rocmforge ] || tools/device/validate_h100.sh build >/dev/null || exit 1
        export LD_LIBRARY_PATH="$PWD/.carry/deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        for f in $files; do
            build-cuda/rocmforge bench -m "$(gguf_of "$f")" --device gpu -p 0 -n 128 -d 512 -r 5 2>>"$out/rocmforge_bench.err" |
                grep -E '^\| ' | tee -a "$out/rocmforge_bench.md"
        done
        ;;
    *) echo "unknown step '$w' (unpack, f16, build, models, bench, rocmforge)"; exit 2 ;;
    esac
done
