// 512-bit dot kernels (AVX-512 F/BW/VL/DQ; VNNI's vpdpbusd when RF_DOT_VNNI512 is 1). The
// 32-weight block types go two blocks per register (tail block with the 256-bit step); the
// K-quants take 64 weights per register; float types 16 per register. Include-only: see
// quant_dot_x86_util.h. Needs quant_dot_x86_256_k.h (tails, shared decoders).
#pragma once

#include "backend/cpu/quant_dot/quant_dot_x86_256_k.h"

namespace rf::cpu::RF_DOT_NS {
namespace {

inline __m512i dpbusd512(__m512i acc, __m512i u, __m512i s) {
#if RF_DOT_VNNI512
    return _mm512_dpbusd_epi32(acc, u, s);
#else
    return _mm512_add_epi32(acc,
                            _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
#endif
}

inline __m512i combine(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
// [a x 8, b x 8]
// 32 bytes at p in both 256-bit halves.
inline __m512i broadcast32(const uint8_t* p) {
    return _mm512_broadcast_i64x4(load256(p));
}
// i16 lanes: a in the low 256 bits, b in the high (shift counts, permute indices).
inline __m512i halves16(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi16(static_cast<short>(a)),
                              _mm256_set1_epi16(static_cast<short>(b)), 1);
}
inline __m512 pair_ps(float a, float b) {
    return _mm512_insertf32x8(_mm512_set1_ps(a), _mm256_set1_ps(b), 1);
}

// ---- 32-weight blocks, two per register --------------------------------------------------------

template <class WBlock, __m256i (*kDecode)(const WBlock&), int NT>
void dot_signed_512(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                    size_t out_stride) {
    const auto* w = static_cast<const WBlock*>(vw);
    const ActRows<block_q8_0, NT> a(act, act_stride);
    const int64_t nb = n / 32;
    __m512 acc[NT];
    __m256 tail[NT];
    for (int j = 0; j < NT; ++j) {
        acc[j] = _mm512_setzero_ps();
        tail[j] = _mm256_setzero_ps();
    }
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m512i x = combine(kDecode(w[b]), kDecode(w[b + 1]));
        const __m512i ax = _mm512_abs_epi8(x);
        const __mmask64 neg = _mm512_movepi8_mask(x);
        const float d0 = h2f(w[b].d), d1 = h2f(w[b + 1].d);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const block_q8_0* y = a.r[j] + b;
            const __m512i yv = combine(load256(y[0].qs), load256(y[1].qs));
            const __m512i sy = _mm512_mask_sub_epi8(yv, neg, _mm512_setzero_si512(), yv);
            const __m512i p = dpbusd512(_mm512_setzero_si512(), ax, sy);
            acc[j] = _mm512_fmadd_ps(pair_ps(d0 * h2f(y[0].d), d1 * h2f(y[1].d)),
                                     _mm512_cvtepi32_ps(p), acc[j]);
        }
    }
    if (b < nb) block_signed<NT>(kDecode(w[b]), h2f(w[b].d), a, b, tail);
    for (int j = 0; j < NT; ++j)
        out[static_cast<size_t>(j) * out_stride] = _mm512_reduce_add_ps(acc[j]) + hsum256(tail[j]);
}

template <class WBlock, __m256i (*kDecode)(const WBlock&), int NT>
void dot_unsigned_512(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                      size_t out_stride) {
    const auto* w = static_cast<const WBlock*>(vw);
    const ActRows<block_q8_1, NT> a(act, act_stride);
    const int64_t nb = n / 32;
    __m512 acc[NT];
    __m256 tail[NT];
    float msum[NT];
    for (int j = 0; j < NT; ++j) {
        acc[j] = _mm512_setzero_ps();
        tail[j] = _mm256_setzero_ps();
        msum[j] = 0.0f;
    }
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        const __m512i u = combine(kDecode(w[b]), kDecode(w[b + 1]));
        const float d0 = h2f(w[b].d), d1 = h2f(w[b + 1].d), m0 = h2f(w[b].m), m1 = h2f(w[b + 1].m);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const block_q8_1* y = a.r[j] + b;
            const __m512i p =
                dpbusd512(_mm512_setzero_si512(), u, combine(load256(y[0].qs), load256(y[1].qs)));
            acc[j] = _mm512_fmadd_ps(pair_ps(d0 * h2f(y[0].d), d1 * h2f(y[1].d)),
                                     _mm512_cvtepi32_ps(p), acc[j]);
            msum[j] += m0 * h2f(y[0].s) + m1 * h2f(y[1].s);
        }
    }
    if (b < nb) block_unsigned<NT>(kDecode(w[b]), h2f(w[b].d), h2f(w[b].m), a, b, tail, msum);
    for (int j = 0; j < NT; ++j)
        out[static_cast<size_t>(j) * out_stride] =
            _mm512_reduce_add_ps(acc[j]) + hsum256(tail[j]) + msum[j];
}

