// Matrix-vector kernels for the K-quants kept as such on the device (Q2_K, Q3_K, Q6_K; Q4_K and
// Q5_K run as Q4_1 / Q5_1, see device_type()).
#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {

bool launch_matvec_q_k(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    switch (type) {
        case TensorType::Q2_K: launch_matvec_policy<QuantPolicy<TensorType::Q2_K>>(l, a, c); return true;
        case TensorType::Q3_K: launch_matvec_policy<QuantPolicy<TensorType::Q3_K>>(l, a, c); return true;
        case TensorType::Q6_K: launch_matvec_policy<QuantPolicy<TensorType::Q6_K>>(l, a, c); return true;
        default: return false;
    }
}

}  // namespace rf::gpu
