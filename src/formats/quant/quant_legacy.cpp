// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1: blocks of 32 weights with one f16 scale (and an f16
// minimum for the _1 types); block layouts in formats/quant_blocks.h. Quant j of a block sits in
// the low nibble of qs[j] for j < 16 and in the high nibble of qs[j - 16] otherwise; the Q5 types
// keep the fifth bit of quant j in bit j of the little-endian u32 qh.
//
// Without an importance matrix these are the reference round-to-nearest quantizers:
//   Q4_0  d = max / -8  (max: the element of largest |x|, signed), q = min(15, trunc(x/d + 8.5))
//   Q5_0  d = max / -16, q = min(31, trunc(x/d + 16.5))
//   Q4_1  d = (max - min) / 15, m = min, q = min(15, trunc((x - m)/d + 0.5))
//   Q5_1  d = (max - min) / 31, m = min, q = trunc((x - m)/d + 0.5)
//   Q8_0  d = amax / 127, q = round(x/d) (ties away from zero); Q8_1 also s = d * sum(q)
// where "/d" is "* (1/d)" as in the reference. With one, Q4_0/Q5_0 use the symmetric scale
// search and Q4_1/Q5_1 the asymmetric one, weighting each error by
// importance * sqrt(sigma2 + x^2), sigma2 = mean(x^2) over the row.
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include <cmath>
#include <cstring>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_internal.h"
#include "formats/quant/quant_k_search.h"

namespace rf::quant {
namespace {

// Element of largest magnitude, with its sign (the first one on ties).
float signed_absmax(const float* x, int n) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

// Mean of x^2 over the row: the error weight's floor in the importance-matrix paths.
float row_sigma2(const float* x, int64_t n) {
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) sum_x2 += x[j] * x[j];
    return sum_x2 / n;
}

void importance_weights(const float* x, const float* qw, float sigma2, float* weight) {
    for (int j = 0; j < 32; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

// Packs 32 quants: 4-bit ones as they are (the reference does not mask them), the low nibbles of
// 5-bit ones, and their fifth bits into the u32 qh.
void pack_4bit(const uint8_t* q, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}
void pack_low_nibbles(const uint8_t* q, uint8_t* qs) {
    for (int j = 0; j < 16; ++j)
        qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + 16] & 0x0F) << 4));
}
void pack_fifth_bits(const uint8_t* q, uint8_t* qh_bytes) {
    uint32_t qh = 0;
    for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>((q[j] & 0x10u) >> 4) << j;
    std::memcpy(qh_bytes, &qh, sizeof qh);
}

void quantize_block_q4_0_ref(const float* x, block_q4_0& b) {
    const float d = signed_absmax(x, 32) / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b.d = to_f16(d);
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) {
        const int v = static_cast<int8_t>(trunc_to_int(x[j] * id + 8.5f));
        q[j] = static_cast<uint8_t>(v < 15 ? v : 15);
    }
    pack_4bit(q, b.qs);
}

void quantize_block_q5_0_ref(const float* x, block_q5_0& b) {
    const float d = signed_absmax(x, 32) / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    b.d = to_f16(d);
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) {
        const int v = static_cast<int8_t>(trunc_to_int(x[j] * id + 16.5f));
        q[j] = static_cast<uint8_t>(v < 31 ? v : 31);
    }
    pack_low_nibbles(q, b.qs);
    pack_fifth_bits(q, b.qh);
}

// Q4_1 / Q5_1 reference: d = (max - min) / nmax. Returns d; quants to q, min to *min_out.
float quantize_block_min_ref(const float* x, int nmax, bool clamp, uint8_t* q, float* min_out) {
    float min = 3.40282347e+38f;
    float max = -3.40282347e+38f;
    for (int j = 0; j < 32; ++j) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / nmax;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) {
        const int v = trunc_to_int((x[j] - min) * id + 0.5f);
        if (clamp) {
            const int v8 = static_cast<int8_t>(v);
            q[j] = static_cast<uint8_t>(v8 < nmax ? v8 : nmax);
        } else {
            q[j] = static_cast<uint8_t>(v);
        }
    }
    *min_out = min;
    return d;
}

