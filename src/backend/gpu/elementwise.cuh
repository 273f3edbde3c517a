// Element-wise ops: SwiGLU, add, the gather of output rows, and the weighted scatter-add of rows (MoE).
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {

// out = silu(gate) * up, n values (out may alias gate or up).
void launch_swiglu(Launcher& l, const float* gate, const float* up, float* out, int64_t n);
// out = a + b, n values (out may alias a or b).
void launch_add(Launcher& l, const float* a, const float* b, float* out, int64_t n);
// y[t, r] += bias[r] for y [n_tok, cols].
void launch_add_bias(Launcher& l, float* y, const float* bias, int64_t n_tok, int64_t cols);
// out[i, :] = x[rows[i], :] for i < n_out; rows in device memory.
void launch_gather_rows(Launcher& l, const float* x, int64_t cols, const int32_t* rows, int64_t n_out, float* out);
// out[rows[i], :] += weights[i] * x[i, :] for i < n (n <= 65535); rows and weights in device memory,
// no row twice in one launch.
void launch_scatter_add_rows(Launcher& l, const float* x, int64_t cols, const int32_t* rows, const float* weights,
                             int64_t n, float* out);
// A decode step's data into the device step buffer without a copy-engine operation between two
// steps' kernels: dst[i] = src[i] for i < n, src being pinned host memory read through its device
// mapping. Tokens held on the device (the previous step's argmax results): with device_tokens, a
// staged token -1 - r among the first n_tokens ints becomes device_tokens[r * token_stride] (a token
// field of an array of results, token_stride ints apart).
void launch_step_upload(Launcher& l, int32_t* dst, const int32_t* src_mapped, int64_t n, const int32_t* device_tokens,
                        int32_t token_stride, int64_t n_tokens);

}  // namespace rf::gpu
