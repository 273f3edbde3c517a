// Matrix-vector kernels for the 32-weight block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).
#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {

bool launch_matvec_q_legacy(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    switch (type) {
        case TensorType::Q4_0: launch_matvec_policy<QuantPolicy<TensorType::Q4_0>>(l, a, c); return true;
        case TensorType::Q4_1: launch_matvec_policy<QuantPolicy<TensorType::Q4_1>>(l, a, c); return true;
        case TensorType::Q5_0: launch_matvec_policy<QuantPolicy<TensorType::Q5_0>>(l, a, c); return true;
        case TensorType::Q5_1: launch_matvec_policy<QuantPolicy<TensorType::Q5_1>>(l, a, c); return true;
        case TensorType::Q8_0: launch_matvec_policy<QuantPolicy<TensorType::Q8_0>>(l, a, c); return true;
        default: return false;
    }
}

}  // namespace rf::gpu
