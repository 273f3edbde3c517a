// Q8_K: the activation format of K-quant dot products (never stored in model files).
// Byte layout (block_q8_K, 292 bytes): d (f32) | qs[256] (int8) | bsums[16] (int16)
// q = min(127, round(-127 * x / max)) with max the element of largest |x| (signed), d = -max/127,
// bsums[i] = sum of qs[16i .. 16i + 15]. Decode: w = d * q.
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include <cmath>
#include <cstring>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_internal.h"

namespace rf::quant {

void quantize_q8_k(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_K*>(dst);
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        float max = 0;
        float amax = 0;
        for (int j = 0; j < QK_K; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0) {
            // (The reference leaves bsums unwritten here; we zero them.)
            std::memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) {
            const int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (int k = 0; k < 16; ++k) sum += y[i].qs[16 * j + k];
            y[i].bsums[j] = static_cast<int16_t>(sum);
        }
        y[i].d = 1 / iscale;
    }
}

void dequantize_q8_k(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q8_K*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i)
        for (int j = 0; j < QK_K; ++j) *y++ = b[i].d * static_cast<float>(b[i].qs[j]);
}

}  // namespace rf::quant
