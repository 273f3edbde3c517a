// The one place where the GPU backend decides, per architecture, which kernel family runs a
// many-token op (prefill, batched decode). Plain C++ (no CUDA/HIP headers): the emitter, the
// tests and the benchmarks read it.
//
// Matrix products y [T, rows] = x [T, K] . W^T, by token count T:
//   matvec_mma_min..max_tokens, Q4_0 / Q8_0,    matvec on the int8 matrix units (matvec_mma.cu)
//   one token per sequence (batched decode)
//   T <= matvec_max_tokens                      matvec (weights streamed once per 1-8 tokens)
//   T <= gemm_max_tokens, or no vendor BLAS     tiled GEMM (gemm_q.cuh): weight tiles
//                                               dequantized in registers into shared memory,
//                                               products on the matrix units (mma.sync f16/bf16
//                                               on NVIDIA sm_80+) or FMA where there are none
//   otherwise                                   weights dequantized to f16/bf16 (whole, or in
//                                               chunks of at most blas_chunk_bytes) + the
//                                               vendor GEMM
// Attention of a step: the flash-attention prefill kernel (flash_attn_prefill.cuh) when the
// step averages at least flash_min_tokens_per_seq tokens per sequence and the architecture has
// the matrix instructions it uses; the split-K decode kernel otherwise (its chunks on the matrix
// units where decode_attention_mma says so).
//
// The numbers come from measurements (docs/gpu_prefill_notes.md); architectures without a row
// get the fallback row of their vendor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "formats/tensor_type.h"

namespace rf::gpu {

enum class GemmCompute : int32_t {
    Mma = 0,  // mma.sync m16n8k16 (NVIDIA sm_80+)
    Fma = 1,  // scalar FMA from the same shared-memory tiles (any GPU)
};

struct DispatchTable {
    const char* arch = "default";
    int64_t matvec_max_tokens = 8;
    // matvec_mma_min_tokens .. matvec_mma_max_tokens tokens of Q4_0 / Q8_0 weights in a batched-decode
    // step (one token per sequence): the matvec on the int8 matrix units (matvec_mma.cu), before the
    // token-count rule below (max 0: off; NVIDIA sm_80+ only, where RF_GPU_MATVEC_MMA_MAX_TOKENS sets
    // the max; gemm_dispatch.h use_matvec_mma)
    int64_t matvec_mma_min_tokens = 5;
    int64_t matvec_mma_max_tokens = 0;
    // ... but a matrix of at most this many weights, at a token count the one-token matvec kernel takes
    // (DecodeSwitches::matvec1_tokens), stays on that kernel (gpu_emit.cpp on_one_token_kernel)
    int64_t matvec_mma_min_weights = 0;
    int64_t gemm_max_tokens = 64;     // above this the vendor GEMM (when the build has one)
    GemmCompute gemm_compute = GemmCompute::Fma;
    bool flash_attention = false;     // the mma flash-attention prefill kernel runs here
    int64_t flash_min_tokens_per_seq = 16;
    size_t blas_chunk_bytes = size_t{256} << 20;  // most dequantized weight bytes per vendor GEMM call
    int32_t prefill_chunk_tokens = 512;   // tokens per prefill step the scheduler should use
    // Decode attention (the split-K kernel) on the matrix units (attention_decode_mma.cu) where the
    // shape allows it (f16 KV, head_dim 64 / 128); else the FMA kernel.
    bool decode_attention_mma = false;
};

// The row for `arch` as GpuDeviceInfo::arch spells it ("sm_90", "gfx1100:sramecc-:xnack-").
DispatchTable dispatch_table_for(const std::string& arch);

// Tests and benchmarks force a path on every backend of the process (nullptr: back to the
// per-architecture rows). Not thread-safe: set it between steps, from the thread that runs them.
void set_dispatch_override(const DispatchTable* table);
// The override when one is set, else dispatch_table_for(arch).
DispatchTable active_dispatch_table(const std::string& arch);

enum class MatmulPath : int32_t { Matvec = 0, Gemm = 1, Blas = 2 };

// The kernel family of one matrix product. have_blas: the build has a vendor GEMM;
// gemm_type_ok: the tiled GEMM takes this weight type and width (gemm_supports()).
MatmulPath choose_matmul_path(const DispatchTable& t, int64_t n_tokens, bool have_blas, bool gemm_type_ok);

}  // namespace rf::gpu
