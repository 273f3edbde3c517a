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
// Tokens are processed tt at a time (1, 2, 4 or 8: the fewest that hold them; grid.y covers the rest).
//
// One token (decode) has its own kernel, launch_matvec1_q (matvec1_kernel.cuh), which also takes the 2 ..
// kMatvec1MaxTokens tokens of a batched decode step in one launch: x staged once per block in shared
// memory, `lanes_per_row` lanes per row (4..32, so several rows per warp when rows are short), U units per lane in flight, the first units' weights loaded before the
// programmatic-dependent-launch wait; optionally the rms_norm of x computed in the prologue and
// the q8_1 of the SwiGLU output written by the epilogue (both save a launch per use); optionally
// a persistent grid (blocks loop over row groups, the next group's loads issued before the
// current group's reduction), which also stages x (and computes the norm) once per resident block.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

constexpr int kMatvecMaxMats = 3;
constexpr int kMatvecThreads = 128;
// The most tokens of a few-token launch of the one-token kernel (matvec1_kernel.cuh's NT: batched decode
// steps of 2 .. 4 sequences, with the one-token prologues and epilogues).
constexpr int kMatvec1MaxTokens = 4;

enum class MatvecEpilogue : int32_t {
    Plain = 0,    // y_i = acc (+ bias_i)
    SwiGlu = 1,   // mats 0 (gate) and 1 (up) of the same rows: y_0 = g, y_1 = u, y_2 = silu(g) * u
};

// Where the one-token kernel gets its q8_1 x from.
enum class MatvecPrologue : int32_t {
    Q8 = 0,       // x / xds: the q8_1 activation in global memory
    RmsNorm = 1,  // norm_x (f32) normalised by norm_w in the prologue; block 0 also writes the f32
                  // result to norm_out and its q8_1 to norm_xq / norm_xds (what rms_norm + quantize write)
};

// MatvecArgs::early_loads bits
constexpr int32_t kMatvecEarlyFirst = 1;   // the first units of a lane before the PDL wait
constexpr int32_t kMatvecEarlyWhole = 2;   // one token: the lane's whole share of a short row before the wait
constexpr int32_t kMatvecEarlyTriple = 4;  // one token: long rows three units per iteration
constexpr int32_t kMatvecEarlyOne = 8;     // with kMatvecEarlyFirst: only the first batch's first unit
constexpr int32_t kMatvecTripleLong = 16;  // with kMatvecEarlyTriple: only rows longer than a short row
                                           // (kMatvecWholeRowUnits units per lane)
// MatvecArgs::wide
constexpr int32_t kMatvec1WideOff = 0;
constexpr int32_t kMatvec1WideShape = 1;
constexpr int32_t kMatvec1WideAll = 2;
constexpr int32_t kMatvec1WideTall = 3;

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
    int32_t warps_per_row;              // 1, 2 or 4 (many-token kernel)
    // one-token kernel only
    const float* norm_x;                // RmsNorm prologue: f32 x [x_stride] (must not overlap norm_out)
    const float* norm_w;                // [x_stride]
    float* norm_out;                    // [x_stride]
    int8_t* norm_xq;                    // q8_1 of norm_out
    float2* norm_xds;
    int8_t* yq;                         // SwiGlu: q8_1 of y_2 (rows % 32 == 0, rows per block % 32 == 0) or null
    float2* yds;
    float norm_eps;
    int32_t prologue;                   // MatvecPrologue
    int32_t lanes_per_row;              // 4, 8, 16, 32
    int32_t block_threads;              // 128, 256, 512
    int32_t early_loads;                // bits kMatvecEarly*. Many-token kernel: the first units' weights
                                        // before the PDL wait (1; with 8 only the first unit); one token:
                                        // the lane's whole share of a short row before the wait (2); long
                                        // rows three units per iteration (4; QuantPolicy::kTripleRows).
                                        // One-token kernel: its first batch before the wait (1)
    // one-token kernel: a persistent grid (as many blocks as fit on the device at once, each
    // looping over row groups and loading its next group's first units before it reduces and
    // writes the current one) instead of one block per row group
    int32_t persistent;
    int32_t x_direct;                   // one-token kernel, Q8 prologue: read x from global memory
                                        // (through L1) instead of staging it in shared memory
    int32_t wide;                       // one-token kernel, plain launches: twice the units in flight
                                        // (kMatvec1Wide*: never, where that holds a lane's whole share
                                        // of its row and every row group has a resident block, always) and
                                        // the Q6_K tall matrices' three units (all but kMatvec1WideOff;
                                        // kMatvec1WideTall: only those)
    int32_t x_hoist;                    // one token, the types with QDot::XU: a batch's x loads before its
                                        // dot products (many-token kernel: whole rows; one-token kernel:
                                        // where it reads x from global memory)
    int32_t fit;                        // one-token kernel: instances fitted to short rows (fewer units in
                                        // flight, the norm holding one float4 per thread; the same sums),
                                        // bits kMatvec1Fit* (matvec1_kernel.cuh)
    // One-token kernel, a residual update left pending in a fixed-point accumulator (residual_acc.cuh;
    // gpu_emit.cpp's deferred output projection):
    const long long* norm_acc;          // RmsNorm prologue: x = norm_x + norm_acc
    long long* residual_acc;            // Plain, one matrix with a residual: residual += acc, acc = 0,
                                        // then the result is added
    int32_t norm_late_scale;            // RmsNorm prologue: x * w quantized before its factor 1 / rms is
                                        // known, the results multiplied by it (norm_out, norm_xq, norm_xds
                                        // not written; matvec1_kernel.cuh)
    int32_t mma_warps;                  // int8-mma matvec: warps per block (4 or 8; 0: by shape, matvec_mma.cu)
    int32_t mma_split;                  // int8-mma matvec: warps per 16-row tile, each a slice of the rows'
                                        // blocks (1, 2, 4, 8; at most mma_warps; 0: by shape)
};

