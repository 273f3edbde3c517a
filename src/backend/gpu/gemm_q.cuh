// Matrix-matrix products for many tokens (prefill, batched decode) on the weights as stored on
// the device (gpu_weight_layout.h):  y[t, r] = sum_k x[t, k] * W[r, k] (+ bias[r]).
//
// Tiled GEMM: a block computes BM weight rows x BN tokens; per K step of BK it loads the weight
// tile in its quantized form (16-byte loads of the planes), dequantizes it in registers into an
// f16 tile in shared memory (bf16 for BF16 weights), loads x (f32) converted likewise, and
// multiplies the two tiles on the matrix units (mma.sync m16n8k16, GemmCompute::Mma) or with
// FMA (GemmCompute::Fma, any GPU). The loads of step k+1 are in flight while step k is
// multiplied. Three tile shapes by token count: 64x16 (BK 256), 64x64 (BK 128), 128x128 (BK 64).
// When the grid would leave SMs idle, K is split across blocks that write partial sums, added
// in a fixed order by a second kernel (deterministic).
//
// Weights supported: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K..Q6_K (Q4_K as K units, Q5_K as Q5_1:
// gpu_weight_layout.h), F16, BF16; K a multiple of 32.
//
// Also here: whole rows of a quantized weight dequantized to f16 / bf16 (16-byte stores), the
// input of the vendor GEMM for large token counts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/gpu/gpu_dispatch_table.h"
#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

struct GemmArgs {
    QMatrix w;            // [rows, k]
    const float* x;       // [n_tok, x_stride]
    float* y;             // [n_tok, ldy]
    const float* bias;    // [rows] or null
    float* partial;       // split-K partial sums [n_splits, n_tok, rows] (n_splits > 1)
    int64_t x_stride;
    int64_t ldy;
    int32_t n_tok;
    int32_t n_splits;
    int32_t k_tiles_per_split;
    int32_t pad_;
};

// The tiled GEMM takes this weight (its GGUF type) and width.
bool gemm_supports(TensorType type, int64_t cols);

// Bytes of split-K scratch a launch_gemm of this shape needs (0: no split).
size_t gemm_scratch_bytes(int64_t rows, int64_t cols, int64_t n_tok, int n_sm, GemmCompute compute);

// y = x . W^T (+ bias). scratch: at least gemm_scratch_bytes() bytes.
void launch_gemm(Launcher& l, TensorType type, const QMatrix& w, const float* x, int64_t x_stride, int64_t n_tok,
                 float* y, int64_t ldy, const float* bias, GemmCompute compute, int n_sm, void* scratch);

// n f32 values to f16 (bf16 when to_bf16), 8 per thread where n and the pointers allow.
void launch_convert_f16(Launcher& l, const float* x, int64_t n, void* out, bool to_bf16);

// Rows [row0, row0 + n_rows) of a quantized weight as f16 (bf16 when to_bf16), row-major into
// out [n_rows, cols]. Types: the quantized ones gemm_supports() takes.
void launch_dequant_rows_f16(Launcher& l, TensorType type, const QMatrix& w, int64_t row0, int64_t n_rows, void* out,
                             bool to_bf16);

}  // namespace rf::gpu
