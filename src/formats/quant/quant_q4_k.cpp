// Q4_K: super-blocks of 256 weights, 8 sub-blocks of 32 with 6-bit scale and min
// (quant_k_scale_min.h), 4-bit quants. Byte layout (block_q4_K, 144 bytes):
//   d (f16) | dmin (f16) | scales[12] | qs[128]
// qs holds the 256 quants in 4 chunks of 64 weights: byte l of chunk c has weight 64c + l in
// its low nibble and weight 64c + 32 + l in its high nibble.
// Decode: w = d * sc_j * q - dmin * m_j for weight 32j + ..., q in [0, 15].
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include <cstring>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_internal.h"
#include "formats/quant/quant_k_scale_min.h"

namespace rf::quant {
namespace {

void emit_q4_k(const KScaleMinBlock& b, void* out) {
    block_q4_K y;
    y.d = b.d;
    y.dmin = b.dmin;
    std::memcpy(y.scales, b.scales, K_SCALE_SIZE);
    for (int c = 0; c < QK_K / 64; ++c)
        for (int l = 0; l < 32; ++l)
            y.qs[32 * c + l] = static_cast<uint8_t>(b.L[64 * c + l] | (b.L[64 * c + 32 + l] << 4));
    std::memcpy(out, &y, sizeof y);
}

}  // namespace

void quantize_q4_k(const float* x, void* dst, int64_t n, const float* imatrix) {
    // Without importance: search from (nmax - 1) / range in 20 steps of 0.1.
    const KScaleMinType type{15, {15, -1.f, 0.1f, 20, false}, false};
    quantize_k_scale_min_row(x, n, imatrix, type, dst, sizeof(block_q4_K), emit_q4_k);
}

void dequantize_q4_k(const void* src, float* y, int64_t n) {
    const auto* blocks = static_cast<const block_q4_K*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q4_K& b = blocks[i];
        const float d = from_f16(b.d);
        const float min = from_f16(b.dmin);
        const uint8_t* q = b.qs;
        for (int c = 0; c < QK_K / 64; ++c, q += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(2 * c, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            unpack_scale_min_k4(2 * c + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

}  // namespace rf::quant
