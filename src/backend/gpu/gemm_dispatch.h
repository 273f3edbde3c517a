// Emission of the many-token matrix products (prefill, batched decode) and of the prefill
// attention, for the step emitter (gpu_emit.cpp): the path of each op comes from the
// per-architecture dispatch table (gpu_dispatch_table.h); the kernels are gemm_q.cuh,
// flash_attn_prefill.cuh and the vendor GEMM (gpu_blas.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/gpu/gpu_backend_impl.h"
#include "backend/gpu/gpu_dispatch_table.h"

namespace rf::gpu {

// What the prefill paths of a step need from the backend.
struct PrefillEmitContext {
    DispatchTable table;
    GpuBlas* blas = nullptr;         // null: the build or the options have no vendor GEMM
    int n_sm = 1;
    void* gemm_scratch = nullptr;    // split-K partials, or dequantized weight rows (vendor GEMM)
    void* blas_x = nullptr;          // activations as f16 / bf16 (vendor GEMM)
    // the step (device copies, see GpuBackendImpl::begin_step)
    const StepPlan* plan = nullptr;
    const int32_t* positions = nullptr;
    const int32_t* token_seq = nullptr;
    const int32_t* block_tables = nullptr;
    int32_t bt_stride = 0;
};

// The kernel family of a matmul op.
MatmulPath matmul_path(const PrefillEmitContext& c, const Op& op);
// Whether a matmul of `rows` tokens of `type` x `cols` runs on the int8-mma matvec (matvec_mma.cu):
// the table's matvec_mma_min..max_tokens, a type it takes, and a batched-decode step (one token per
// sequence). Prompts keep the tiled GEMM's f16 activations: on q8_1 ones 16-token prompts of the
// embedded model moved from 2.4e-2 to 3.0e-2 of transformers' largest logit (H100).
bool use_matvec_mma(const PrefillEmitContext& c, TensorType type, int64_t rows, int64_t cols);

// Scratch of a Gemm or Blas matmul: gemm_scratch bytes (split-K partials or dequantized rows)
// and blas_x bytes.
struct PrefillScratch {
    size_t gemm = 0;
    size_t blas_x = 0;
};
PrefillScratch prefill_matmul_scratch(const PrefillEmitContext& c, const Op& op);

// A resident f16 copy of a quantized weight (the backend's F16WeightCache) for the vendor GEMM:
// [rows, cols] row-major, exactly what the dequantization writes into the scratch.
struct F16Copy {
    void* data = nullptr;  // null: dequantize into gemm_scratch
    bool fill = false;     // this op dequantizes into the copy first (its first use)
};

// Bytes of the f16 copy of op's weight when the op takes the vendor GEMM on a quantized weight
// (the ops an F16Copy applies to), else 0.
size_t f16_copy_bytes(const PrefillEmitContext& c, const Op& op);

// y = x . W^T (+ bias) of a matmul op whose path is Gemm or Blas. prev: the op emitted just
// before (or null); a vendor-GEMM matmul on the same input left its f16 copy in blas_x. copy: a
// resident f16 copy of the weight (vendor GEMM, quantized weights); the GEMM calls are the same
// (same row chunks) with or without it, so the results are bit-identical.
void emit_prefill_matmul(Launcher& l, const PrefillEmitContext& c, const Op& op, const Op* prev, F16Copy copy = {});

// The step's attention runs on the flash-attention prefill kernel (enough tokens per sequence,
// a supported head dim, an architecture with the matrix instructions).
bool use_flash_attention(const PrefillEmitContext& c, const Op& op);
void emit_flash_attention(Launcher& l, const PrefillEmitContext& c, const Op& op);

}  // namespace rf::gpu
