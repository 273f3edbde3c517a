// One-token matrix-vector kernel for Q6_K (the K-quant of Q4_K_M files besides Q4_K, which runs
// as Q4_1). Q2_K and Q3_K stay on the many-token kernel (matvec_q_k.cu).
#include "backend/gpu/matvec1_kernel.cuh"

namespace rf::gpu {

bool launch_matvec1_q_k(Launcher& l, TensorType type, const MatvecArgs& a) {
    if (type != TensorType::Q6_K) return false;
    launch_matvec1_type<TensorType::Q6_K>(l, a);
    return true;
}

}  // namespace rf::gpu
