// 256-bit dot kernels for the K-quants (super-blocks of 256 weights) against Q8_K activations.
// Weights are decoded to unsigned bytes (any fixed offset is folded into the activation block
// sums, bsums), multiplied with maddubs and weighted by their i16 sub-block scales with madd;
// one f32 scale per super-block and row. Include-only: see quant_dot_x86_util.h.
#pragma once

#include "backend/cpu/quant_dot/quant_dot_x86_256.h"

namespace rf::cpu::RF_DOT_NS {
namespace {

// Q4_K / Q5_K. Weight 64c + l (l < 32) is the low nibble of qs[32c + l], 64c + 32 + l the high
// nibble; Q5_K adds 16 where bit 2c (2c + 1) of qh[l] is set. Sub-block j = weights 32j..32j+31.
template <bool kFive, int NT>
void dot_q45_k_256(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                   size_t out_stride) {
    using Block = std::conditional_t<kFive, block_q5_K, block_q4_K>;
    const auto* w = static_cast<const Block*>(vw);
    const ActRows<block_q8_K, NT> a(act, act_stride);
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    __m256 acc[NT];
    for (int j = 0; j < NT; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / QK_K; ++b) {
        const __m128i sm = unpack_k4_scales(w[b].scales);  // 8 scales, 8 mins
        const __m256i mins = k4_mins_per_bsum(sm);
        __m256i isum[NT];
        for (int j = 0; j < NT; ++j) isum[j] = _mm256_setzero_si256();
        [[maybe_unused]] __m256i hbits;
        if constexpr (kFive) hbits = load256(w[b].qh);
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
            const __m256i q = load256(w[b].qs + 32 * c);
            __m256i ulo = _mm256_and_si256(q, lo4);
            __m256i uhi = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
            if constexpr (kFive) {
                const __m256i one = _mm256_set1_epi8(1);
                ulo = _mm256_or_si256(ulo, _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4));
                uhi = _mm256_or_si256(
                    uhi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 1), one), 4));
                hbits = _mm256_srli_epi16(hbits, 2);
            }
            const __m256i slo = k4_scale_broadcast(sm, 2 * c),
                          shi = k4_scale_broadcast(sm, 2 * c + 1);
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j) {
                const int8_t* y = a.r[j][b].qs + 64 * c;
                isum[j] = _mm256_add_epi32(
                    isum[j], _mm256_add_epi32(scaled_dot256(ulo, load256(y), slo),
                                              scaled_dot256(uhi, load256(y + 32), shi)));
            }
        }
        const float dw = h2f(w[b].d), dmin = h2f(w[b].dmin);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const float dy = a.r[j][b].d;
            const __m256i msum = _mm256_madd_epi16(load256(a.r[j][b].bsums), mins);
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dy), _mm256_cvtepi32_ps(isum[j]), acc[j]);
            acc[j] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * dy), _mm256_cvtepi32_ps(msum), acc[j]);
        }
    }
    reduce_out<NT>(acc, out, out_stride);
}

// Q2_K / Q3_K / Q6_K share a shape: 8 chunks of 32 weights (chunk k = weights 32k..32k+31,
// groups 2k and 2k + 1 of 16), i8 group scales, and an integer offset per weight folded into
// sum(scale_g * bsum_g). Decoder::chunk(b, k) gives the unsigned bytes of chunk k.
template <class Decoder, int NT>
void dot_k16_256(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                 size_t out_stride) {
    using Block = typename Decoder::Block;
    const auto* w = static_cast<const Block*>(vw);
    const ActRows<block_q8_K, NT> a(act, act_stride);
    __m256 acc[NT];
    for (int j = 0; j < NT; ++j) acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / QK_K; ++b) {
        Decoder dec(w[b]);
        __m256i isum[NT];
        for (int j = 0; j < NT; ++j) isum[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            const __m256i u = dec.chunk(k);
            const __m256i sc = pair_scales(dec.scales, k);
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j)
                isum[j] =
                    _mm256_add_epi32(isum[j], scaled_dot256(u, load256(a.r[j][b].qs + 32 * k), sc));
        }
        const __m256i offset_scales = _mm256_cvtepi8_epi16(dec.offset_scales);
        const float dw = h2f(w[b].d);
        const float doff = Decoder::offset_scale(w[b]);
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const float dy = a.r[j][b].d;
            const __m256i off = _mm256_madd_epi16(load256(a.r[j][b].bsums), offset_scales);
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dy), _mm256_cvtepi32_ps(isum[j]), acc[j]);
            acc[j] = _mm256_fnmadd_ps(_mm256_set1_ps(doff * dy), _mm256_cvtepi32_ps(off), acc[j]);
        }
    }
    reduce_out<NT>(acc, out, out_stride);
}

