// Gated DeltaNet on the GPU (Backend::gated_delta_net; the CPU's cpu_gated_delta_net.cpp is the
// reference): the causal depthwise convolution with SiLU for all tokens at once, the move of the
// convolution window, then one block per value head walking the tokens in order with the head's
// state matrix in registers (a thread per state column), and the sigmoid gate.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {

struct GdnArgs {
    const float* qkv = nullptr;     // [T, C]
    const float* z = nullptr;       // [T, NV * DV]
    const float* a = nullptr;       // [T, NV]
    const float* b = nullptr;       // [T, NV]
    const float* conv = nullptr;    // [C, K]
    const float* a_neg = nullptr;   // [NV]
    const float* dt_bias = nullptr; // [NV]
    const float* norm = nullptr;    // [DV]
    float* state = nullptr;         // [(K - 1) * C] window, then [NV, DK, DV]
    float* x = nullptr;             // scratch [T, C]: the convolution's output
    float* out = nullptr;           // [T, NV * DV]
    int64_t T = 0, C = 0;
    int K = 0, NK = 0, NV = 0, DK = 0, DV = 0;
    float eps = 1e-6f;
};

// Whether the kernels take these head sizes (DK 64 or 128, DV a multiple of 32 up to 1024).
bool gated_delta_net_supported(int d_k, int d_v);
void launch_gated_delta_net(Launcher& l, const GdnArgs& a);

// out[t, i] = x[t, i] * sigmoid(gate[t, gate_cols == 1 ? 0 : i]) for x [rows, cols] (out may alias x).
void launch_sigmoid_mul(Launcher& l, const float* x, const float* gate, int64_t gate_cols, float* out, int64_t rows,
                        int64_t cols);

}  // namespace rf::gpu
