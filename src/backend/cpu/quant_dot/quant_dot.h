// Dot products of weight rows with activation rows, on the weights' own blocks (no dequantized
// copy of the weights). Before a matmul the activations are converted once into the format the
// weight type's kernel wants (as llama.cpp's CPU backend does):
//
//   weights             activations (act_format.h)       what is exact
//   Q4_0, Q5_0, Q8_0    Q8_0 (32 per block)              integer block sums; f32 scales
//   Q4_1, Q5_1          Q8_1 (with d*sum(q))             likewise
//                       (avx512_vnni: the same Q8_0 values regrouped, q8_x4_*)
//   Q2_K .. Q6_K        Q8_K (with bsums)                integer sub-block sums; f32 scales
//   F32, F16            F32                              f32 products and sums
//   BF16                BF16 on avx512_vnni (vdpbf16ps), F32 elsewhere
//
// A kernel computes, for nt activation rows (1 <= nt <= kDotMaxTokens),
//     out[j * out_stride] = sum_i w[i] * a_j[i]          j < nt
// reading each weight block once for all nt rows (the prefill micro-kernel; nt = 1 is the
// decode path). n is the row length, a multiple of the weight type's block size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant_dot/act_format.h"
#include "formats/tensor_type.h"

namespace rf::cpu {

constexpr int kDotMaxTokens = 4;

// w: one weight row; act: activation rows act_stride bytes apart.
using DotRowsFn = void (*)(int64_t n, const void* w, const void* act, size_t act_stride, int nt,
                           float* out, size_t out_stride);

struct DotKernel {
    ActFormat act = ActFormat::f32;  // activation format
    DotRowsFn dot = nullptr;         // nullptr: no kernel for this weight type
};

// The kernel for weight type `w` on tier `isa` (which must be supported). Types without a dot
// product (integers, F64, Q8_1 / Q8_K as weights) get {f32, nullptr}.
DotKernel dot_kernel(TensorType w, CpuIsa isa);
inline DotKernel dot_kernel(TensorType w) {
    return dot_kernel(w, cpu_isa());
}

// Per-tier kernel tables (quant_dot_<tier>.cpp); same contract as dot_kernel.
namespace scalar {
DotKernel dot_kernel(TensorType w);
}
namespace avx2 {
DotKernel dot_kernel(TensorType w);
}
namespace avxvnni {
DotKernel dot_kernel(TensorType w);
}
namespace avx512bw {
DotKernel dot_kernel(TensorType w);
}
namespace avx512vnni {
DotKernel dot_kernel(TensorType w);
}

}  // namespace rf::cpu
