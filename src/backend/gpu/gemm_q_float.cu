// Tiled GEMM instantiated for 16-bit float weights (F16 tiles for F16, BF16 tiles for BF16).
#include "backend/gpu/gemm_q_kernel.cuh"

namespace rf::gpu {

RF_GEMM_INSTANTIATE(F16)
RF_GEMM_INSTANTIATE(BF16)

}  // namespace rf::gpu
