// The scale/min fitting Q4_K and Q5_K share (internal). A super-block of 256 weights has 8
// sub-blocks of 32; sub-block j decodes as w = d * sc_j * q - dmin * m_j with 6-bit sc_j, m_j
// (packed in 12 bytes, quant_common.h) and f16 super-scales d, dmin.
//
//  without importance: per sub-block, error weights av_x + |x| (av_x = rms of the sub-block)
//    and the asymmetric search with the type's parameters; then sc_j = round(63 * scale_j /
//    max scale), m_j likewise, d = max scale / 63, dmin = max min / 63.
//  with importance: error weights imp * sqrt(sigma2 + x^2) (sigma2 = 2 * mean(x^2) over the
//    super-block), search (rmin -0.9, rdelta 0.05, 36 steps), then the 8 scales and the 8 mins
//    are themselves quantized to 6 bits by fit_scale_positive, weighted by each sub-block's
//    total error weight.
//  finally every weight is re-quantized against its decoded sub-block scale and min.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/quant/quant_k_search.h"
#include "formats/quant_blocks.h"

namespace rf::quant {

struct KScaleMinBlock {
    f16_bits d;
    f16_bits dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t L[QK_K];  // quants in [0, nmax], in weight order
};

struct KScaleMinType {
    int nmax;                    // 15 (Q4_K) or 31 (Q5_K)
    ScaleMinSearch plain;        // search without importance
    bool clamp_weighted_scales;  // Q5_K clamps the importance path's 6-bit scales to 63, Q4_K not
};

// Fits the super-blocks of one row (n weights) and calls emit(block, dst + i * block_bytes) for
// super-block i.
void quantize_k_scale_min_row(const float* x, int64_t n, const float* imatrix,
                              const KScaleMinType& type, void* dst, size_t block_bytes,
                              void (*emit)(const KScaleMinBlock& block, void* out));

}  // namespace rf::quant
