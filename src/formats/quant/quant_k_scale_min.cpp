#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include "formats/quant/quant_k_scale_min.h"

#include <cmath>
#include <cstring>

#include "formats/quant/quant_common.h"

namespace rf::quant {
namespace {

constexpr int kSubBlocks = QK_K / 32;  // 8 sub-blocks of 32 per super-block
constexpr int kChunk = 8;              // super-blocks whose searches run as one batch

// Error weights of one super-block (256 values); sw[8] receives each sub-block's total weight
// (importance path only).
void error_weights(const float* x, const float* imatrix, float* weights, float* sw) {
    if (!imatrix) {
        for (int j = 0; j < kSubBlocks; ++j) {
            const float* xs = x + 32 * j;
            float sum_x2 = 0;
            for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
            const float av_x = std::sqrt(sum_x2 / 32);
            for (int l = 0; l < 32; ++l) weights[32 * j + l] = av_x + std::fabs(xs[l]);
        }
        return;
    }
    float sum_x2 = 0;
    for (int l = 0; l < QK_K; ++l) sum_x2 += x[l] * x[l];
    const float sigma2 = 2 * sum_x2 / QK_K;
    for (int j = 0; j < kSubBlocks; ++j) {
        float sumw = 0;
        for (int l = 0; l < 32; ++l) {
            const int k = 32 * j + l;
            weights[k] = imatrix[k] * std::sqrt(sigma2 + x[k] * x[k]);
        }
        for (int l = 0; l < 32; ++l) sumw += weights[32 * j + l];
        sw[j] = sumw;
    }
}

// 6-bit sub-block scales and mins from the searched ones: relative to the largest (plain path).
void quantize_scales_plain(const float* scales, const float* mins, KScaleMinBlock& b) {
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kSubBlocks; ++j) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[kSubBlocks], lm[kSubBlocks];
    for (int j = 0; j < kSubBlocks; ++j) {
        // The reference narrows to uint8 first, then clamps to 63.
        const auto s = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
        const auto m = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
        ls[j] = s < 63 ? s : 63;
        lm[j] = m < 63 ? m : 63;
    }
    pack_scale_min_k4(ls, lm, b.scales);
    b.d = to_f16(max_scale / 63.f);
    b.dmin = to_f16(max_min / 63.f);
}

// Importance path: the scales and the mins are fitted as two groups of 8 positive values.
void quantize_scales_weighted(const float* scales, const float* mins, const float* sw, bool clamp,
                              KScaleMinBlock& b) {
    uint8_t ls[kSubBlocks], lm[kSubBlocks];
    const float d_block = fit_scale_positive(kSubBlocks, 63, scales, ls, sw);
    const float m_block = fit_scale_positive(kSubBlocks, 63, mins, lm, sw);
    if (clamp) {
        for (int j = 0; j < kSubBlocks; ++j) {
            ls[j] = ls[j] < 63 ? ls[j] : 63;
            lm[j] = lm[j] < 63 ? lm[j] : 63;
        }
    }
    pack_scale_min_k4(ls, lm, b.scales);
    b.d = to_f16(d_block);
    b.dmin = to_f16(m_block);
}

// Re-quantizes every weight against its decoded sub-block scale and min; a sub-block whose
// decoded scale is 0 keeps the quants of its search.
void requantize(const float* x, int nmax, KScaleMinBlock& b) {
    const float d_all = from_f16(b.d);
    const float dmin_all = from_f16(b.dmin);
    for (int j = 0; j < kSubBlocks; ++j) {
        uint8_t sc, m;
        unpack_scale_min_k4(j, b.scales, &sc, &m);
        const float d = d_all * sc;
        if (d == 0) continue;
        const float dm = dmin_all * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearest_int((x[32 * j + ii] + dm) / d);
            b.L[32 * j + ii] = static_cast<uint8_t>(clamp_int(l, 0, nmax));
        }
    }
}

}  // namespace

void quantize_k_scale_min_row(const float* x, int64_t n, const float* imatrix,
                              const KScaleMinType& type, void* dst, size_t block_bytes,
                              void (*emit)(const KScaleMinBlock& block, void* out)) {
    const ScaleMinSearch weighted{type.nmax, -0.9f, 0.05f, 36, false};
    const ScaleMinSearch& search = imatrix ? weighted : type.plain;
    const int64_t nb = n / QK_K;

    float weights[kChunk * QK_K];
    float sw[kChunk * kSubBlocks];
    float scales[kChunk * kSubBlocks];
    float mins[kChunk * kSubBlocks];
    uint8_t L[kChunk * QK_K];
    KScaleMinBlock block;
    for (int64_t c = 0; c < nb; c += kChunk) {
        const int count = static_cast<int>(nb - c < kChunk ? nb - c : kChunk);
        const float* xc = x + c * QK_K;
        for (int b = 0; b < count; ++b)
            error_weights(xc + b * QK_K, imatrix ? imatrix + (c + b) * QK_K : nullptr,
                          weights + b * QK_K, sw + b * kSubBlocks);
        // The sub-block searches are independent: one batch for the whole chunk.
        fit_scale_min_batch(count * kSubBlocks, 32, xc, weights, L, scales, mins, search);
        for (int b = 0; b < count; ++b) {
            const float* sc = scales + b * kSubBlocks;
            const float* mn = mins + b * kSubBlocks;
            if (imatrix)
                quantize_scales_weighted(sc, mn, sw + b * kSubBlocks, type.clamp_weighted_scales,
                                         block);
            else
                quantize_scales_plain(sc, mn, block);
            std::memcpy(block.L, L + b * QK_K, QK_K);
            requantize(xc + b * QK_K, type.nmax, block);
            emit(block, static_cast<uint8_t*>(dst) + static_cast<size_t>(c + b) * block_bytes);
        }
    }
}

}  // namespace rf::quant
