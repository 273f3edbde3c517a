// Matrix-vector kernels for the K-quants kept as K-quants on the device (Q4_K as K units; Q5_K runs
// as Q5_1: gpu_weight_layout.h).
#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {

bool launch_matvec_q_k(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    switch (type) {
        case TensorType::Q2_K: launch_matvec_policy<QuantPolicy<TensorType::Q2_K>>(l, a, c); return true;
        case TensorType::Q3_K: launch_matvec_policy<QuantPolicy<TensorType::Q3_K>>(l, a, c); return true;
        case TensorType::Q4_K: launch_matvec_policy<QuantPolicy<TensorType::Q4_K>>(l, a, c); return true;
        case TensorType::Q6_K: launch_matvec_policy<QuantPolicy<TensorType::Q6_K>>(l, a, c); return true;
        default: return false;
    }
}

}  // namespace rf::gpu
