// Portable VecOps (cpu_vec.h): the fallback without AVX2.
#include <algorithm>
#include <cmath>

#include "backend/cpu/cpu_vec.h"
#include "core/half.h"

namespace rf::cpu::scalar {
namespace {

void gemv(const float* m, int64_t rows, int64_t n, const float* x, float* out) {
    for (int64_t r = 0; r < rows; ++r) {
        float acc[4] = {};
        int64_t i = 0;
        for (; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; ++k) acc[k] += m[r * n + i + k] * x[i + k];
        float s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; i < n; ++i) s += m[r * n + i] * x[i];
        out[r] = s;
    }
}

void axpy_rows(const float* p, const float* m, int64_t rows, int64_t n, float* acc) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < n; ++i) acc[i] += p[r] * m[r * n + i];
}

void scale(float* y, float a, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] *= a;
}

// exp with the range of the SIMD tiers: 0 below -87.4, exp(88.3) above 88.3.
float clamped_exp(float x) {
    return x < -87.4f ? 0.0f : std::exp(std::min(x, 88.3f));
}

float exp_sum(float* x, float sub, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += (x[i] = clamped_exp(x[i] - sub));
    return s;
}

float max(const float* x, int64_t n) {
    return *std::max_element(x, x + n);
}

float sum_squares(const float* x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
    return static_cast<float>(s);
}

void scale_mul(const float* x, float s, const float* w, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s * w[i];
}

void swiglu(const float* g, const float* u, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = g[i] * u[i] / (1.0f + clamped_exp(-g[i]));
}

void add(const float* a, const float* b, float* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

}  // namespace

const VecOps kVecOps = {gemv,      axpy_rows, scale, exp_sum,        max,           sum_squares,
                        scale_mul, swiglu,    add,   f16_to_f32_row, f32_to_f16_row};

}  // namespace rf::cpu::scalar
