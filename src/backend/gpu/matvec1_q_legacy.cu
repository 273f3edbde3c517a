// One-token matrix-vector kernels for the 32-weight block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0; Q5_K
// arrives as Q5_1, see device_type()).
#include "backend/gpu/matvec1_kernel.cuh"

namespace rf::gpu {

bool launch_matvec1_q_legacy(Launcher& l, TensorType type, const MatvecArgs& a) {
    switch (type) {
        case TensorType::Q4_0: launch_matvec1_type<TensorType::Q4_0>(l, a); return true;
        case TensorType::Q4_1: launch_matvec1_type<TensorType::Q4_1>(l, a); return true;
        case TensorType::Q5_0: launch_matvec1_type<TensorType::Q5_0>(l, a); return true;
        case TensorType::Q5_1: launch_matvec1_type<TensorType::Q5_1>(l, a); return true;
        case TensorType::Q8_0: launch_matvec1_type<TensorType::Q8_0>(l, a); return true;
        default: return false;
    }
}

}  // namespace rf::gpu