// Q2_K: w = d sc_g q - dmin m_g, q = bits 2j of qs[32h + l] for weight 128h + 32j + l.
struct DecodeQ2K {
    using Block = block_q2_K;
    __m128i scales, offset_scales;  // i8 sc_g; i8 m_g
    __m256i q[2];
    explicit DecodeQ2K(const Block& b) {
        const __m128i s = load128(b.scales);
        scales = _mm_and_si128(s, _mm_set1_epi8(0x0F));
        offset_scales = _mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F));
        q[0] = load256(b.qs);
        q[1] = load256(b.qs + 32);
    }
    __m256i chunk(int k) const {
        const __m256i v = q[k / 4];
        const __m128i shift = _mm_cvtsi32_si128(2 * (k % 4));
        return _mm256_and_si256(_mm256_srl_epi16(v, shift), _mm256_set1_epi8(3));
    }
    static float offset_scale(const Block& b) { return h2f(b.dmin); }
};

// Q3_K: w = d (sc_g - 32)(u - 4), u = bits 2p of qs[32c + l] | bit (4c + p) of hmask[l] << 2,
// for weight 128c + 32p + l.  Offset: 4 * sum sc_g bsum_g, so offset_scales = 4 sc_g.
struct DecodeQ3K {
    using Block = block_q3_K;
    __m128i scales, offset_scales;
    __m256i q[2], hmask;
    explicit DecodeQ3K(const Block& b) {
        scales = unpack_q3_k_scales(b.scales);
        const __m128i twice =
            _mm_add_epi8(scales, scales);            // per-byte doubling (no shift across bytes)
        offset_scales = _mm_add_epi8(twice, twice);  // 4 sc in [-128, 124] fits i8
        q[0] = load256(b.qs);
        q[1] = load256(b.qs + 32);
        hmask = load256(b.hmask);
    }
    __m256i chunk(int k) const {
        const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
        const __m256i lo =
            _mm256_and_si256(_mm256_srl_epi16(q[k / 4], _mm_cvtsi32_si128(2 * (k % 4))), three);
        const __m256i hi = _mm256_and_si256(_mm256_srl_epi16(hmask, _mm_cvtsi32_si128(k)), one);
        return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 2));
    }
    static float offset_scale(const Block& b) { return h2f(b.d); }
};

// Q6_K: w = d sc_g (u - 32), u = 4 bits of ql | 2 bits of qh << 4 (see quant_q6_k.cpp).
// Offset: 32 sum sc_g bsum_g; 32 sc_g does not fit i8, so offset_scales = sc_g and the f32
// offset scale carries the 32.
struct DecodeQ6K {
    using Block = block_q6_K;
    __m128i scales, offset_scales;
    __m256i ql[4], qh[2];
    explicit DecodeQ6K(const Block& b) {
        scales = offset_scales = load128(b.scales);
        for (int i = 0; i < 4; ++i) ql[i] = load256(b.ql + 32 * i);
        qh[0] = load256(b.qh);
        qh[1] = load256(b.qh + 32);
    }
    // chunk k = 4c + t: t = 0: ql[64c + l] low, qh bits 0-1; t = 1: ql[64c + 32 + l] low, bits
    // 2-3; t = 2: ql[64c + l] high, bits 4-5; t = 3: ql[64c + 32 + l] high, bits 6-7.
    __m256i chunk(int k) const {
        const int c = k / 4, t = k % 4;
        const __m256i lo4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
        const __m256i l = ql[2 * c + (t & 1)];
        const __m256i low = _mm256_and_si256(t < 2 ? l : _mm256_srli_epi16(l, 4), lo4);
        const __m256i high =
            _mm256_and_si256(_mm256_srl_epi16(qh[c], _mm_cvtsi32_si128(2 * t)), three);
        return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
    }
    static float offset_scale(const Block& b) { return 32.0f * h2f(b.d); }
};

template <int NT>
struct K256_q2_k {
    static constexpr FixedDot run = dot_k16_256<DecodeQ2K, NT>;
};
template <int NT>
struct K256_q3_k {
    static constexpr FixedDot run = dot_k16_256<DecodeQ3K, NT>;
};
template <int NT>
struct K256_q6_k {
    static constexpr FixedDot run = dot_k16_256<DecodeQ6K, NT>;
};
template <int NT>
struct K256_q4_k {
    static constexpr FixedDot run = dot_q45_k_256<false, NT>;
};
template <int NT>
struct K256_q5_k {
    static constexpr FixedDot run = dot_q45_k_256<true, NT>;
};

}  // namespace
}  // namespace rf::cpu::RF_DOT_NS
