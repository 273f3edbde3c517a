// F16 and BF16 rows: IEEE half / bfloat16 with round-to-nearest-even (core/half.h); NaN stays a
// quiet NaN, values beyond the f16 range become +-inf. F32 is a plain copy (quantize.cpp).
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include "core/half.h"
#include "formats/quant/quant_internal.h"

namespace rf::quant {

void quantize_f16(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

void quantize_bf16(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

void dequantize_f16(const void* src, float* y, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(h[i]);
}

void dequantize_bf16(const void* src, float* y, int64_t n) {
    const auto* h = static_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(h[i]);
}

}  // namespace rf::quant
