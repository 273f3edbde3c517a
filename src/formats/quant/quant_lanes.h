// Vector types and helpers for the lane-parallel quantization kernels, written once with GCC/clang
// vector extensions and instantiated for 8 lanes (quant_simd_avx2.cpp) and 16 lanes
// (quant_simd_avx512.cpp). Include only from those files, after quant_fp_contract.h: everything
// here (and in the *_lanes.h headers built on it) has internal linkage, so the linker can never
// hand an AVX-compiled copy to a scalar caller.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace rf::quant {
namespace {

template <int W>
struct Lanes;

// F: W floats, I: W int32, U16 / S16: W u16 / i16.
template <>
struct Lanes<8> {
    typedef float F __attribute__((vector_size(32)));
    typedef int32_t I __attribute__((vector_size(32)));
    typedef uint16_t U16 __attribute__((vector_size(16)));
    typedef int16_t S16 __attribute__((vector_size(16)));
    static bool any(I m) { return _mm256_movemask_ps(reinterpret_cast<__m256>(m)) != 0; }
    // Truncating conversion; NaN and out-of-range lanes give INT_MIN (as cvttss2si does).
    static I trunc(F v) {
        return reinterpret_cast<I>(_mm256_cvttps_epi32(reinterpret_cast<__m256>(v)));
    }
    static F from_f16(const uint16_t* p) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        return reinterpret_cast<F>(_mm256_cvtph_ps(h));
    }
    static U16 to_f16(F v) {
        return reinterpret_cast<U16>(
            _mm256_cvtps_ph(reinterpret_cast<__m256>(v), _MM_FROUND_TO_NEAREST_INT));
    }
    // Widening loads and the truncating narrow store, as intrinsics: GCC 12 scalarises
    // __builtin_convertvector between byte and dword vectors.
    static I widen_u8(const uint8_t* p) {
        return reinterpret_cast<I>(
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
    static I widen_i8(const int8_t* p) {
        return reinterpret_cast<I>(
            _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    }
    static I widen_u16(const uint16_t* p) {
        return reinterpret_cast<I>(
            _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
    static void store_low_bytes(int8_t* p, I v) {  // byte 0 of each lane (truncation)
        const __m256i pick =
            _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8,
                             12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        const __m256i b = _mm256_shuffle_epi8(reinterpret_cast<__m256i>(v), pick);
        const __m128i lo = _mm256_castsi256_si128(b), hi = _mm256_extracti128_si256(b, 1);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_unpacklo_epi32(lo, hi));
    }
};

#if defined(__AVX512F__)
// (The maskz forms avoid GCC 12's false -Wmaybe-uninitialized on _mm512_undefined_*.)
template <>
struct Lanes<16> {
    typedef float F __attribute__((vector_size(64)));
    typedef int32_t I __attribute__((vector_size(64)));
    typedef uint16_t U16 __attribute__((vector_size(32)));
    typedef int16_t S16 __attribute__((vector_size(32)));
    static bool any(I m) { return _mm512_movepi32_mask(reinterpret_cast<__m512i>(m)) != 0; }
    static I trunc(F v) {
        return reinterpret_cast<I>(_mm512_maskz_cvttps_epi32(0xFFFF, reinterpret_cast<__m512>(v)));
    }
    static F from_f16(const uint16_t* p) {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        return reinterpret_cast<F>(_mm512_maskz_cvtph_ps(0xFFFF, h));
    }
    static U16 to_f16(F v) {
        return reinterpret_cast<U16>(
            _mm512_maskz_cvtps_ph(0xFFFF, reinterpret_cast<__m512>(v), _MM_FROUND_TO_NEAREST_INT));
    }
    static I widen_u8(const uint8_t* p) {
        return reinterpret_cast<I>(_mm512_maskz_cvtepu8_epi32(
            0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
    static I widen_i8(const int8_t* p) {
        return reinterpret_cast<I>(_mm512_maskz_cvtepi8_epi32(
            0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    }
    static I widen_u16(const uint16_t* p) {
        return reinterpret_cast<I>(_mm512_maskz_cvtepu16_epi32(
            0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
    }
    static void store_low_bytes(int8_t* p, I v) {  // vpmovdb: truncation
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                         _mm512_maskz_cvtepi32_epi8(0xFFFF, reinterpret_cast<__m512i>(v)));
    }
};
#endif

template <typename V>
inline V load_vec(const void* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename V>
inline void store_vec(void* p, V v) {
    std::memcpy(p, &v, sizeof v);
}

// nearest_int of quant_common.h, lane-wise: round to nearest even through the float mantissa.
template <int W>
inline typename Lanes<W>::I nearest_lanes(typename Lanes<W>::F v) {
    using I = typename Lanes<W>::I;
    const I bits = reinterpret_cast<I>(v + 12582912.f);
    return (bits & 0x007fffff) - 0x00400000;
}

template <int W>
inline typename Lanes<W>::I clamp_lanes(typename Lanes<W>::I v, int lo, int hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

template <int W>
inline typename Lanes<W>::F abs_lanes(typename Lanes<W>::F v) {
    using I = typename Lanes<W>::I;
    using F = typename Lanes<W>::F;
    return reinterpret_cast<F>(reinterpret_cast<I>(v) & 0x7fffffff);
}

// Widening loads of W bytes.
template <int W>
inline typename Lanes<W>::I load_u8(const uint8_t* p) {
    return Lanes<W>::widen_u8(p);
}
template <int W>
inline typename Lanes<W>::I load_i8(const int8_t* p) {
    return Lanes<W>::widen_i8(p);
}
template <int W>
inline typename Lanes<W>::F to_float(typename Lanes<W>::I v) {
    return __builtin_convertvector(v, typename Lanes<W>::F);
}

// f16 <-> f32 with F16C (round to nearest even; the same as core/half.h for every non-NaN value).
inline float f16_to_f32_f16c(uint16_t h) {
    return _cvtsh_ss(h);
}
inline uint16_t f32_to_f16_f16c(float f) {
    return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

}  // namespace
}  // namespace rf::quant
