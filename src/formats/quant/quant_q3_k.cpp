// Q3_K: super-blocks of 256 weights, 16 sub-blocks of 16 with signed 6-bit scales, 3-bit quants.
// Byte layout (block_q3_K, 110 bytes):
//   hmask[32] | qs[64] | scales[12] | d (f16)
// The low 2 bits of each quant are in qs as in Q2_K (byte l of chunk c: weights 128c + l, +32,
// +64, +96 in bit pairs 0, 2, 4, 6); the third bit of weight k is bit k / 32 of hmask[k % 32].
// Scales: see pack_scales_q3_k (quant_common.h), stored biased by 32.
// Decode: w = d * (sc_j - 32) * (q - 4), q in [0, 7].
//
// Without importance: per sub-block the symmetric search with coordinate descent
// (fit_scale_q3, nmax 4); scales quantized relative to the largest |scale| (-32 * s / max).
// With importance: the symmetric search with weights imp * sqrt(sigma2 + x^2) (sigma2 =
// 2 * mean(x^2)), and the 16 scales are themselves fitted by the symmetric search (nmax 32)
// weighted by each sub-block's total weight. Then every weight is re-quantized.
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include <cmath>
#include <cstring>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_internal.h"
#include "formats/quant/quant_k_search.h"

namespace rf::quant {
namespace {

constexpr int kSubBlocks = QK_K / 16;

// Plain path: scale j stored as clamp(round(-32 * s_j / s_max), -32, 31) + 32, d = -s_max / 32.
void quantize_scales_plain(const float* scales, block_q3_K& y) {
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        const float a = std::fabs(scales[j]);
        if (a > amax) {
            amax = a;
            max_scale = scales[j];
        }
    }
    uint8_t ls[kSubBlocks] = {};
    if (max_scale != 0) {
        const float iscale = -32.f / max_scale;
        for (int j = 0; j < kSubBlocks; ++j) {
            // The reference narrows to int8 first, then clamps.
            const int l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
            ls[j] = static_cast<uint8_t>(clamp_int(l, -32, 31) + 32);
        }
        pack_scales_q3_k(ls, y.scales);
        y.d = to_f16(1 / iscale);
    } else {
        std::memset(y.scales, 0, sizeof y.scales);
        y.d = to_f16(0.f);
    }
}

void requantize_and_pack(const float* x, int8_t* L, block_q3_K& y) {
    const float d_all = from_f16(y.d);
    for (int j = 0; j < kSubBlocks; ++j) {
        const float d = d_all * unpack_scale_q3_k(j, y.scales);
        if (d == 0) continue;  // keep the search's quants
        for (int ii = 0; ii < 16; ++ii)
            L[16 * j + ii] =
                static_cast<int8_t>(clamp_int(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
    }
    std::memset(y.hmask, 0, sizeof y.hmask);
    uint8_t low[QK_K];
    for (int k = 0; k < QK_K; ++k) {
        int l = L[k];
        if (l > 3) {
            y.hmask[k % 32] = static_cast<uint8_t>(y.hmask[k % 32] | (1 << (k / 32)));
            l -= 4;
        }
        low[k] = static_cast<uint8_t>(l);
    }
    for (int c = 0; c < QK_K / 128; ++c) {
        const uint8_t* q = low + 128 * c;
        for (int l = 0; l < 32; ++l)
            y.qs[32 * c + l] =
                static_cast<uint8_t>(q[l] | (q[l + 32] << 2) | (q[l + 64] << 4) | (q[l + 96] << 6));
    }
}

}  // namespace

void quantize_q3_k(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q3_K*>(dst);
    int8_t L[QK_K];
    float scales[kSubBlocks];
    for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
        if (!imatrix) {
            for (int j = 0; j < kSubBlocks; ++j)
                scales[j] = fit_scale_q3(16, 4, x + 16 * j, L + 16 * j);
            quantize_scales_plain(scales, y[i]);
        } else {
            const float* qw = imatrix + i * QK_K;
            float sumx2 = 0;
            for (int k = 0; k < QK_K; ++k) sumx2 += x[k] * x[k];
            const float sigma2 = 2 * sumx2 / QK_K;
            float weights[QK_K];
            float sw[kSubBlocks];
            for (int j = 0; j < kSubBlocks; ++j) {
                float s = 0;
                for (int l = 0; l < 16; ++l) {
                    const int k = 16 * j + l;
                    weights[k] = qw[k] * std::sqrt(sigma2 + x[k] * x[k]);
                }
                for (int l = 0; l < 16; ++l) s += weights[16 * j + l];
                sw[j] = s;
            }
            fit_scale_symmetric_batch(kSubBlocks, 16, 4, x, weights, L, scales);
            int8_t ls[kSubBlocks];
            const float d_block = fit_scale_symmetric(kSubBlocks, 32, scales, sw, ls);
            pack_scales_q3_k(reinterpret_cast<const uint8_t*>(ls), y[i].scales);
            y[i].d = to_f16(d_block);
        }
        requantize_and_pack(x, L, y[i]);
    }
}

void dequantize_q3_k(const void* src, float* y, int64_t n) {
    const auto* blocks = static_cast<const block_q3_K*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q3_K& b = blocks[i];
        const float d_all = from_f16(b.d);
        // Weight 128c + 32p + 16h + l: low bits 2p of qs[32c + 16h + l], high bit (4c + p) of
        // hmask[16h + l], sub-block 8c + 2p + h.
        for (int c = 0; c < 2; ++c) {
            const uint8_t* q = b.qs + 32 * c;
            for (int p = 0; p < 4; ++p) {
                const int mask = 1 << (4 * c + p);
                for (int h = 0; h < 2; ++h) {
                    const float dl =
                        d_all * static_cast<float>(unpack_scale_q3_k(8 * c + 2 * p + h, b.scales));
                    for (int l = 0; l < 16; ++l) {
                        const int k = 16 * h + l;
                        const int v = ((q[k] >> (2 * p)) & 3) - ((b.hmask[k] & mask) ? 0 : 4);
                        *y++ = dl * static_cast<float>(v);
                    }
                }
            }
        }
    }
}

}  // namespace rf::quant
