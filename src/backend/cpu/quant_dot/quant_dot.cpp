#include "backend/cpu/quant_dot/quant_dot.h"

#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "formats/quant/quantize.h"

namespace rf::cpu {

DotKernel dot_kernel(TensorType w, CpuIsa isa) {
    switch (isa) {
        case CpuIsa::avx512_vnni: return avx512vnni::dot_kernel(w);
        case CpuIsa::avx512: return avx512bw::dot_kernel(w);
        case CpuIsa::avx_vnni: return avxvnni::dot_kernel(w);
        case CpuIsa::avx2: return avx2::dot_kernel(w);
        case CpuIsa::scalar: break;
    }
    return scalar::dot_kernel(w);
}

void quantize_activation(TensorType act_type, const float* x, void* dst, int64_t n) {
    switch (act_type) {
        case TensorType::F32: std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float)); return;
        case TensorType::BF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(x[i]);
            return;
        }
        case TensorType::Q8_0:
        case TensorType::Q8_1:
        case TensorType::Q8_K: quantize_row(act_type, x, dst, n); return;
        default: fail("quantize_activation: {} is not an activation format", type_name(act_type));
    }
}

}  // namespace rf::cpu
