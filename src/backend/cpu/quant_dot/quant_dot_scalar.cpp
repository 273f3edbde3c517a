// Portable dot kernels: the fallback on CPUs without AVX2 and the reference the SIMD kernels are
// tested against. Integer sums per block (sub-block for the K-quants) are exact; each block's
// sum is scaled in f32, as in every SIMD tier.
#include <cstring>
#include <type_traits>

#include "backend/cpu/quant_dot/quant_dot.h"
#include "core/half.h"
#include "formats/quant/quant_common.h"
#include "formats/quant_blocks.h"

namespace rf::cpu::scalar {
namespace {

using quant::unpack_scale_min_k4;
using quant::unpack_scale_q3_k;

float h2f(f16_bits h) {
    return f16_to_f32(h);
}

// ---- 32-weight blocks ------------------------------------------------------------------------

float dot_q4_0(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q4_0*>(vw);
    const auto* a = static_cast<const block_q8_0*>(va);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK4_0; ++b) {
        int32_t s = 0;
        for (int l = 0; l < QK4_0 / 2; ++l) {
            s += ((w[b].qs[l] & 0xF) - 8) * a[b].qs[l];
            s += ((w[b].qs[l] >> 4) - 8) * a[b].qs[l + QK4_0 / 2];
        }
        sum += h2f(w[b].d) * h2f(a[b].d) * static_cast<float>(s);
    }
    return sum;
}

float dot_q4_1(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q4_1*>(vw);
    const auto* a = static_cast<const block_q8_1*>(va);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK4_1; ++b) {
        int32_t s = 0;
        for (int l = 0; l < QK4_1 / 2; ++l) {
            s += (w[b].qs[l] & 0xF) * a[b].qs[l];
            s += (w[b].qs[l] >> 4) * a[b].qs[l + QK4_1 / 2];
        }
        // w = d q + m:  sum w y = d dy sum(q y) + m (dy sum y) = ... + m s
        sum += h2f(w[b].d) * h2f(a[b].d) * static_cast<float>(s) + h2f(w[b].m) * h2f(a[b].s);
    }
    return sum;
}

// The 5th bit of weight j (j < 32) of a Q5 block.
inline int q5_high(const uint8_t qh[4], int j) {
    uint32_t bits;
    std::memcpy(&bits, qh, 4);
    return static_cast<int>((bits >> j) & 1u) << 4;
}

float dot_q5_0(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q5_0*>(vw);
    const auto* a = static_cast<const block_q8_0*>(va);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK5_0; ++b) {
        int32_t s = 0;
        for (int l = 0; l < QK5_0 / 2; ++l) {
            s += (((w[b].qs[l] & 0xF) | q5_high(w[b].qh, l)) - 16) * a[b].qs[l];
            s += (((w[b].qs[l] >> 4) | q5_high(w[b].qh, l + 16)) - 16) * a[b].qs[l + 16];
        }
        sum += h2f(w[b].d) * h2f(a[b].d) * static_cast<float>(s);
    }
    return sum;
}

float dot_q5_1(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q5_1*>(vw);
    const auto* a = static_cast<const block_q8_1*>(va);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK5_1; ++b) {
        int32_t s = 0;
        for (int l = 0; l < QK5_1 / 2; ++l) {
            s += ((w[b].qs[l] & 0xF) | q5_high(w[b].qh, l)) * a[b].qs[l];
            s += ((w[b].qs[l] >> 4) | q5_high(w[b].qh, l + 16)) * a[b].qs[l + 16];
        }
        sum += h2f(w[b].d) * h2f(a[b].d) * static_cast<float>(s) + h2f(w[b].m) * h2f(a[b].s);
    }
    return sum;
}

