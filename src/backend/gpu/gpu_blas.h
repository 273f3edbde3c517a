// Matrix products through a vendor library, behind a small interface so that builds without
// one (HIP on Debian has no hipBLAS/rocBLAS) fall back to the backend's own kernels. Used for
// many-token products (prefill) until the prefill GEMM kernels arrive.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/gpu/gpu_common.cuh"

namespace rf::gpu {

enum class GemmType : int32_t { F32 = 0, F16 = 1, BF16 = 2 };

// y[t, r] = sum_k x[t, k] * w[r, k] (+ y when accumulate), all row-major:
// w [rows, k], x [n_tok, k] of the same element type, y f32 [n_tok, ldy].
struct GemmDesc {
    const void* w;
    const void* x;
    float* y;
    int64_t rows;
    int64_t n_tok;
    int64_t k;
    int64_t ldy;
    GemmType type;
    int32_t accumulate;
};

class GpuBlas {
public:
    virtual ~GpuBlas() = default;
    virtual void gemm(const GemmDesc& d, cudaStream_t stream) = 0;
};

// The vendor library of this build on the current device, or null when there is none.
std::unique_ptr<GpuBlas> make_gpu_blas();

}  // namespace rf::gpu
