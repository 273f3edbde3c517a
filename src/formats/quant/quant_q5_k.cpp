// Q5_K: as Q4_K (quant_k_scale_min.h) with 5-bit quants. Byte layout (block_q5_K, 176 bytes):
//   d (f16) | dmin (f16) | scales[12] | qh[32] | qs[128]
// qs holds the low nibbles as in Q4_K (chunk c of 64 weights: low nibble weight 64c + l, high
// nibble weight 64c + 32 + l); the fifth bit of weight 64c + l is bit 2c of qh[l], that of
// weight 64c + 32 + l is bit 2c + 1 of qh[l].
// Decode: w = d * sc_j * q - dmin * m_j, q in [0, 31].
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include <cstring>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_internal.h"
#include "formats/quant/quant_k_scale_min.h"

namespace rf::quant {
namespace {

void emit_q5_k(const KScaleMinBlock& b, void* out) {
    block_q5_K y;
    y.d = b.d;
    y.dmin = b.dmin;
    std::memcpy(y.scales, b.scales, K_SCALE_SIZE);
    std::memset(y.qh, 0, sizeof y.qh);
    for (int c = 0; c < QK_K / 64; ++c) {
        for (int l = 0; l < 32; ++l) {
            const int lo = b.L[64 * c + l];
            const int hi = b.L[64 * c + 32 + l];
            y.qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            y.qh[l] =
                static_cast<uint8_t>(y.qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
        }
    }
    std::memcpy(out, &y, sizeof y);
}

}  // namespace

void quantize_q5_k(const float* x, void* dst, int64_t n, const float* imatrix) {
    // Without importance: search from (nmax - 0.5) / range in 15 steps of 0.1.
    const KScaleMinType type{31, {31, -0.5f, 0.1f, 15, false}, true};
    quantize_k_scale_min_row(x, n, imatrix, type, dst, sizeof(block_q5_K), emit_q5_k);
}

void dequantize_q5_k(const void* src, float* y, int64_t n) {
    const auto* blocks = static_cast<const block_q5_K*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q5_K& b = blocks[i];
        const float d = from_f16(b.d);
        const float min = from_f16(b.dmin);
        const uint8_t* ql = b.qs;
        for (int c = 0; c < QK_K / 64; ++c, ql += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(2 * c, b.scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            unpack_scale_min_k4(2 * c + 1, b.scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            const int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

}  // namespace rf::quant
