// Matrix-vector dispatch, the float weight types, and the launch heuristics.
#include "backend/gpu/matvec_kernel.cuh"

#include <string>

namespace rf::gpu {

bool launch_matvec_q_legacy(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);
bool launch_matvec_q_k(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);

bool is_quantized_matvec_type(TensorType t) {
    switch (t) {
        case TensorType::Q4_0: case TensorType::Q4_1: case TensorType::Q5_0: case TensorType::Q5_1:
        case TensorType::Q8_0: case TensorType::Q2_K: case TensorType::Q3_K: case TensorType::Q4_K:
        case TensorType::Q5_K: case TensorType::Q6_K: return true;
        default: return false;
    }
}

bool is_float_matvec_type(TensorType t) {
    return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16;
}

MatvecConfig choose_matvec_config(TensorType type, int64_t rows, int64_t cols, int n_sm) {
    // Measured on H100 and H200 (docs/gpu_notes.md): one warp per row is the best or within noise
    // for every decode shape except few rows over long rows, where two or four warps share a row
    // to keep enough loads in flight.
    MatvecConfig c;
    const BlockFormat f = block_format(device_type(type));
    const int64_t units = is_quantized_matvec_type(type) ? cols / f.qk * (f.qk == 256 ? 4 : 1) : cols / 8;
    c.warps_per_row = 1;
    const int64_t target_warps = static_cast<int64_t>(n_sm) * 16;
    while (c.warps_per_row < 4 && rows * c.warps_per_row < target_warps && units >= int64_t{c.warps_per_row} * 2 * 32 * 4)
        c.warps_per_row *= 2;
    return c;
}

void launch_matvec_q(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    type = device_type(type);
    if (launch_matvec_q_legacy(l, type, a, c) || launch_matvec_q_k(l, type, a, c)) return;
    fail_message(std::string("gpu matvec: no quantized kernel for weight type ") + type_name(type));
}

void launch_matvec_f(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    // The 8-wide path needs 16-byte aligned rows of both the weight and x.
    const int64_t cols = a.m[0].cols;
    const size_t elt = type == TensorType::F32 ? 4 : 2;
    bool vec = cols % 8 == 0 && a.x_stride % 4 == 0 && reinterpret_cast<uintptr_t>(a.x) % 16 == 0;
    for (int i = 0; i < a.n_mats; ++i)
        vec = vec && reinterpret_cast<uintptr_t>(a.m[i].plane[0]) % 16 == 0 && (cols * elt) % 16 == 0;
    switch (type) {
        case TensorType::F32:
            if (vec) launch_matvec_policy<FloatPolicy<TensorType::F32, true>>(l, a, c);
            else launch_matvec_policy<FloatPolicy<TensorType::F32, false>>(l, a, c);
            return;
        case TensorType::F16:
            if (vec) launch_matvec_policy<FloatPolicy<TensorType::F16, true>>(l, a, c);
            else launch_matvec_policy<FloatPolicy<TensorType::F16, false>>(l, a, c);
            return;
        case TensorType::BF16:
            if (vec) launch_matvec_policy<FloatPolicy<TensorType::BF16, true>>(l, a, c);
            else launch_matvec_policy<FloatPolicy<TensorType::BF16, false>>(l, a, c);
            return;
        default: fail_message(std::string("gpu matvec: no float kernel for weight type ") + type_name(type));
    }
}

}  // namespace rf::gpu
