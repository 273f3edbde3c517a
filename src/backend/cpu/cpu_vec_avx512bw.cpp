// VecOps of the avx512 tiers (AVX-512 F/BW/VL/DQ), 16 floats per register.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC bug 105593 in avx512fintrin.h
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>

namespace rf::cpu::avx512bw {
namespace {

struct V {
    using T = __m512;
    static constexpr int kWidth = 16;
    static T load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
    static T set1(float a) { return _mm512_set1_ps(a); }
    static T zero() { return _mm512_setzero_ps(); }
    static T add(T a, T b) { return _mm512_add_ps(a, b); }
    static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
    static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
    static T div(T a, T b) { return _mm512_div_ps(a, b); }
    static T min(T a, T b) { return _mm512_min_ps(a, b); }
    static T max(T a, T b) { return _mm512_max_ps(a, b); }
    static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
    static T fnmadd(T a, T b, T c) { return _mm512_fnmadd_ps(a, b, c); }
    static T round(T a) {
        return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    }
    static T pow2i(T n) {
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
    }
    static T zero_where_less(T v, T x, T lo) {
        return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GE_OQ), v);
    }
    static float reduce_add(T v) { return _mm512_reduce_add_ps(v); }
    static float reduce_max(T v) { return _mm512_reduce_max_ps(v); }
    static T load_f16(const uint16_t* p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static void store_f16(uint16_t* p, T v) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                            _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    }
};

}  // namespace
}  // namespace rf::cpu::avx512bw

#define RF_VEC_NS avx512bw
#include "backend/cpu/cpu_vec_x86.h"
