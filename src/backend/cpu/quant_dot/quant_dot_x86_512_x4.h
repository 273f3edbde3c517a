// 512-bit VNNI kernels of the 32-weight block types against q8_x4 activations (act_format.h):
// four weight blocks per step. Each group of 4 blocks is read with two or four 64-byte loads
// (masked past the row's end) and one or two vpermt2w that gather the four blocks' quants into
// [b0 0..15, b1 0..15, b2 0..15, b3 0..15 | b0 16..31, ...] order, the order the activations were
// regrouped in; a vpermw spreads the four f16 scales over the lanes vpdpbusd fills per block.
// Weights are made unsigned (u = w + off) and the activation's aux lanes hold -off * sum(q), so a
// group costs two vpdpbusd, one scale multiply and one FMA per token.
// Include-only, from quant_dot_avx512.cpp (needs VNNI: vpdpbusd never saturates).
#pragma once

#include <array>

#include "backend/cpu/quant_dot/quant_dot_x86_512.h"

namespace rf::cpu::RF_DOT_NS {
namespace {

using WordIndex = std::array<uint16_t, 32>;
constexpr int kPrefetchBytes = 4096;
#ifndef RF_PF_DIST
#define RF_PF_DIST 2048
#endif

// Word `w` of the 128-byte concatenation (a, b) of two loads as a vpermt2w index, where load a
// starts at word a0 and load b at word b0 of the group (each covers 32 words).
constexpr uint16_t pick(int w, int a0, int b0) {
    return static_cast<uint16_t>(w >= a0 && w < a0 + 32 ? w - a0 : 32 + (w - b0));
}

// Indices of the quant words: out word 8k + i = word first(k) + i (k < 4, i < 8).
template <class First>
constexpr WordIndex quant_words(First first, int a0, int b0) {
    WordIndex idx{};
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 8; ++i)
            idx[static_cast<size_t>(8 * k + i)] = pick(first(k) + i, a0, b0);
    return idx;
}

// Lanes 4k..4k+3 = word w(k) (scales); lanes 16 + 4k.. = word w2(k) (second scale, or 0).
template <class W, class W2>
constexpr WordIndex scale_words(W w, W2 w2, int a0, int b0) {
    WordIndex idx{};
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 4; ++i) {
            idx[static_cast<size_t>(4 * k + i)] = pick(w(k), a0, b0);
            idx[static_cast<size_t>(16 + 4 * k + i)] = pick(w2(k), a0, b0);
        }
    return idx;
}

// Words [lo16(qh_0), lo16(qh_1), lo16(qh_2), lo16(qh_3), hi16(qh_0), ...] in lanes 0..7.
template <class W>
constexpr WordIndex qh_words(W first, int a0, int b0) {
    WordIndex idx{};
    for (int k = 0; k < 4; ++k) {
        idx[static_cast<size_t>(k)] = pick(first(k), a0, b0);
        idx[static_cast<size_t>(4 + k)] = pick(first(k) + 1, a0, b0);
    }
    return idx;
}

inline __m512i index_vector(const WordIndex& idx) {
    return _mm512_loadu_si512(idx.data());
}

// Up to 64 bytes at p; bytes at or past p + len read as 0 and are not accessed.
inline __m512i load_upto(const uint8_t* p, int len) {
    if (len >= 64) return _mm512_loadu_si512(p);
    return _mm512_maskz_loadu_epi8(len <= 0 ? 0 : (static_cast<__mmask64>(1) << len) - 1, p);
}

struct X4Group {
    __m512i lo, hi;  // unsigned quants in x4 order
    __m512 d;        // lane 4k..4k+3: scale of block k
    __m512 m;        // Q4_1 / Q5_1: lane 4k..4k+3: min of block k
};

inline void split_nibbles(__m512i v, X4Group& g) {
    const __m512i lo4 = _mm512_set1_epi8(0x0F);
    g.lo = _mm512_and_si512(v, lo4);
    g.hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
}

// Adds 16 to the bytes whose 5th bit is set: qh words gathered by qh_words in lanes 0..7.
inline void add_fifth_bits(__m512i qh, X4Group& g) {
    const __m128i h = _mm512_castsi512_si128(qh);
    const __mmask64 klo = static_cast<__mmask64>(_mm_cvtsi128_si64(h));
    const __mmask64 khi = static_cast<__mmask64>(_mm_extract_epi64(h, 1));
    const __m512i sixteen = _mm512_set1_epi8(16);
    g.lo = _mm512_mask_add_epi8(g.lo, klo, g.lo, sixteen);
    g.hi = _mm512_mask_add_epi8(g.hi, khi, g.hi, sixteen);
}

