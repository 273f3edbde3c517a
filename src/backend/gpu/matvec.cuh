// Matrix-vector products for few tokens (decode), every weight type:
//   quantized weights: y[t, r] = sum_units dot(w unit, q8_1(x[t]) unit)   (quant_dot.cuh)
//   F32 / F16 / BF16:  y[t, r] = sum_k w[r, k] * x[t, k] with x in f32
// Up to three matrices that share the input x run in one launch (q/k/v, gate/up), and the
// epilogue can add a bias, add the result into a residual stream, or combine gate and up rows
// into silu(gate) * up (SwiGLU).
//
// Work split: a block has 128 threads; each row (SwiGLU: a gate row and its up row) is handled
// by `warps_per_row` warps whose lanes stride over the row's units, several units in flight per
// lane; a block handles 4 / warps_per_row rows.
// Tokens are processed tt at a time (grid.y covers the rest).
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

constexpr int kMatvecMaxMats = 3;
constexpr int kMatvecThreads = 128;

enum class MatvecEpilogue : int32_t {
    Plain = 0,    // y_i = acc (+ bias_i)
    SwiGlu = 1,   // mats 0 (gate) and 1 (up) of the same rows: y_0 = g, y_1 = u, y_2 = silu(g) * u
};

struct MatvecArgs {
    QMatrix m[kMatvecMaxMats];
    float* y[kMatvecMaxMats];           // [n_tok, ldy_i]
    const float* bias[kMatvecMaxMats];  // [rows_i] or null
    float* residual[kMatvecMaxMats];    // [n_tok, ldy_i] or null: residual += result
    int64_t ldy[kMatvecMaxMats];
    int64_t row_end[kMatvecMaxMats];    // matrix i owns global rows [row_end[i-1], row_end[i])
    const void* x;                      // quantized: int8 [n_tok, x_stride]; float: f32 [n_tok, x_stride]
    const float2* xds;                  // quantized: [n_tok, x_stride / 32]
    int64_t x_stride;
    int64_t total_rows;                 // rows of the launch (SwiGlu: rows of one matrix)
    int32_t n_tok;
    int32_t n_mats;
    int32_t epilogue;                   // MatvecEpilogue
    int32_t warps_per_row;              // 1, 2 or 4
};

struct MatvecConfig {
    int warps_per_row = 1;  // 1, 2, 4
};

// Picks the warps per row for `rows` x `cols` of `type` on a device with `n_sm` SMs.
MatvecConfig choose_matvec_config(TensorType type, int64_t rows, int64_t cols, int n_sm);

// Quantized weights (x, xds: q8_1 activation). Types: Q4_0 .. Q6_K.
void launch_matvec_q(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);
// F32 / F16 / BF16 weights (x: f32).
void launch_matvec_f(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);

bool is_quantized_matvec_type(TensorType t);
bool is_float_matvec_type(TensorType t);

}  // namespace rf::gpu
