// Tiled GEMM and f16 dequantization instantiated for the K-quants kept as K-quants on the device
// (Q4_K as K units; Q5_K runs as Q5_1: gpu_weight_layout.h).
#include "backend/gpu/gemm_q_kernel.cuh"

namespace rf::gpu {

RF_GEMM_INSTANTIATE(Q2_K)
RF_GEMM_INSTANTIATE(Q3_K)
RF_GEMM_INSTANTIATE(Q4_K)
RF_GEMM_INSTANTIATE(Q6_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q2_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q3_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q4_K)
RF_GEMM_DEQUANT_INSTANTIATE(Q6_K)

}  // namespace rf::gpu
