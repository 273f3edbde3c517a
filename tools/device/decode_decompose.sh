#!/usr/bin/env bash
# Where a decode token goes, on the GPU machine (after `validate_h100.sh build`): the engine's bench
# (`rocmforge bench --synthetic MODEL --device gpu -p 0 -n 128 -d 512 -r 3`) with the weightless phases
# knocked out (RF_GPU_PROFILE_SKIP; results wrong), once with the real matvec kernels and once with every
# matvec replaced by the best stream of its bytes measured (RF_GPU_PROFILE_STREAM; docs/gpu_notes.md,
# twenty-first pass). One line per setting (tools/device/switch_sweep.sh, one round).
#   tools/device/decode_decompose.sh [MODEL ...]   (default qwen2.5-7b:q4_0)
set -uo pipefail
cd "$(dirname "$0")/../.."
streams="RF_GPU_PROFILE_STREAM=matvec RF_GPU_PROFILE_STREAM_BLOCKS=2 RF_GPU_PROFILE_STREAM_EARLY=1 RF_GPU_PROFILE_STREAM_SPLIT=dynamic"
settings=()
for k in "" "attention_decode_mma_kernel,attention_combine_kernel" "rms_norm_sliced_kernel" "quantize_q8_1_kernel" \
    "attention_decode_mma_kernel,attention_combine_kernel,rms_norm_sliced_kernel,quantize_q8_1_kernel"; do
    skip=${k:+RF_GPU_PROFILE_SKIP=$k}
    settings+=("$skip" "$streams${skip:+ $skip}")
done
models="${*:-qwen2.5-7b:q4_0}"
ROUNDS=1 exec tools/device/switch_sweep.sh "$models" "${settings[@]}"