// Importance paths: per chunk of blocks, the error weights and then one batched search (the
// block searches are independent). emit(block index, quants, scale[, -min]).
constexpr int kChunk = 64;

template <typename Emit>
void fit_row_symmetric(const float* x, int64_t n, const float* imatrix, int nmax, Emit&& emit) {
    const float sigma2 = row_sigma2(x, n);
    float weight[kChunk * 32];
    int8_t L[kChunk * 32];
    float scales[kChunk];
    for (int64_t c = 0; c < n / 32; c += kChunk) {
        const int count = static_cast<int>(n / 32 - c < kChunk ? n / 32 - c : kChunk);
        for (int b = 0; b < count; ++b)
            importance_weights(x + (c + b) * 32, imatrix + (c + b) * 32, sigma2, weight + 32 * b);
        fit_scale_symmetric_batch(count, 32, nmax, x + c * 32, weight, L, scales);
        for (int b = 0; b < count; ++b)
            emit(c + b, reinterpret_cast<const uint8_t*>(L + 32 * b), scales[b]);
    }
}

template <typename Emit>
void fit_row_min(const float* x, int64_t n, const float* imatrix, int nmax, Emit&& emit) {
    const float sigma2 = row_sigma2(x, n);
    const ScaleMinSearch search{nmax, -0.9f, 0.05f, 36, false};
    float weight[kChunk * 32];
    uint8_t L[kChunk * 32];
    float scales[kChunk];
    float neg_mins[kChunk];
    for (int64_t c = 0; c < n / 32; c += kChunk) {
        const int count = static_cast<int>(n / 32 - c < kChunk ? n / 32 - c : kChunk);
        for (int b = 0; b < count; ++b)
            importance_weights(x + (c + b) * 32, imatrix + (c + b) * 32, sigma2, weight + 32 * b);
        fit_scale_min_batch(count, 32, x + c * 32, weight, L, scales, neg_mins, search);
        for (int b = 0; b < count; ++b) emit(c + b, L + 32 * b, scales[b], neg_mins[b]);
    }
}

}  // namespace

void quantize_q4_0(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q4_0*>(dst);
    const int64_t nb = n / QK4_0;
    if (!imatrix) {
        for (int64_t i = 0; i < nb; ++i) quantize_block_q4_0_ref(x + i * QK4_0, y[i]);
        return;
    }
    fit_row_symmetric(x, n, imatrix, 8, [&](int64_t i, const uint8_t* L, float d) {
        y[i].d = to_f16(d);
        pack_4bit(L, y[i].qs);
    });
}

void quantize_q5_0(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q5_0*>(dst);
    const int64_t nb = n / QK5_0;
    if (!imatrix) {
        for (int64_t i = 0; i < nb; ++i) quantize_block_q5_0_ref(x + i * QK5_0, y[i]);
        return;
    }
    fit_row_symmetric(x, n, imatrix, 16, [&](int64_t i, const uint8_t* L, float d) {
        y[i].d = to_f16(d);
        pack_low_nibbles(L, y[i].qs);
        pack_fifth_bits(L, y[i].qh);
    });
}

void quantize_q4_1(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q4_1*>(dst);
    const int64_t nb = n / QK4_1;
    uint8_t q[32];
    if (!imatrix) {
        for (int64_t i = 0; i < nb; ++i) {
            float min;
            y[i].d = to_f16(quantize_block_min_ref(x + i * QK4_1, 15, true, q, &min));
            y[i].m = to_f16(min);
            pack_4bit(q, y[i].qs);
        }
        return;
    }
    fit_row_min(x, n, imatrix, 15, [&](int64_t i, const uint8_t* L, float d, float neg_min) {
        y[i].d = to_f16(d);
        y[i].m = to_f16(-neg_min);
        pack_4bit(L, y[i].qs);
    });
}