// ---- K-quants, 64 weights per register --------------------------------------------------------

template <bool kFive, int NT>
void dot_q45_k_512(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                   size_t out_stride) {
    using Block = std::conditional_t<kFive, block_q5_K, block_q4_K>;
    const auto* w = static_cast<const Block*>(vw);
    const ActRows<block_q8_K, NT> a(act, act_stride);
    __m512 acc[NT];
    __m256 macc[NT];
    for (int j = 0; j < NT; ++j) {
        acc[j] = _mm512_setzero_ps();
        macc[j] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const __m128i sm = unpack_k4_scales(w[b].scales);
        const __m256i mins = k4_mins_per_bsum(sm);
        // i16 scales sc0..7 in lanes 0..7; chunk c wants [sc_2c x 16, sc_2c+1 x 16]
        const __m512i sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sm));
        __m512i isum[NT];
        for (int j = 0; j < NT; ++j) isum[j] = _mm512_setzero_si512();
        [[maybe_unused]] __m512i hbits;
        if constexpr (kFive) hbits = broadcast32(w[b].qh);
        _mm_prefetch(reinterpret_cast<const char*>(w + b) + 4096, _MM_HINT_T0);
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
            // [low nibbles (sub-block 2c), high nibbles (2c + 1)] of qs[32c .. 32c + 31]
            __m512i u =
                _mm512_and_si512(_mm512_srlv_epi16(broadcast32(w[b].qs + 32 * c), halves16(0, 4)),
                                 _mm512_set1_epi8(0x0F));
            if constexpr (kFive) {  // + 16 where bit 2c (2c + 1) of qh[l] is set
                const __m512i h = _mm512_and_si512(
                    _mm512_srlv_epi16(hbits, halves16(2 * c, 2 * c + 1)), _mm512_set1_epi8(1));
                u = _mm512_or_si512(u, _mm512_slli_epi16(h, 4));
            }
            const __m512i sc = _mm512_permutexvar_epi16(
                halves16(2 * c, 2 * c + 1), sc16);  // lanes 0..15 pick lane 2c, 16..31 lane 2c+1
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j) {
                const __m512i y = _mm512_loadu_si512(a.r[j][b].qs + 64 * c);
                isum[j] =
                    _mm512_add_epi32(isum[j], _mm512_madd_epi16(_mm512_maddubs_epi16(u, y), sc));
            }
        }
        const float dw = h2f(w[b].d), dmin = h2f(w[b].dmin);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const float dy = a.r[j][b].d;
            const __m256i msum = _mm256_madd_epi16(load256(a.r[j][b].bsums), mins);
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(dw * dy), _mm512_cvtepi32_ps(isum[j]), acc[j]);
            macc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * dy), _mm256_cvtepi32_ps(msum), macc[j]);
        }
    }
    for (int j = 0; j < NT; ++j)
        out[static_cast<size_t>(j) * out_stride] = _mm512_reduce_add_ps(acc[j]) - hsum256(macc[j]);
}

// Q2_K / Q3_K / Q6_K, 64 weights per register decoded in place: quarter j (weights 64j..64j+63,
// groups of 16 4j..4j+3) comes from one broadcast 32-byte source shifted per 256-bit half by
// vpsrlvw; the group scales are spread over the i16 lanes of maddubs by vpermw.
struct Quarters {
    __m512i scales16;  // i16 group scales 0..15 in lanes 0..15
    __m256i offset16;  // i16 per-group offset scales (sum over bsum_g * offset16_g)
    // Lanes 8g'..8g'+7 of quarter j = scale of group 4j + g'.
    __m512i scales(int j) const {
        alignas(64) static constexpr uint16_t base[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1,
                                                          1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2,
                                                          2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
        const __m512i idx =
            _mm512_add_epi16(_mm512_load_si512(base), _mm512_set1_epi16(static_cast<short>(4 * j)));
        return _mm512_permutexvar_epi16(idx, scales16);
    }
};

// Q2_K: weight 128h + 32j' + l = bits 2j' of qs[32h + l]; w = d sc_g q - dmin m_g.
struct Dec512Q2K : Quarters {
    using Block = block_q2_K;
    __m512i q[2];
    explicit Dec512Q2K(const Block& b) {
        const __m128i s = load128(b.scales);
        scales16 =
            _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0x0F))));
        offset16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F)));
        q[0] = broadcast32(b.qs);
        q[1] = broadcast32(b.qs + 32);
    }
    __m512i quarter(int j) const {
        const int jj = 2 * (j & 1);
        return _mm512_and_si512(_mm512_srlv_epi16(q[j / 2], halves16(2 * jj, 2 * jj + 2)),
                                _mm512_set1_epi8(3));
    }
    static float offset_scale(const Block& b) { return h2f(b.dmin); }
};