struct MatvecConfig {
    int warps_per_row = 1;  // 1, 2, 4
    bool mma = false;       // 2-16 tokens of Q4_0 / Q8_0 on the int8 matrix units (launch_matvec_mma)
};

// Batched decode on the int8 matrix units (matvec_mma.cu; NVIDIA sm_80+): 2..16 tokens of Q4_0 or Q8_0
// weights, every epilogue of the matvec kernel. Callers check the dispatch table's
// matvec_mma_max_tokens (0 where the device has no int8 mma).
bool matvec_mma_supports(TensorType type, int64_t n_tok, int64_t cols);
void launch_matvec_mma(Launcher& l, TensorType type, const MatvecArgs& a);

// Picks the warps per row for `rows` x `cols` of `type` on a device with `n_sm` SMs.
MatvecConfig choose_matvec_config(TensorType type, int64_t rows, int64_t cols, int n_sm);

// One-token launch configuration: lanes per row and threads per block.
struct Matvec1Config {
    int lanes_per_row = 32;
    int block_threads = 256;
    bool persistent = false;  // MatvecArgs::persistent
    bool x_direct = false;    // MatvecArgs::x_direct
};

// Whether the one-token kernel runs `type` with `cols` columns for n_tok tokens (1 .. kMatvec1MaxTokens,
// matvec1_kernel.cuh; x must fit in shared memory).
bool matvec1_supports(TensorType type, int64_t cols, int64_t n_tok = 1);
// Rows handled by one block of `c`.
inline int matvec1_rows_per_block(const Matvec1Config& c) { return c.block_threads / 32 * (32 / c.lanes_per_row); }
// What a one-token launch does besides the dot products (its kernel; q8_epilogue constrains
// the configuration).
struct Matvec1Shape {
    bool swiglu = false;       // SwiGlu epilogue (rows: rows of one of the two matrices)
    bool norm = false;         // RmsNorm prologue
    bool q8_epilogue = false;  // rows per block must be a multiple of 32 (whole q8_1 blocks)
};
// Picks the configuration for `rows` x `cols` of `type` on `n_sm` SMs.
Matvec1Config choose_matvec1_config(TensorType type, int64_t rows, int64_t cols, int n_sm, const Matvec1Shape& shape);
// One token (or a few: a.n_tok up to kMatvec1MaxTokens), quantized weights of a type matvec1_supports; a.lanes_per_row and
// a.block_threads set (from a Matvec1Config).
void launch_matvec1_q(Launcher& l, TensorType type, const MatvecArgs& a);

// Quantized weights (x, xds: q8_1 activation). Types: Q4_0 .. Q6_K.
void launch_matvec_q(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);
// F32 / F16 / BF16 weights (x: f32).
void launch_matvec_f(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);

bool is_quantized_matvec_type(TensorType t);
bool is_float_matvec_type(TensorType t);

}  // namespace rf::gpu
