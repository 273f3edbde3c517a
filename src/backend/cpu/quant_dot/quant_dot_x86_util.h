// Helpers shared by the x86 dot kernels. Include-only from quant_dot_<tier>.cpp, which defines
// RF_DOT_NS (the tier's namespace, so that inline functions compiled with different -m flags
// never merge across tiers) and RF_DOT_VNNI256 (0: maddubs/madd, 1: AVX-VNNI, 2: AVX512-VNNI)
// before including this file.
#pragma once

// GCC 12 reports the _mm512_undefined_*() operands inside its own AVX-512 intrinsics as
// uninitialized (GCC bug 105593); the pragma must precede the first inclusion of immintrin.h,
// which is why every tier file includes this header first.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backend/cpu/quant_dot/quant_dot.h"
#include "formats/quant_blocks.h"

#ifndef RF_DOT_NS
#error "quant_dot_x86_util.h is included only by quant_dot_<tier>.cpp"
#endif

namespace rf::cpu::RF_DOT_NS {
namespace {

inline float h2f(f16_bits h) {
    return _cvtsh_ss(h);
}

// acc + (sum of 4 adjacent u8 x s8 products) per i32 lane. The maddubs form saturates an i16
// pair sum above 32767; every caller keeps |u| * |s| * 2 below that (u <= 128, |s| <= 127, or
// u <= 63 with s = -128 from Q8_K).
inline __m256i dpbusd256(__m256i acc, __m256i u, __m256i s) {
#if RF_DOT_VNNI256 == 1
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#elif RF_DOT_VNNI256 == 2
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc,
                            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// sum of x * y per i32 lane (4 adjacent int8 pairs), x and y signed: |x| . (y * sign(x)).
inline __m256i dot_s8_256(__m256i x, __m256i abs_x, __m256i y) {
    return dpbusd256(_mm256_setzero_si256(), abs_x, _mm256_sign_epi8(y, x));
}

inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline __m256i load256(const void* p) {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p) {
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// 16 bytes of packed nibbles -> 32 bytes: [low nibbles of bytes 0..15, high nibbles of 0..15].
inline __m256i nibbles32(const uint8_t* qs) {
    const __m128i t = load128(qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
}

// byte j = 0xFF if bit j of the little-endian u32 at p is set, else 0x00.
inline __m256i bits_to_bytes32(const uint8_t* p) {
    uint32_t x;
    std::memcpy(&x, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(static_cast<int>(x)),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i sel = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel);
}

// Q4_K / Q5_K: the 8 six-bit scales (bytes 0..7) and mins (bytes 8..15) of a super-block, built
// in registers (a vector load of bytes just stored as scalars would stall store forwarding).
inline __m128i unpack_k4_scales(const uint8_t packed[12]) {
    uint32_t u[3];
    std::memcpy(u, packed, 12);
    const uint32_t lo6 = 0x3f3f3f3fu, lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
    return _mm_set_epi32(
        static_cast<int>(((u[2] >> 4) & lo4) | (((u[1] >> 6) & lo2) << 4)),  // m 4..7
        static_cast<int>(u[1] & lo6),                                        // m 0..3
        static_cast<int>((u[2] & lo4) | (((u[0] >> 6) & lo2) << 4)),         // sc 4..7
        static_cast<int>(u[0] & lo6));                                       // sc 0..3
}

// [m0, m0, m1, m1, ..., m7, m7] as i16 (one per bsum) from unpack_k4_scales.
inline __m256i k4_mins_per_bsum(__m128i sm) {
    return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(
        sm, _mm_set_epi8(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8)));
}

// Scale k (< 8) of unpack_k4_scales in every i16 lane.
inline __m256i k4_scale_broadcast(__m128i sm, int k) {
    const __m128i w = _mm_cvtepu8_epi16(sm);  // sc0..7 as i16
    const __m128i idx = _mm_set1_epi16(static_cast<short>((2 * k + 1) << 8 | (2 * k)));
    const __m128i b = _mm_shuffle_epi8(w, idx);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(b), b, 1);
}

// Q3_K: the 16 signed scales (stored + 32) of a super-block as int8.
inline __m128i unpack_q3_k_scales(const uint8_t packed[12]) {
    uint32_t u[3];
    std::memcpy(u, packed, 12);
    const uint32_t lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
    const __m128i r =
        _mm_set_epi32(static_cast<int>(((u[1] >> 4) & lo4) | (((u[2] >> 6) & lo2) << 4)),  // 12..15
                      static_cast<int>(((u[0] >> 4) & lo4) | (((u[2] >> 4) & lo2) << 4)),  // 8..11
                      static_cast<int>((u[1] & lo4) | (((u[2] >> 2) & lo2) << 4)),         // 4..7
                      static_cast<int>((u[0] & lo4) | ((u[2] & lo2) << 4)));               // 0..3
    return _mm_sub_epi8(r, _mm_set1_epi8(32));
}

// Scales of groups (of 16 weights) 2p and 2p + 1 as i16 lanes [s_2p x 8, s_2p+1 x 8], from 16
// int8 scales.
inline __m256i pair_scales(__m128i scales_i8, int p) {
    const long long lo = 0x0101010101010101ll * (2 * p), hi = 0x0101010101010101ll * (2 * p + 1);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales_i8, _mm_set_epi64x(hi, lo)));
}

// i16 products of 32 unsigned weights with 32 activations, weighted by i16 scales, summed in
// pairs into i32 lanes.
inline __m256i scaled_dot256(__m256i u, __m256i y, __m256i scales_i16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), scales_i16);
}

}  // namespace
}  // namespace rf::cpu::RF_DOT_NS
