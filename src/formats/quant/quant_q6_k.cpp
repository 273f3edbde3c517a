// Q6_K: super-blocks of 256 weights, 16 sub-blocks of 16 with signed 8-bit scales, 6-bit quants.
// Byte layout (block_q6_K, 210 bytes):
//   ql[128] | qh[64] | scales[16] (int8) | d (f16)
// In each half c of 128 weights (ql + 64c, qh + 32c), for l < 32:
//   weight 128c + l      low 4 bits: ql[l] & 0xF,       high 2 bits: qh[l] bits 0-1
//   weight 128c + 32 + l            ql[l + 32] & 0xF,                qh[l] bits 2-3
//   weight 128c + 64 + l            ql[l] >> 4,                      qh[l] bits 4-5
//   weight 128c + 96 + l            ql[l + 32] >> 4,                 qh[l] bits 6-7
// Decode: w = d * sc_j * (q - 32), q in [0, 63].
//
// Per sub-block the symmetric search (nmax 32) with weights x^2, or the importance values when
// given; scales stored as min(127, round(-128 * s_j / s_max)), d = -s_max / 128; then every
// weight is re-quantized against its decoded scale. A super-block whose largest |scale| is
// below 1e-15 is stored as all zeros.
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

void finish_block(const float* x, const float* scales, int8_t* L, block_q6_K& y) {
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        const float a = std::fabs(scales[j]);
        if (a > max_abs_scale) {
            max_abs_scale = a;
            max_scale = scales[j];
        }
    }
    if (max_abs_scale < kGroupMaxEps) {
        std::memset(&y, 0, sizeof y);
        return;
    }
    const float iscale = -128.f / max_scale;
    y.d = to_f16(1 / iscale);
    for (int j = 0; j < kSubBlocks; ++j) {
        const int l = nearest_int(iscale * scales[j]);
        y.scales[j] = static_cast<int8_t>(l < 127 ? l : 127);
    }
    const float d_all = from_f16(y.d);
    for (int j = 0; j < kSubBlocks; ++j) {
        const float d = d_all * y.scales[j];
        if (d == 0) continue;  // keep the search's quants
        for (int ii = 0; ii < 16; ++ii)
            L[16 * j + ii] =
                static_cast<int8_t>(clamp_int(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
    }
    for (int c = 0; c < QK_K / 128; ++c) {
        const int8_t* q = L + 128 * c;
        uint8_t* ql = y.ql + 64 * c;
        uint8_t* qh = y.qh + 32 * c;
        for (int l = 0; l < 32; ++l) {
            ql[l] = static_cast<uint8_t>((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
            ql[l + 32] = static_cast<uint8_t>((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
            qh[l] = static_cast<uint8_t>((q[l] >> 4) | ((q[l + 32] >> 4) << 2) |
                                         ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
        }
    }
}

}  // namespace

void quantize_q6_k(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q6_K*>(dst);
    const int64_t nb = n / QK_K;
    float scales[kChunk * kSubBlocks];
    int8_t L[kChunk * QK_K];
    for (int64_t c = 0; c < nb; c += kChunk) {
        const int count = static_cast<int>(nb - c < kChunk ? nb - c : kChunk);
        const float* xc = x + c * QK_K;
        fit_scale_symmetric_batch(count * kSubBlocks, 16, 32, xc,
                                  imatrix ? imatrix + c * QK_K : nullptr, L, scales);
        for (int b = 0; b < count; ++b)
            finish_block(xc + b * QK_K, scales + b * kSubBlocks, L + b * QK_K, y[c + b]);
    }
}

void dequantize_q6_k(const void* src, float* y, int64_t n) {
    const auto* blocks = static_cast<const block_q6_K*>(src);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const block_q6_K& b = blocks[i];
        const float d = from_f16(b.d);
        for (int c = 0; c < QK_K / 128; ++c, y += 128) {
            const uint8_t* ql = b.ql + 64 * c;
            const uint8_t* qh = b.qh + 32 * c;
            const int8_t* sc = b.scales + 8 * c;
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * static_cast<float>(q1);
                y[l + 32] = d * sc[is + 2] * static_cast<float>(q2);
                y[l + 64] = d * sc[is + 4] * static_cast<float>(q3);
                y[l + 96] = d * sc[is + 6] * static_cast<float>(q4);
            }
        }
    }
}

}  // namespace rf::quant
