// Q2_K: super-blocks of 256 weights, 16 sub-blocks of 16 with a 4-bit scale and a 4-bit min.
// Byte layout (block_q2_K, 84 bytes):
//   scales[16] (scale j in the low nibble, min j in the high nibble) | qs[64] | d | dmin (f16)
// qs holds 2-bit quants in 2 chunks of 128 weights: byte l of chunk c holds weights
// 128c + l, +32, +64, +96 in bit pairs 0, 2, 4, 6.
// Decode: w = d * sc_j * q - dmin * m_j, q in [0, 3].
//
// Without importance: per sub-block the asymmetric search with weights |x|, absolute error,
// (rmin -0.5, rdelta 0.1, 15 steps); sc_j = round(15 * scale_j / max scale), d = max scale / 15
// (mins likewise). With importance: weights imp * sqrt(sigma2 + x^2) (sigma2 = mean(x^2)),
// squared error, (-0.9, 0.05, 36 steps); the 16 scales and 16 mins are quantized to 4 bits by
// fit_scale_positive. Then every weight is re-quantized against its decoded scale and min.
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include <cmath>
#include <cstring>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_internal.h"
#include "formats/quant/quant_k_search.h"

namespace rf::quant {
namespace {

constexpr int kSubBlocks = QK_K / 16;
constexpr int kChunk = 4;  // super-blocks whose searches run as one batch

// Plain path: 4-bit scales and mins relative to the largest of each.
void quantize_scales_plain(const float* scales, const float* mins, block_q2_K& y) {
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    if (max_scale > 0) {
        const float iscale = 15.f / max_scale;
        for (int j = 0; j < kSubBlocks; ++j)
            y.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
        y.d = to_f16(max_scale / 15.f);
    } else {
        std::memset(y.scales, 0, sizeof y.scales);
        y.d = to_f16(0.f);
    }
    if (max_min > 0) {
        const float iscale = 15.f / max_min;
        for (int j = 0; j < kSubBlocks; ++j)
            y.scales[j] = static_cast<uint8_t>(y.scales[j] | (nearest_int(iscale * mins[j]) << 4));
        y.dmin = to_f16(max_min / 15.f);
    } else {
        y.dmin = to_f16(0.f);
    }
}

void quantize_scales_weighted(const float* scales, const float* mins, const float* sw,
                              block_q2_K& y) {
    uint8_t ls[kSubBlocks], lm[kSubBlocks];
    y.d = to_f16(fit_scale_positive(kSubBlocks, 15, scales, ls, sw));
    y.dmin = to_f16(fit_scale_positive(kSubBlocks, 15, mins, lm, sw));
    for (int j = 0; j < kSubBlocks; ++j) y.scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
}

void requantize_and_pack(const float* x, uint8_t* L, block_q2_K& y) {
    const float d_all = from_f16(y.d);
    const float dmin_all = from_f16(y.dmin);
    for (int j = 0; j < kSubBlocks; ++j) {
        const float d = d_all * (y.scales[j] & 0xF);
        if (d == 0) continue;  // keep the search's quants
        const float dm = dmin_all * (y.scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii)
            L[16 * j + ii] =
                static_cast<uint8_t>(clamp_int(nearest_int((x[16 * j + ii] + dm) / d), 0, 3));
    }
    for (int c = 0; c < QK_K / 128; ++c) {
        const uint8_t* q = L + 128 * c;
        for (int l = 0; l < 32; ++l)
            y.qs[32 * c + l] =
                static_cast<uint8_t>(q[l] | (q[l + 32] << 2) | (q[l + 64] << 4) | (q[l + 96] << 6));
    }
}

}  // namespace

void quantize_q2_k(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q2_K*>(dst);
    const ScaleMinSearch plain{3, -0.5f, 0.1f, 15, true};
    const ScaleMinSearch weighted{3, -0.9f, 0.05f, 36, false};
    const int64_t nb = n / QK_K;

    float weights[kChunk * QK_K];
    float sw[kChunk * kSubBlocks];
    float scales[kChunk * kSubBlocks];
    float mins[kChunk * kSubBlocks];
    uint8_t L[kChunk * QK_K];
    for (int64_t c = 0; c < nb; c += kChunk) {
        const int count = static_cast<int>(nb - c < kChunk ? nb - c : kChunk);
        const float* xc = x + c * QK_K;
        for (int b = 0; b < count; ++b) {
            const float* xb = xc + b * QK_K;
            float* wb = weights + b * QK_K;
            if (!imatrix) {
                for (int k = 0; k < QK_K; ++k) wb[k] = std::fabs(xb[k]);
                continue;
            }
            const float* qw = imatrix + (c + b) * QK_K;
            float sumx2 = 0;
            for (int k = 0; k < QK_K; ++k) sumx2 += xb[k] * xb[k];
            const float sigma2 = sumx2 / QK_K;
            for (int j = 0; j < kSubBlocks; ++j) {
                float s = 0;
                for (int l = 0; l < 16; ++l) {
                    const int k = 16 * j + l;
                    wb[k] = qw[k] * std::sqrt(sigma2 + xb[k] * xb[k]);
                }
                for (int l = 0; l < 16; ++l) s += wb[16 * j + l];
                sw[b * kSubBlocks + j] = s;
            }
        }
        fit_scale_min_batch(count * kSubBlocks, 16, xc, weights, L, scales, mins,
                            imatrix ? weighted : plain);
        for (int b = 0; b < count; ++b) {
            block_q2_K& yb = y[c + b];
            if (imatrix)
                quantize_scales_weighted(scales + b * kSubBlocks, mins + b * kSubBlocks,
                                         sw + b * kSubBlocks, yb);
            else
                quantize_scales_plain(scales + b * kSubBlocks, mins + b * kSubBlocks, yb);
            requantize_and_pack(xc + b * QK_K, L + b * QK_K, yb);
        }
    }
}

void dequantize_q2_k(const void* src, float* y, int64_t n) {
    const auto* blocks = static_cast<const block_q2_K*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q2_K& b = blocks[i];
        const float d = from_f16(b.d);
        const float min = from_f16(b.dmin);
        // Weight 128c + 32p + 16h + l: quant in bits 2p of qs[32c + 16h + l], sub-block 8c+2p+h.
        for (int c = 0; c < 2; ++c) {
            const uint8_t* q = b.qs + 32 * c;
            for (int p = 0; p < 4; ++p) {
                for (int h = 0; h < 2; ++h) {
                    const uint8_t sc = b.scales[8 * c + 2 * p + h];
                    const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * static_cast<float>((q[16 * h + l] >> (2 * p)) & 3) - ml;
                }
            }
        }
    }
}

}  // namespace rf::quant
