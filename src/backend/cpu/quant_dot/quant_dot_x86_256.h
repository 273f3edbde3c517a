// 256-bit dot kernels (AVX2 + FMA + F16C, optionally AVX-VNNI) for the 32-weight block types and
// the float types. Each kernel reads a weight block once and dots it with NT activation rows.
// Include-only: see quant_dot_x86_util.h.
#pragma once

#include "backend/cpu/quant_dot/quant_dot_x86_util.h"

namespace rf::cpu::RF_DOT_NS {
namespace {

// Activation row pointers of one call: rows j < NT, act_stride bytes apart.
template <class Block, int NT>
struct ActRows {
    const Block* r[NT];
    ActRows(const void* act, size_t stride) {
        for (int j = 0; j < NT; ++j)
            r[j] = reinterpret_cast<const Block*>(static_cast<const uint8_t*>(act) + j * stride);
    }
};

// ---- one 32-weight block against NT activation blocks ----------------------------------------
// acc[j] += dw * dy_j * (sum of the block's integer products)

// Signed weights x (|x| <= 16, or a Q8_0 row) against Q8_0.
template <int NT>
inline void block_signed(__m256i x, float dw, const ActRows<block_q8_0, NT>& a, int64_t b,
                         __m256 (&acc)[NT]) {
    const __m256i ax = _mm256_sign_epi8(x, x);
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) {
        const __m256i p = dot_s8_256(x, ax, load256(a.r[j][b].qs));
        acc[j] =
            _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(a.r[j][b].d)), _mm256_cvtepi32_ps(p), acc[j]);
    }
}

// Unsigned weights u (<= 31) with offset m against Q8_1: dw dy sum(u y) + m s.
template <int NT>
inline void block_unsigned(__m256i u, float dw, float m, const ActRows<block_q8_1, NT>& a,
                           int64_t b, __m256 (&acc)[NT], float (&msum)[NT]) {
#pragma GCC unroll 4
    for (int j = 0; j < NT; ++j) {
        const __m256i p = dpbusd256(_mm256_setzero_si256(), u, load256(a.r[j][b].qs));
        acc[j] =
            _mm256_fmadd_ps(_mm256_set1_ps(dw * h2f(a.r[j][b].d)), _mm256_cvtepi32_ps(p), acc[j]);
        msum[j] += m * h2f(a.r[j][b].s);
    }
}

inline __m256i decode_q4_0(const block_q4_0& w) {
    return _mm256_sub_epi8(nibbles32(w.qs), _mm256_set1_epi8(8));
}
// q - 16 as int8: the nibble, or-ed with 0xF0 where the 5th bit is clear.
inline __m256i decode_q5_0(const block_q5_0& w) {
    return _mm256_or_si256(
        nibbles32(w.qs),
        _mm256_andnot_si256(bits_to_bytes32(w.qh), _mm256_set1_epi8(static_cast<char>(0xF0))));
}
inline __m256i decode_q8_0(const block_q8_0& w) {
    return load256(w.qs);
}
inline __m256i decode_q4_1(const block_q4_1& w) {
    return nibbles32(w.qs);
}
inline __m256i decode_q5_1(const block_q5_1& w) {
    return _mm256_or_si256(nibbles32(w.qs),
                           _mm256_and_si256(bits_to_bytes32(w.qh), _mm256_set1_epi8(0x10)));
}

template <int NT>
inline void reduce_out(const __m256 (&acc)[NT], float* out, size_t out_stride) {
    for (int j = 0; j < NT; ++j) out[static_cast<size_t>(j) * out_stride] = hsum256(acc[j]);
}

// Blocks are taken in pairs with separate accumulators when NT is small, so that the FMA
// latency chain does not bound the decode (NT = 1) loop.
template <int NT, class Step>
inline void block_loop(int64_t nb, __m256 (&acc)[NT], Step step) {
    constexpr int kUnroll = NT <= 2 ? 2 : 1;
    __m256 part[kUnroll][NT];
    for (int u = 0; u < kUnroll; ++u)
        for (int j = 0; j < NT; ++j) part[u][j] = _mm256_setzero_ps();
    int64_t b = 0;
    for (; b + kUnroll <= nb; b += kUnroll)
#pragma GCC unroll 2
        for (int u = 0; u < kUnroll; ++u) step(b + u, part[u]);
    for (; b < nb; ++b) step(b, part[0]);
    for (int j = 0; j < NT; ++j) {
        acc[j] = part[0][j];
        for (int u = 1; u < kUnroll; ++u) acc[j] = _mm256_add_ps(acc[j], part[u][j]);
    }
}

template <class WBlock, __m256i (*kDecode)(const WBlock&), int NT>
void dot_signed_256(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                    size_t out_stride) {
    const auto* w = static_cast<const WBlock*>(vw);
    const ActRows<block_q8_0, NT> a(act, act_stride);
    __m256 acc[NT];
    block_loop<NT>(n / 32, acc, [&](int64_t b, __m256(&part)[NT]) {
        block_signed<NT>(kDecode(w[b]), h2f(w[b].d), a, b, part);
    });
    reduce_out<NT>(acc, out, out_stride);
}