void quantize_q5_1(const float* x, void* dst, int64_t n, const float* imatrix) {
    auto* y = static_cast<block_q5_1*>(dst);
    const int64_t nb = n / QK5_1;
    uint8_t q[32];
    if (!imatrix) {
        for (int64_t i = 0; i < nb; ++i) {
            float min;
            y[i].d = to_f16(quantize_block_min_ref(x + i * QK5_1, 31, false, q, &min));
            y[i].m = to_f16(min);
            pack_low_nibbles(q, y[i].qs);
            pack_fifth_bits(q, y[i].qh);
        }
        return;
    }
    fit_row_min(x, n, imatrix, 31, [&](int64_t i, const uint8_t* L, float d, float neg_min) {
        y[i].d = to_f16(d);
        y[i].m = to_f16(-neg_min);
        pack_low_nibbles(L, y[i].qs);
        pack_fifth_bits(L, y[i].qh);
    });
}

// Q8_0 / Q8_1: d = amax / 127 and q = round(x * (1/d)). A block holding NaN has amax NaN or not
// depending on where the NaN sits (as in the reference); its quants of NaN are 0.
void quantize_q8_0(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_0*>(dst);
    for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
        const float d = amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = to_f16(d);
        for (int j = 0; j < QK8_0; ++j)
            y[i].qs[j] = static_cast<int8_t>(round_away_to_int(x[j] * id));
    }
}

void quantize_q8_1(const float* x, void* dst, int64_t n) {
    auto* y = static_cast<block_q8_1*>(dst);
    for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
        const float d = amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = to_f16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            y[i].qs[j] = static_cast<int8_t>(round_away_to_int(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = to_f16(static_cast<float>(sum) * d);
    }
}

// Dequantization: w = q * d (+ m), computed as the reference does (int quant times f32 scale).
void dequantize_q4_0(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q4_0*>(src);
    for (int64_t i = 0; i < n / QK4_0; ++i, y += QK4_0) {
        const float d = from_f16(b[i].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = static_cast<float>((b[i].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q4_1*>(src);
    for (int64_t i = 0; i < n / QK4_1; ++i, y += QK4_1) {
        const float d = from_f16(b[i].d);
        const float m = from_f16(b[i].m);
        for (int j = 0; j < 16; ++j) {
            y[j] = static_cast<float>(b[i].qs[j] & 0x0F) * d + m;
            y[j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
        }
    }
}

namespace {
uint32_t load_qh(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, sizeof v);
    return v;
}
}  // namespace

void dequantize_q5_0(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q5_0*>(src);
    for (int64_t i = 0; i < n / QK5_0; ++i, y += QK5_0) {
        const float d = from_f16(b[i].d);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int q0 = (b[i].qs[j] & 0x0F) | static_cast<int>(((qh >> j) << 4) & 0x10);
            const int q1 = (b[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 12)) & 0x10);
            y[j] = static_cast<float>(q0 - 16) * d;
            y[j + 16] = static_cast<float>(q1 - 16) * d;
        }
    }
}

void dequantize_q5_1(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q5_1*>(src);
    for (int64_t i = 0; i < n / QK5_1; ++i, y += QK5_1) {
        const float d = from_f16(b[i].d);
        const float m = from_f16(b[i].m);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int q0 = (b[i].qs[j] & 0x0F) | static_cast<int>(((qh >> j) << 4) & 0x10);
            const int q1 = (b[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 12)) & 0x10);
            y[j] = static_cast<float>(q0) * d + m;
            y[j + 16] = static_cast<float>(q1) * d + m;
        }
    }
}

void dequantize_q8_0(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q8_0*>(src);
    for (int64_t i = 0; i < n / QK8_0; ++i, y += QK8_0) {
        const float d = from_f16(b[i].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void dequantize_q8_1(const void* src, float* y, int64_t n) {
    const auto* b = static_cast<const block_q8_1*>(src);
    for (int64_t i = 0; i < n / QK8_1; ++i, y += QK8_1) {
        const float d = from_f16(b[i].d);
        for (int j = 0; j < QK8_1; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

}  // namespace rf::quant