inline __m512 low_halves(__m512i words) {
    return _mm512_cvtph_ps(_mm512_castsi512_si256(words));
}
inline __m512 high_halves(__m512i words) {
    return _mm512_cvtph_ps(_mm512_extracti64x4_epi64(words, 1));
}

// Q4_0: 18-byte blocks, d at 0, qs at 2. Group of 72 bytes: loads at bytes 0 and 8.
struct X4Q4_0 {
    static constexpr int kBlockBytes = 18;
    static constexpr bool kMin = false;
    static X4Group load(const uint8_t* p, int nk) {
        static constexpr WordIndex qi = quant_words([](int k) { return 9 * k + 1; }, 0, 4);
        static constexpr WordIndex di =
            scale_words([](int k) { return 9 * k; }, [](int) { return 0; }, 0, 4);
        const int len = kBlockBytes * nk;
        const __m512i a = load_upto(p, len), b = load_upto(p + 8, len - 8);
        X4Group g;
        split_nibbles(_mm512_permutex2var_epi16(a, index_vector(qi), b), g);
        g.d = low_halves(_mm512_permutexvar_epi16(index_vector(di), a));
        return g;
    }
};

// Q5_0: 22-byte blocks, d at 0, qh at 2, qs at 6. Loads at bytes 0 and 24.
struct X4Q5_0 {
    static constexpr int kBlockBytes = 22;
    static constexpr bool kMin = false;
    static X4Group load(const uint8_t* p, int nk) {
        static constexpr WordIndex qi = quant_words([](int k) { return 11 * k + 3; }, 0, 12);
        static constexpr WordIndex di =
            scale_words([](int k) { return 11 * k; }, [](int) { return 0; }, 0, 12);
        static constexpr WordIndex hi = qh_words([](int k) { return 11 * k + 1; }, 0, 12);
        const int len = kBlockBytes * nk;
        const __m512i a = load_upto(p, len), b = load_upto(p + 24, len - 24);
        X4Group g;
        split_nibbles(_mm512_permutex2var_epi16(a, index_vector(qi), b), g);
        add_fifth_bits(_mm512_permutex2var_epi16(a, index_vector(hi), b), g);
        g.d = low_halves(_mm512_permutex2var_epi16(a, index_vector(di), b));
        return g;
    }
};

// Q8_0: 34-byte blocks, d at 0, qs at 2; u = q ^ 0x80 = q + 128. Loads at bytes 0, 64 (first
// halves, scales) and 4, 72 (second halves).
struct X4Q8_0 {
    static constexpr int kBlockBytes = 34;
    static constexpr bool kMin = false;
    static X4Group load(const uint8_t* p, int nk) {
        static constexpr WordIndex lo_i = quant_words([](int k) { return 17 * k + 1; }, 0, 32);
        static constexpr WordIndex hi_i = quant_words([](int k) { return 17 * k + 9; }, 2, 36);
        static constexpr WordIndex di =
            scale_words([](int k) { return 17 * k; }, [](int) { return 0; }, 0, 32);
        const int len = kBlockBytes * nk;
        const __m512i a0 = load_upto(p, len), a1 = load_upto(p + 64, len - 64);
        const __m512i b0 = load_upto(p + 4, len - 4), b1 = load_upto(p + 72, len - 72);
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        X4Group g;
        g.lo = _mm512_xor_si512(_mm512_permutex2var_epi16(a0, index_vector(lo_i), a1), flip);
        g.hi = _mm512_xor_si512(_mm512_permutex2var_epi16(b0, index_vector(hi_i), b1), flip);
        g.d = low_halves(_mm512_permutex2var_epi16(a0, index_vector(di), a1));
        return g;
    }
};

// Q4_1: 20-byte blocks, d at 0, m at 2, qs at 4. Loads at bytes 0 and 16.
struct X4Q4_1 {
    static constexpr int kBlockBytes = 20;
    static constexpr bool kMin = true;
    static X4Group load(const uint8_t* p, int nk) {
        static constexpr WordIndex qi = quant_words([](int k) { return 10 * k + 2; }, 0, 8);
        static constexpr WordIndex dm =
            scale_words([](int k) { return 10 * k; }, [](int k) { return 10 * k + 1; }, 0, 8);
        const int len = kBlockBytes * nk;
        const __m512i a = load_upto(p, len), b = load_upto(p + 16, len - 16);
        X4Group g;
        split_nibbles(_mm512_permutex2var_epi16(a, index_vector(qi), b), g);
        const __m512i s = _mm512_permutex2var_epi16(a, index_vector(dm), b);
        g.d = low_halves(s);
        g.m = high_halves(s);
        return g;
    }
};

