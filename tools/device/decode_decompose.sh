#!/usr/bin/env bash
# Where a decode token goes, on the GPU machine (after `validate_h100.sh build`): the engine's bench
# (`rocmforge bench --synthetic MODEL --device gpu -p 0 -n 128 -d 512 -r 3`) with the weightless phases
# knocked out (RF_GPU_PROFILE_SKIP; results wrong), once with the real matvec kernels and once with every
# matvec replaced by the best stream of its bytes measured (RF_GPU_PROFILE_STREAM; docs/gpu_notes.md,
# twenty-first pass). One line per setting: label, then the bench's tok/s columns.
#   tools/device/decode_decompose.sh [MODEL ...]   (default qwen2.5-7b:q4_0)
set -uo pipefail
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH="$PWD/.carry/deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
rf=build-cuda/rocmforge
[ -x "$rf" ] || { echo "no $rf: run tools/device/validate_h100.sh build first" >&2; exit 1; }
streams=(RF_GPU_PROFILE_STREAM=matvec RF_GPU_PROFILE_STREAM_BLOCKS=2 RF_GPU_PROFILE_STREAM_EARLY=1
         RF_GPU_PROFILE_STREAM_SPLIT=dynamic)
skips=("" "attention_decode_mma_kernel,attention_combine_kernel" "rms_norm_sliced_kernel" "quantize_q8_1_kernel"
       "attention_decode_mma_kernel,attention_combine_kernel,rms_norm_sliced_kernel,quantize_q8_1_kernel")
bench() {  # label model env...
    local label=$1 model=$2
    shift 2
    env "$@" timeout 120 "$rf" bench --synthetic "$model" --device gpu -p 0 -n 128 -d 512 -r 3 2>&1 |
        grep -E "^\| qwen|rror" | cut -d'|' -f2,8,9 | sed "s/^/$label /"
}
for model in "${@:-qwen2.5-7b:q4_0}"; do
    for k in "${skips[@]}"; do
        bench "engine skip=[$k]" "$model" RF_GPU_PROFILE_SKIP="$k"
        bench "streams skip=[$k]" "$model" "${streams[@]}" RF_GPU_PROFILE_SKIP="$k"
    done
done