template <class WBlock, __m256i (*kDecode)(const WBlock&), int NT>
void dot_unsigned_256(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                      size_t out_stride) {
    const auto* w = static_cast<const WBlock*>(vw);
    const ActRows<block_q8_1, NT> a(act, act_stride);
    __m256 acc[NT];
    float msum[NT] = {};
    block_loop<NT>(n / 32, acc, [&](int64_t b, __m256(&part)[NT]) {
        block_unsigned<NT>(kDecode(w[b]), h2f(w[b].d), h2f(w[b].m), a, b, part, msum);
    });
    for (int j = 0; j < NT; ++j)
        out[static_cast<size_t>(j) * out_stride] = hsum256(acc[j]) + msum[j];
}

// ---- float weights against f32 activations ---------------------------------------------------

inline __m256 load8_f32(const void* p, int64_t i) {
    return _mm256_loadu_ps(static_cast<const float*>(p) + i);
}
inline __m256 load8_f16(const void* p, int64_t i) {
    return _mm256_cvtph_ps(load128(static_cast<const uint16_t*>(p) + i));
}
inline __m256 load8_bf16(const void* p, int64_t i) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(static_cast<const uint16_t*>(p) + i)), 16));
}
inline float load1_f32(const void* p, int64_t i) {
    return static_cast<const float*>(p)[i];
}
inline float load1_f16(const void* p, int64_t i) {
    return h2f(static_cast<const uint16_t*>(p)[i]);
}
inline float load1_bf16(const void* p, int64_t i) {
    const uint32_t u = static_cast<uint32_t>(static_cast<const uint16_t*>(p)[i]) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

template <__m256 (*kLoad8)(const void*, int64_t), float (*kLoad1)(const void*, int64_t), int NT>
void dot_float_256(int64_t n, const void* w, const void* act, size_t act_stride, float* out,
                   size_t out_stride) {
    const float* y[NT];
    for (int j = 0; j < NT; ++j)
        y[j] = reinterpret_cast<const float*>(static_cast<const uint8_t*>(act) + j * act_stride);
    constexpr int kUnroll = NT == 1 ? 4 : NT == 2 ? 2 : 1;
    __m256 part[kUnroll][NT];
    for (int u = 0; u < kUnroll; ++u)
        for (int j = 0; j < NT; ++j) part[u][j] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 * kUnroll <= n; i += 8 * kUnroll)
#pragma GCC unroll 4
        for (int u = 0; u < kUnroll; ++u) {
            const __m256 wv = kLoad8(w, i + 8 * u);
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j)
                part[u][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(y[j] + i + 8 * u), part[u][j]);
        }
    for (; i + 8 <= n; i += 8) {
        const __m256 wv = kLoad8(w, i);
        for (int j = 0; j < NT; ++j)
            part[0][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(y[j] + i), part[0][j]);
    }
    for (int j = 0; j < NT; ++j) {
        __m256 s = part[0][j];
        for (int u = 1; u < kUnroll; ++u) s = _mm256_add_ps(s, part[u][j]);
        float r = hsum256(s);
        for (int64_t k = i; k < n; ++k) r += kLoad1(w, k) * y[j][k];
        out[static_cast<size_t>(j) * out_stride] = r;
    }
}

// ---- nt -> NT dispatch -----------------------------------------------------------------------

using FixedDot = void (*)(int64_t, const void*, const void*, size_t, float*, size_t);

template <template <int> class K>
void rows(int64_t n, const void* w, const void* act, size_t act_stride, int nt, float* out,
          size_t out_stride) {
    switch (nt) {
        case 1:
            return K<1>::run(n, w, act, act_stride, out, out_stride);
        case 2:
            return K<2>::run(n, w, act, act_stride, out, out_stride);
        case 3:
            return K<3>::run(n, w, act, act_stride, out, out_stride);
        default:
            return K<4>::run(n, w, act, act_stride, out, out_stride);
    }
}

template <int NT>
struct K256_q4_0 {
    static constexpr FixedDot run = dot_signed_256<block_q4_0, decode_q4_0, NT>;
};
template <int NT>
struct K256_q5_0 {
    static constexpr FixedDot run = dot_signed_256<block_q5_0, decode_q5_0, NT>;
};
template <int NT>
struct K256_q8_0 {
    static constexpr FixedDot run = dot_signed_256<block_q8_0, decode_q8_0, NT>;
};
template <int NT>
struct K256_q4_1 {
    static constexpr FixedDot run = dot_unsigned_256<block_q4_1, decode_q4_1, NT>;
};
template <int NT>
struct K256_q5_1 {
    static constexpr FixedDot run = dot_unsigned_256<block_q5_1, decode_q5_1, NT>;
};
template <int NT>
struct K256_f32 {
    static constexpr FixedDot run = dot_float_256<load8_f32, load1_f32, NT>;
};
template <int NT>
struct K256_f16 {
    static constexpr FixedDot run = dot_float_256<load8_f16, load1_f16, NT>;
};
template <int NT>
struct K256_bf16 {
    static constexpr FixedDot run = dot_float_256<load8_bf16, load1_bf16, NT>;
};

}  // namespace
}  // namespace rf::cpu::RF_DOT_NS
