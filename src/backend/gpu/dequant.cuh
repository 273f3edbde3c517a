// Weight (de)conversion kernels: the planar repack at upload (gpu_weight_layout.h), the
// embedding gather (rows of any weight type to f32), rows to f16/bf16 for the vendor GEMM, and
// f32 activations to f16/bf16.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

// Splits n_blocks GGUF blocks (raw, device memory) starting at block index blk0 of the matrix
// into the planes of `dst_mat` (the matrix base).
void launch_repack(Launcher& l, TensorType type, const uint8_t* raw, int64_t n_blocks, int64_t blk0, uint8_t* dst_mat,
                   int64_t rows, int64_t cols);

// Q4_K / Q5_K: n_super GGUF super-blocks (raw, device memory) starting at super-block super0 of
// the matrix, transcoded into the planes of `dst_mat`: Q4_K into K units, Q5_K into Q5_1 blocks
// (gpu_weight_layout.h).
void launch_transcode_k(Launcher& l, TensorType type, const uint8_t* raw, int64_t n_super, int64_t super0,
                        uint8_t* dst_mat, int64_t rows, int64_t cols);

// out[t, :] = row ids[t] of m as f32, t < n_tok.                           out: [n_tok, m.cols]
void launch_embed(Launcher& l, TensorType type, const QMatrix& m, const int32_t* ids, int64_t n_tok, float* out);

// Rows [row0, row0 + n_rows) of m as f16 (bf16 when to_bf16) into out [n_rows, m.cols].
void launch_dequant_rows(Launcher& l, TensorType type, const QMatrix& m, int64_t row0, int64_t n_rows, void* out,
                         bool to_bf16);

// n f32 values to f16 (bf16 when to_bf16).
void launch_convert_f32(Launcher& l, const float* x, int64_t n, void* out, bool to_bf16);

}  // namespace rf::gpu
