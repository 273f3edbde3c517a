// One-token matrix-vector kernels for Q4_K (K units, gpu_weight_layout.h) and Q6_K (Q5_K runs as
// Q5_1). Q2_K and Q3_K stay on the many-token kernel (matvec_q_k.cu).
#include "backend/gpu/matvec1_kernel.cuh"

namespace rf::gpu {

bool launch_matvec1_q_k(Launcher& l, TensorType type, const MatvecArgs& a) {
    switch (type) {
        case TensorType::Q4_K: launch_matvec1_type<TensorType::Q4_K>(l, a); return true;
        case TensorType::Q6_K: launch_matvec1_type<TensorType::Q6_K>(l, a); return true;
        default: return false;
    }
}

}  // namespace rf::gpu