// Q5_1: 24-byte blocks, d at 0, m at 2, qh at 4, qs at 8. Loads at bytes 0 and 32.
struct X4Q5_1 {
    static constexpr int kBlockBytes = 24;
    static constexpr bool kMin = true;
    static X4Group load(const uint8_t* p, int nk) {
        static constexpr WordIndex qi = quant_words([](int k) { return 12 * k + 4; }, 0, 16);
        static constexpr WordIndex dm =
            scale_words([](int k) { return 12 * k; }, [](int k) { return 12 * k + 1; }, 0, 16);
        static constexpr WordIndex hi = qh_words([](int k) { return 12 * k + 2; }, 0, 16);
        const int len = kBlockBytes * nk;
        const __m512i a = load_upto(p, len), b = load_upto(p + 32, len - 32);
        X4Group g;
        split_nibbles(_mm512_permutex2var_epi16(a, index_vector(qi), b), g);
        add_fifth_bits(_mm512_permutex2var_epi16(a, index_vector(hi), b), g);
        const __m512i s = _mm512_permutex2var_epi16(a, index_vector(dm), b);
        g.d = low_halves(s);
        g.m = high_halves(s);
        return g;
    }
};

template <class Dec, int NT>
void dot_x4(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
            size_t out_stride) {
    const auto* w = static_cast<const uint8_t*>(vw);
    const block_q8_x4* a[NT];
    for (int j = 0; j < NT; ++j)
        a[j] =
            reinterpret_cast<const block_q8_x4*>(static_cast<const uint8_t*>(act) + j * act_stride);
    const int64_t nb = n / 32, ng = (nb + 3) / 4;
    constexpr int kUnroll = NT <= 2 ? 2 : 1;
    __m512 acc[kUnroll][NT];
    for (int u = 0; u < kUnroll; ++u)
        for (int j = 0; j < NT; ++j) acc[u][j] = _mm512_setzero_ps();
    auto step = [&](int64_t g, __m512(&part)[NT]) {
        // Software prefetch 4 KiB ahead in the weight stream: +10-20 % from memory on this
        // machine's cores (hardware prefetchers alone leave latency exposed).
        _mm_prefetch(reinterpret_cast<const char*>(w + g * 4 * Dec::kBlockBytes + kPrefetchBytes),
                     _MM_HINT_T0);
        const X4Group wg = Dec::load(w + g * 4 * Dec::kBlockBytes,
                                     static_cast<int>(std::min<int64_t>(4, nb - 4 * g)));
#pragma GCC unroll 4
        for (int j = 0; j < NT; ++j) {
            const block_q8_x4& y = a[j][g];
            __m512i p = Dec::kMin ? _mm512_setzero_si512() : _mm512_loadu_si512(y.aux);
            p = _mm512_dpbusd_epi32(p, wg.lo, _mm512_loadu_si512(y.qs));
            p = _mm512_dpbusd_epi32(p, wg.hi, _mm512_loadu_si512(y.qs + 64));
            part[j] = _mm512_fmadd_ps(_mm512_mul_ps(wg.d, _mm512_loadu_ps(y.d)),
                                      _mm512_cvtepi32_ps(p), part[j]);
            if constexpr (Dec::kMin)
                part[j] = _mm512_fmadd_ps(
                    wg.m, _mm512_loadu_ps(reinterpret_cast<const float*>(y.aux)), part[j]);
        }
    };
    int64_t g = 0;
    for (; g + kUnroll <= ng; g += kUnroll)
#pragma GCC unroll 2
        for (int u = 0; u < kUnroll; ++u) step(g + u, acc[u]);
    for (; g < ng; ++g) step(g, acc[0]);
    for (int j = 0; j < NT; ++j) {
        __m512 s = acc[0][j];
        for (int u = 1; u < kUnroll; ++u) s = _mm512_add_ps(s, acc[u][j]);
        out[static_cast<size_t>(j) * out_stride] = _mm512_reduce_add_ps(s);
    }
}

template <int NT>
struct KX4_q4_0 {
    static constexpr FixedDot run = dot_x4<X4Q4_0, NT>;
};
template <int NT>
struct KX4_q5_0 {
    static constexpr FixedDot run = dot_x4<X4Q5_0, NT>;
};
template <int NT>
struct KX4_q8_0 {
    static constexpr FixedDot run = dot_x4<X4Q8_0, NT>;
};
template <int NT>
struct KX4_q4_1 {
    static constexpr FixedDot run = dot_x4<X4Q4_1, NT>;
};
template <int NT>
struct KX4_q5_1 {
    static constexpr FixedDot run = dot_x4<X4Q5_1, NT>;
};

}  // namespace
}  // namespace rf::cpu::RF_DOT_NS
