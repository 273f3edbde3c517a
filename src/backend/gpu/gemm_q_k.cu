// Tiled GEMM and f16 dequantization instantiated for the K-quants kept as such on the device
// (Q4_K / Q5_K are transcoded to Q4_1 / Q5_1 at upload).
#include "backend/gpu/gemm_q_kernel.cuh"

namespace rf::gpu {

RF_GEMM_INSTANTIATE(Q2_K)
RF_GEMM_INSTANTIATE(Q3_K)
RF_GEMM_INSTANTIATE(Q6_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q2_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q3_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q6_K)

}  // namespace rf::gpu
