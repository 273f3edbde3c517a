// A residual update left pending in a fixed-point accumulator (one-token decode, gpu_emit.cpp's
// deferred output projection): the attention combine adds each head's share of the output
// projection into acc[row] (int64, value x 2^kResAccFracBits) with integer atomics, which are
// associative, so the sum is the same whatever order the blocks finish in; the next rms_norm
// prologue reads x + acc, and the next residual epilogue into x folds acc in and zeroes it.
//
// Range: a partial of magnitude >= 2^kResAccPartialBits (or not finite) adds kResAccPoison instead;
// a sum of magnitude >= 2^(kResAccPoisonBits - 1) reads as NaN (so the host's check of the logits
// fails, never a silent wrong value). With at most kResAccMaxParts partials per row the finite sums
// stay below 2^(kResAccPartialBits + kResAccFracBits + 8) and the poison sums below 2^63.
#pragma once

#include <cstdint>

#include "backend/gpu/residual_acc.h"
#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

__device__ __forceinline__ unsigned long long res_acc_fixed(float v) {
    if (!(fabsf(v) < static_cast<float>(1 << kResAccPartialBits))) return 1ull << kResAccPoisonBits;
    return static_cast<unsigned long long>(__float2ll_rn(v * static_cast<float>(1 << kResAccFracBits)));
}

__device__ __forceinline__ float res_acc_value(long long a) {
    constexpr long long kPoison = 1ll << (kResAccPoisonBits - 1);
    if (a >= kPoison || a <= -kPoison) return __int_as_float(0x7fc00000);  // NaN
    return __ll2float_rn(a) * (1.0f / static_cast<float>(1 << kResAccFracBits));  // one rounding, then exact
}

__device__ __forceinline__ void res_acc_add(long long* acc, float v) {
    atomicAdd(reinterpret_cast<unsigned long long*>(acc), res_acc_fixed(v));
}

}  // namespace rf::gpu