float dot_q8_0(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q8_0*>(vw);
    const auto* a = static_cast<const block_q8_0*>(va);
    float sum = 0.0f;
    for (int64_t b = 0; b < n / QK8_0; ++b) {
        int32_t s = 0;
        for (int l = 0; l < QK8_0; ++l) s += w[b].qs[l] * a[b].qs[l];
        sum += h2f(w[b].d) * h2f(a[b].d) * static_cast<float>(s);
    }
    return sum;
}

// ---- K-quants: super-blocks of 256 against Q8_K --------------------------------------------

// sum over the 16 activations of group g (g < 16) times integer weights q[16 g ..].
inline int32_t group_dot(const int8_t* q, const int8_t* y, int g) {
    int32_t s = 0;
    for (int l = 0; l < 16; ++l) s += q[16 * g + l] * y[16 * g + l];
    return s;
}

float dot_q2_k(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q2_K*>(vw);
    const auto* a = static_cast<const block_q8_K*>(va);
    float sum = 0.0f;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Weight 128 h + 32 j + l: bits 2j of qs[32 h + l]; group (of 16) = index / 16.
        for (int h = 0; h < 2; ++h)
            for (int j = 0; j < 4; ++j)
                for (int l = 0; l < 32; ++l)
                    q[128 * h + 32 * j + l] =
                        static_cast<int8_t>((w[b].qs[32 * h + l] >> (2 * j)) & 3);
        int32_t isum = 0, msum = 0;
        for (int g = 0; g < 16; ++g) {
            isum += (w[b].scales[g] & 0xF) * group_dot(q, a[b].qs, g);
            msum += (w[b].scales[g] >> 4) * a[b].bsums[g];
        }
        sum += a[b].d *
               (h2f(w[b].d) * static_cast<float>(isum) - h2f(w[b].dmin) * static_cast<float>(msum));
    }
    return sum;
}

float dot_q3_k(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q3_K*>(vw);
    const auto* a = static_cast<const block_q8_K*>(va);
    float sum = 0.0f;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Weight 128 c + 32 p + l: bits 2p of qs[32 c + l], minus 4 unless bit 4c+p of hmask[l].
        for (int c = 0; c < 2; ++c)
            for (int p = 0; p < 4; ++p)
                for (int l = 0; l < 32; ++l) {
                    const int lo = (w[b].qs[32 * c + l] >> (2 * p)) & 3;
                    const int hi = (w[b].hmask[l] >> (4 * c + p)) & 1;
                    q[128 * c + 32 * p + l] = static_cast<int8_t>(lo - (hi ? 0 : 4));
                }
        int32_t isum = 0;
        for (int g = 0; g < 16; ++g)
            isum += unpack_scale_q3_k(g, w[b].scales) * group_dot(q, a[b].qs, g);
        sum += a[b].d * h2f(w[b].d) * static_cast<float>(isum);
    }
    return sum;
}

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scale and min.
template <bool kFive>
float dot_q45_k(int64_t n, const void* vw, const void* va) {
    using Block = std::conditional_t<kFive, block_q5_K, block_q4_K>;
    const auto* w = static_cast<const Block*>(vw);
    const auto* a = static_cast<const block_q8_K*>(va);
    float sum = 0.0f;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; ++b) {
        // Weight 64 c + l (l < 32): low nibble of qs[32 c + l]; 64 c + 32 + l: high nibble.
        // Q5_K: plus 16 if bit 2c (resp. 2c + 1) of qh[l].
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) {
                int lo = w[b].qs[32 * c + l] & 0xF, hi = w[b].qs[32 * c + l] >> 4;
                if constexpr (kFive) {
                    lo += ((w[b].qh[l] >> (2 * c)) & 1) << 4;
                    hi += ((w[b].qh[l] >> (2 * c + 1)) & 1) << 4;
                }
                q[64 * c + l] = static_cast<int8_t>(lo);
                q[64 * c + 32 + l] = static_cast<int8_t>(hi);
            }
        int32_t isum = 0, msum = 0;
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, m;
            unpack_scale_min_k4(j, w[b].scales, &sc, &m);
            isum += sc * (group_dot(q, a[b].qs, 2 * j) + group_dot(q, a[b].qs, 2 * j + 1));
            msum += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
        }
        sum += a[b].d *
               (h2f(w[b].d) * static_cast<float>(isum) - h2f(w[b].dmin) * static_cast<float>(msum));
    }
    return sum;
}