// Q3_K: weight 128c + 32p + l: bits 2p of qs[32c + l] | bit 4c+p of hmask[l] << 2, minus 4.
struct Dec512Q3K : Quarters {
    using Block = block_q3_K;
    __m512i q[2], hmask;
    explicit Dec512Q3K(const Block& b) {
        const __m128i sc = unpack_q3_k_scales(b.scales);
        scales16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(sc));
        offset16 = _mm256_slli_epi16(_mm256_cvtepi8_epi16(sc), 2);  // 4 sc_g
        q[0] = broadcast32(b.qs);
        q[1] = broadcast32(b.qs + 32);
        hmask = broadcast32(b.hmask);
    }
    __m512i quarter(int j) const {
        const int c = j / 2, p = 2 * (j & 1);
        const __m512i lo = _mm512_and_si512(_mm512_srlv_epi16(q[c], halves16(2 * p, 2 * p + 2)),
                                            _mm512_set1_epi8(3));
        const __m512i hi = _mm512_and_si512(
            _mm512_srlv_epi16(hmask, halves16(4 * c + p, 4 * c + p + 1)), _mm512_set1_epi8(1));
        return _mm512_or_si512(lo, _mm512_slli_epi16(hi, 2));
    }
    static float offset_scale(const Block& b) { return h2f(b.d); }
};

// Q6_K: weights 128c + 0..63 = low nibbles of ql[64c .. 64c + 63] with qh[32c + l] bits 0-1
// (first 32) and 2-3 (next 32); 128c + 64..127 = the high nibbles with bits 4-5 and 6-7.
struct Dec512Q6K : Quarters {
    using Block = block_q6_K;
    __m512i ql[2], qh[2];
    explicit Dec512Q6K(const Block& b) {
        const __m256i sc = _mm256_cvtepi8_epi16(load128(b.scales));
        scales16 = _mm512_castsi256_si512(sc);
        offset16 = sc;  // times 32 in the f32 offset scale
        ql[0] = _mm512_loadu_si512(b.ql);
        ql[1] = _mm512_loadu_si512(b.ql + 64);
        qh[0] = broadcast32(b.qh);
        qh[1] = broadcast32(b.qh + 32);
    }
    __m512i quarter(int j) const {
        const int c = j / 2, upper = j & 1;
        const __m512i lo4 = _mm512_set1_epi8(0x0F);
        const __m512i nib = _mm512_and_si512(upper ? _mm512_srli_epi16(ql[c], 4) : ql[c], lo4);
        const __m512i hb = _mm512_and_si512(
            _mm512_srlv_epi16(qh[c], halves16(4 * upper, 4 * upper + 2)), _mm512_set1_epi8(3));
        return _mm512_or_si512(nib, _mm512_slli_epi16(hb, 4));
    }
    static float offset_scale(const Block& b) { return 32.0f * h2f(b.d); }
};

template <class Decoder, int NT>
void dot_k16_512(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                 size_t out_stride) {
    using Block = typename Decoder::Block;
    const auto* w = static_cast<const Block*>(vw);
    const ActRows<block_q8_K, NT> a(act, act_stride);
    __m512 acc[NT];
    __m256 oacc[NT];
    for (int j = 0; j < NT; ++j) {
        acc[j] = _mm512_setzero_ps();
        oacc[j] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < n / QK_K; ++b) {
        _mm_prefetch(reinterpret_cast<const char*>(w + b) + 4096, _MM_HINT_T0);
        const Decoder dec(w[b]);
        __m512i isum[NT];
        for (int j = 0; j < NT; ++j) isum[j] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {
            const __m512i u = dec.quarter(q);
            const __m512i sc = dec.scales(q);
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j) {
                const __m512i y = _mm512_loadu_si512(a.r[j][b].qs + 64 * q);
                isum[j] =
                    _mm512_add_epi32(isum[j], _mm512_madd_epi16(_mm512_maddubs_epi16(u, y), sc));
            }
        }
        const float dw = h2f(w[b].d), doff = Decoder::offset_scale(w[b]);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const float dy = a.r[j][b].d;
            const __m256i off = _mm256_madd_epi16(load256(a.r[j][b].bsums), dec.offset16);
            acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(dw * dy), _mm512_cvtepi32_ps(isum[j]), acc[j]);
            oacc[j] = _mm256_fmadd_ps(_mm256_set1_ps(doff * dy), _mm256_cvtepi32_ps(off), oacc[j]);
        }
    }
    for (int j = 0; j < NT; ++j)
        out[static_cast<size_t>(j) * out_stride] = _mm512_reduce_add_ps(acc[j]) - hsum256(oacc[j]);
}

