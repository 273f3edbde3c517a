// Tiled GEMM and f16 dequantization instantiated for the K-quants (Q4_K / Q5_K as the K units they
// are transcoded into at upload, gpu_weight_layout.h).
#include "backend/gpu/gemm_q_kernel.cuh"

namespace rf::gpu {

RF_GEMM_INSTANTIATE(Q2_K)
RF_GEMM_INSTANTIATE(Q3_K)
RF_GEMM_INSTANTIATE(Q4_K)
RF_GEMM_INSTANTIATE(Q5_K)
RF_GEMM_INSTANTIATE(Q6_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q2_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q3_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q4_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q5_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q6_K)

}  // namespace rf::gpu