float dot_q6_k(int64_t n, const void* vw, const void* va) {
    const auto* w = static_cast<const block_q6_K*>(vw);
    const auto* a = static_cast<const block_q8_K*>(va);
    float sum = 0.0f;
    int8_t q[QK_K];
    for (int64_t b = 0; b < n / QK_K; ++b) {
        for (int c = 0; c < 2; ++c) {
            const uint8_t* ql = w[b].ql + 64 * c;
            const uint8_t* qh = w[b].qh + 32 * c;
            int8_t* o = q + 128 * c;
            for (int l = 0; l < 32; ++l) {
                o[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                o[l + 32] =
                    static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] =
                    static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int32_t isum = 0;
        for (int g = 0; g < 16; ++g) isum += w[b].scales[g] * group_dot(q, a[b].qs, g);
        sum += a[b].d * h2f(w[b].d) * static_cast<float>(isum);
    }
    return sum;
}

// ---- float weights ---------------------------------------------------------------------------

template <float (*kLoad)(const void*, int64_t)>
float dot_float(int64_t n, const void* w, const void* a) {
    const auto* y = static_cast<const float*>(a);
    float acc[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += kLoad(w, i + k) * y[i + k];
    float s = 0.0f;
    for (; i < n; ++i) s += kLoad(w, i) * y[i];
    for (float v : acc) s += v;
    return s;
}

float load_f32(const void* p, int64_t i) {
    return static_cast<const float*>(p)[i];
}
float load_f16(const void* p, int64_t i) {
    return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
}
float load_bf16(const void* p, int64_t i) {
    return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
}

// ---- nt rows ---------------------------------------------------------------------------------

template <float (*kDot)(int64_t, const void*, const void*)>
void rows(int64_t n, const void* w, const void* act, size_t act_stride, int nt, float* out,
          size_t out_stride) {
    for (int j = 0; j < nt; ++j)
        out[static_cast<size_t>(j) * out_stride] =
            kDot(n, w, static_cast<const uint8_t*>(act) + j * act_stride);
}

}  // namespace

DotKernel dot_kernel(TensorType w) {
    switch (w) {
        case TensorType::F32:
            return {ActFormat::f32, rows<dot_float<load_f32>>};
        case TensorType::F16:
            return {ActFormat::f32, rows<dot_float<load_f16>>};
        case TensorType::BF16:
            return {ActFormat::f32, rows<dot_float<load_bf16>>};
        case TensorType::Q4_0:
            return {ActFormat::q8_0, rows<dot_q4_0>};
        case TensorType::Q4_1:
            return {ActFormat::q8_1, rows<dot_q4_1>};
        case TensorType::Q5_0:
            return {ActFormat::q8_0, rows<dot_q5_0>};
        case TensorType::Q5_1:
            return {ActFormat::q8_1, rows<dot_q5_1>};
        case TensorType::Q8_0:
            return {ActFormat::q8_0, rows<dot_q8_0>};
        case TensorType::Q2_K:
            return {ActFormat::q8_k, rows<dot_q2_k>};
        case TensorType::Q3_K:
            return {ActFormat::q8_k, rows<dot_q3_k>};
        case TensorType::Q4_K:
            return {ActFormat::q8_k, rows<dot_q45_k<false>>};
        case TensorType::Q5_K:
            return {ActFormat::q8_k, rows<dot_q45_k<true>>};
        case TensorType::Q6_K:
            return {ActFormat::q8_k, rows<dot_q6_k>};
        default:
            return {};
    }
}

}  // namespace rf::cpu::scalar
