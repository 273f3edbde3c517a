// VecOps (cpu_vec.h) for one x86 vector width, written once over a traits struct V (__m256 or
// __m512). Include-only from cpu_vec_avx2.cpp / cpu_vec_avx512bw.cpp, which define RF_VEC_NS and
// the traits struct `V` in that namespace before including this file. Tails (n % V::kWidth) run
// scalar code with the same formulas.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "backend/cpu/cpu_vec.h"
#include "core/half.h"

#ifndef RF_VEC_NS
#error "cpu_vec_x86.h is included only by cpu_vec_<tier>.cpp"
#endif

namespace rf::cpu::RF_VEC_NS {
namespace {

constexpr int64_t W = V::kWidth;

// exp(x): n = round(x log2 e), r = x - n ln2 (two-part ln2), exp(r) by its degree-7 Taylor
// polynomial (|r| <= 0.347: truncation below 1e-8 relative), times 2^n built in the exponent.
inline typename V::T vexp(typename V::T x) {
    const auto lo = V::set1(-87.4f), hi = V::set1(88.3f);
    const auto xc = V::min(V::max(x, lo), hi);
    const auto n = V::round(V::mul(xc, V::set1(1.44269504088896341f)));
    auto r = V::fnmadd(n, V::set1(0.693359375f), xc);
    r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
    auto p = V::set1(1.0f / 5040.0f);
    p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
    p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
    p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
    p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
    p = V::fmadd(p, r, V::set1(0.5f));
    p = V::fmadd(p, r, V::set1(1.0f));
    p = V::fmadd(p, r, V::set1(1.0f));
    return V::zero_where_less(V::mul(p, V::pow2i(n)), x, lo);
}

inline float sexp(float x) {
    return x < -87.4f ? 0.0f : std::exp(std::min(x, 88.3f));
}

void gemv(const float* m, int64_t rows, int64_t n, const float* x, float* out) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const float* m0 = m + r * n;
        auto a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
        int64_t i = 0;
        for (; i + W <= n; i += W) {
            const auto xv = V::load(x + i);
            a0 = V::fmadd(V::load(m0 + i), xv, a0);
            a1 = V::fmadd(V::load(m0 + n + i), xv, a1);
            a2 = V::fmadd(V::load(m0 + 2 * n + i), xv, a2);
            a3 = V::fmadd(V::load(m0 + 3 * n + i), xv, a3);
        }
        float s[4] = {V::reduce_add(a0), V::reduce_add(a1), V::reduce_add(a2), V::reduce_add(a3)};
        for (; i < n; ++i)
            for (int k = 0; k < 4; ++k) s[k] += m0[k * n + i] * x[i];
        for (int k = 0; k < 4; ++k) out[r + k] = s[k];
    }
    for (; r < rows; ++r) {
        const float* mr = m + r * n;
        auto a = V::zero();
        int64_t i = 0;
        for (; i + W <= n; i += W) a = V::fmadd(V::load(mr + i), V::load(x + i), a);
        float s = V::reduce_add(a);
        for (; i < n; ++i) s += mr[i] * x[i];
        out[r] = s;
    }
}

void axpy_rows(const float* p, const float* m, int64_t rows, int64_t n, float* acc) {
    int64_t i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
        auto a0 = V::load(acc + i), a1 = V::load(acc + i + W), a2 = V::load(acc + i + 2 * W),
             a3 = V::load(acc + i + 3 * W);
        for (int64_t r = 0; r < rows; ++r) {
            const auto pr = V::set1(p[r]);
            const float* mr = m + r * n + i;
            a0 = V::fmadd(pr, V::load(mr), a0);
            a1 = V::fmadd(pr, V::load(mr + W), a1);
            a2 = V::fmadd(pr, V::load(mr + 2 * W), a2);
            a3 = V::fmadd(pr, V::load(mr + 3 * W), a3);
        }
        V::store(acc + i, a0);
        V::store(acc + i + W, a1);
        V::store(acc + i + 2 * W, a2);
        V::store(acc + i + 3 * W, a3);
    }
    for (; i + W <= n; i += W) {
        auto a = V::load(acc + i);
        for (int64_t r = 0; r < rows; ++r) a = V::fmadd(V::set1(p[r]), V::load(m + r * n + i), a);
        V::store(acc + i, a);
    }
    for (; i < n; ++i)
        for (int64_t r = 0; r < rows; ++r) acc[i] += p[r] * m[r * n + i];
}

void scale(float* y, float a, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(y + i, V::mul(V::load(y + i), V::set1(a)));
    for (; i < n; ++i) y[i] *= a;
}

float exp_sum(float* x, float sub, int64_t n) {
    auto acc = V::zero();
    const auto s = V::set1(sub);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const auto e = vexp(V::sub(V::load(x + i), s));
        V::store(x + i, e);
        acc = V::add(acc, e);
    }
    float total = V::reduce_add(acc);
    for (; i < n; ++i) total += (x[i] = sexp(x[i] - sub));
    return total;
}

float max(const float* x, int64_t n) {
    int64_t i = 0;
    float m = x[0];
    if (n >= W) {
        auto a = V::load(x);
        for (i = W; i + W <= n; i += W) a = V::max(a, V::load(x + i));
        m = V::reduce_max(a);
    }
    for (; i < n; ++i) m = std::max(m, x[i]);
    return m;
}

float sum_squares(const float* x, int64_t n) {
    auto a0 = V::zero(), a1 = V::zero();
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const auto v0 = V::load(x + i), v1 = V::load(x + i + W);
        a0 = V::fmadd(v0, v0, a0);
        a1 = V::fmadd(v1, v1, a1);
    }
    for (; i + W <= n; i += W) {
        const auto v = V::load(x + i);
        a0 = V::fmadd(v, v, a0);
    }
    float s = V::reduce_add(V::add(a0, a1));
    for (; i < n; ++i) s += x[i] * x[i];
    return s;
}

void scale_mul(const float* x, float s, const float* w, float* out, int64_t n) {
    int64_t i = 0;
    const auto sv = V::set1(s);
    for (; i + W <= n; i += W)
        V::store(out + i, V::mul(V::mul(V::load(x + i), sv), V::load(w + i)));
    for (; i < n; ++i) out[i] = x[i] * s * w[i];
}

void swiglu(const float* g, const float* u, float* out, int64_t n) {
    int64_t i = 0;
    const auto one = V::set1(1.0f);
    for (; i + W <= n; i += W) {
        const auto gv = V::load(g + i);
        const auto den = V::add(one, vexp(V::sub(V::zero(), gv)));
        V::store(out + i, V::div(V::mul(gv, V::load(u + i)), den));
    }
    for (; i < n; ++i) out[i] = g[i] * u[i] / (1.0f + sexp(-g[i]));
}

void add(const float* a, const float* b, float* out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(out + i, V::add(V::load(a + i), V::load(b + i)));
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store(dst + i, V::load_f16(src + i));
    for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) V::store_f16(dst + i, V::load(src + i));
    for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

}  // namespace

const VecOps kVecOps = {gemv,      axpy_rows, scale, exp_sum,        max,           sum_squares,
                        scale_mul, swiglu,    add,   f16_to_f32_row, f32_to_f16_row};

}  // namespace rf::cpu::RF_VEC_NS