// ---- float weights, 16 per register ------------------------------------------------------------

inline __m512 load16_f32(const void* p, int64_t i) {
    return _mm512_loadu_ps(static_cast<const float*>(p) + i);
}
inline __m512 load16_f16(const void* p, int64_t i) {
    return _mm512_cvtph_ps(load256(static_cast<const uint16_t*>(p) + i));
}
inline __m512 load16_bf16(const void* p, int64_t i) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(static_cast<const uint16_t*>(p) + i)), 16));
}

template <__m512 (*kLoad16)(const void*, int64_t), float (*kLoad1)(const void*, int64_t), int NT>
void dot_float_512(int64_t n, const void* w, const void* act, size_t act_stride, float* out,
                   size_t out_stride) {
    const float* y[NT];
    for (int j = 0; j < NT; ++j)
        y[j] = reinterpret_cast<const float*>(static_cast<const uint8_t*>(act) + j * act_stride);
    constexpr int kUnroll = NT == 1 ? 4 : NT == 2 ? 2 : 1;
    __m512 part[kUnroll][NT];
    for (int u = 0; u < kUnroll; ++u)
        for (int j = 0; j < NT; ++j) part[u][j] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 * kUnroll <= n; i += 16 * kUnroll)
#pragma GCC unroll 4
        for (int u = 0; u < kUnroll; ++u) {
            const __m512 wv = kLoad16(w, i + 16 * u);
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j)
                part[u][j] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(y[j] + i + 16 * u), part[u][j]);
        }
    for (; i + 16 <= n; i += 16) {
        const __m512 wv = kLoad16(w, i);
        for (int j = 0; j < NT; ++j)
            part[0][j] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(y[j] + i), part[0][j]);
    }
    for (int j = 0; j < NT; ++j) {
        __m512 s = part[0][j];
        for (int u = 1; u < kUnroll; ++u) s = _mm512_add_ps(s, part[u][j]);
        float r = _mm512_reduce_add_ps(s);
        for (int64_t k = i; k < n; ++k) r += kLoad1(w, k) * y[j][k];
        out[static_cast<size_t>(j) * out_stride] = r;
    }
}

template <int NT>
struct K512_q4_0 {
    static constexpr FixedDot run = dot_signed_512<block_q4_0, decode_q4_0, NT>;
};
template <int NT>
struct K512_q5_0 {
    static constexpr FixedDot run = dot_signed_512<block_q5_0, decode_q5_0, NT>;
};
template <int NT>
struct K512_q8_0 {
    static constexpr FixedDot run = dot_signed_512<block_q8_0, decode_q8_0, NT>;
};
template <int NT>
struct K512_q4_1 {
    static constexpr FixedDot run = dot_unsigned_512<block_q4_1, decode_q4_1, NT>;
};
template <int NT>
struct K512_q5_1 {
    static constexpr FixedDot run = dot_unsigned_512<block_q5_1, decode_q5_1, NT>;
};
template <int NT>
struct K512_q2_k {
    static constexpr FixedDot run = dot_k16_512<Dec512Q2K, NT>;
};
template <int NT>
struct K512_q3_k {
    static constexpr FixedDot run = dot_k16_512<Dec512Q3K, NT>;
};
template <int NT>
struct K512_q6_k {
    static constexpr FixedDot run = dot_k16_512<Dec512Q6K, NT>;
};
template <int NT>
struct K512_q4_k {
    static constexpr FixedDot run = dot_q45_k_512<false, NT>;
};
template <int NT>
struct K512_q5_k {
    static constexpr FixedDot run = dot_q45_k_512<true, NT>;
};
template <int NT>
struct K512_f32 {
    static constexpr FixedDot run = dot_float_512<load16_f32, load1_f32, NT>;
};
template <int NT>
struct K512_f16 {
    static constexpr FixedDot run = dot_float_512<load16_f16, load1_f16, NT>;
};
template <int NT>
struct K512_bf16 {
    static constexpr FixedDot run = dot_float_512<load16_bf16, load1_bf16, NT>;
};

}  // namespace
}  // namespace rf::cpu::RF_DOT_NS
