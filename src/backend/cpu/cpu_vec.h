// Vectorised f32 primitives for the CPU ops other than matmul (attention, norms, element-wise),
// one table per SIMD tier (cpu_features.h): scalar, avx2 (AVX2 + FMA + F16C; also used by
// avx_vnni) and avx512 (AVX-512 F/BW/VL/DQ; also used by avx512_vnni).
//
// Accuracy: sums are f32 with several partial accumulators (order differs from a serial loop);
// exp is a range-reduced polynomial within 2 ulp of std::exp for x in [-87, 88], exactly 0 below
// -87.4 (where std::exp is subnormal or 0) and finite (about 2.4e38) above 88.3.
#pragma once

#include <cstdint>

#include "backend/cpu/cpu_features.h"

namespace rf::cpu {

struct VecOps {
    // out[r] = m[r, :] . x for r < rows; m is [rows, n] row-major.
    void (*gemv)(const float* m, int64_t rows, int64_t n, const float* x, float* out);
    // acc += sum_r p[r] * m[r, :]; m is [rows, n].
    void (*axpy_rows)(const float* p, const float* m, int64_t rows, int64_t n, float* acc);
    // y *= a
    void (*scale)(float* y, float a, int64_t n);
    // x[i] = exp(x[i] - sub); returns the sum of the new x.
    float (*exp_sum)(float* x, float sub, int64_t n);
    float (*max)(const float* x, int64_t n);  // n >= 1
    float (*sum_squares)(const float* x, int64_t n);
    // out = x * s * w (out may alias x)
    void (*scale_mul)(const float* x, float s, const float* w, float* out, int64_t n);
    // out = silu(g) * u = g * u / (1 + exp(-g)) (out may alias g or u)
    void (*swiglu)(const float* g, const float* u, float* out, int64_t n);
    // out = a + b (out may alias a or b)
    void (*add)(const float* a, const float* b, float* out, int64_t n);
    void (*f16_to_f32)(const uint16_t* src, float* dst, int64_t n);
    void (*f32_to_f16)(const float* src, uint16_t* dst, int64_t n);
};

const VecOps& vec_ops(CpuIsa isa);
inline const VecOps& vec_ops() {
    return vec_ops(cpu_isa());
}

namespace scalar {
extern const VecOps kVecOps;
}
namespace avx2 {
extern const VecOps kVecOps;
}
namespace avx512bw {
extern const VecOps kVecOps;
}

}  // namespace rf::cpu
