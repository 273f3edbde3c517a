// Mixture-of-experts kernels for few tokens (decode): the routing on the device, the experts'
// matrix-vector products with the expert of each slot read from device memory, and the weighted sum,
// so that a MoE layer is launched like any other op inside a step's graph (no host read-back).
// A slot is one (token, chosen expert) pair: slot s = t * k + j for token t's j-th expert.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

// Where a MoeFfn op's device scratch keeps what it computes (byte offsets), for n_tok tokens of k
// experts, rows of E and expert rows of F: the routing (ids, weights), the q8_1 of the inputs, the
// gate / up outputs per slot (gate then silu(gate) * up), their q8_1, the down outputs per slot.
struct MoeLayout {
    size_t ids = 0, weights = 0, hq = 0, hds = 0, gate = 0, up = 0, aq = 0, ads = 0, down = 0, bytes = 0;
};
inline MoeLayout moe_layout(int64_t n_tok, int k, int64_t E, int64_t F) {
    const auto slots = static_cast<size_t>(n_tok * k);
    MoeLayout m;
    size_t at = 0;
    auto take = [&](size_t bytes) {
        const size_t here = at;
        at = align_up(at + bytes, 256);
        return here;
    };
    m.ids = take(slots * 4);
    m.weights = take(slots * 4);
    m.hq = take(static_cast<size_t>(n_tok * E));
    m.hds = take(static_cast<size_t>(n_tok * (E / 32)) * 8);
    m.gate = take(slots * static_cast<size_t>(F) * 4);
    m.up = take(slots * static_cast<size_t>(F) * 4);
    m.aq = take(slots * static_cast<size_t>(F));
    m.ads = take(slots * static_cast<size_t>(F / 32) * 8);
    m.down = take(slots * static_cast<size_t>(E) * 4);
    m.bytes = at;
    return m;
}

// Experts a token may choose from, at most (the routing kernel's registers).
constexpr int kMoeMaxExperts = 1024;
constexpr int kMoeMaxUsed = 32;
// Slots (tokens x experts per token) up to which a MoE layer runs on the device; more (prompts) take
// the host-routed path, which batches each expert's tokens (gpu_moe.cpp).
constexpr int64_t kMoeDeviceMaxSlots = 64;

// Per token t of logits [n_tok, n_expert]: ids[t * k + j] its j-th expert (largest logit first, the
// lower expert first on ties: the host routing's order, backend/moe_routing.h) and weights[t * k + j]
// its softmax probability, over the k chosen ones' sum when norm_topk. NaN logits are never chosen
// while a number is left.
void launch_moe_route(Launcher& l, const float* logits, int64_t n_tok, int n_expert, int k, bool norm_topk,
                      int32_t* ids, float* weights);

// y[s, r] = row r of expert ids[s] of w . x[s / x_div] for s < n_slots, r < m.rows. w: the expert
// tensor's first matrix (qmatrix of matrix 0), the others mat_stride bytes apart; x: the q8_1 of the
// inputs (xq int8 [*, x_stride], xds [*, x_stride / 32]); y: [n_slots, ldy]. Quantized types only.
void launch_moe_matvec_q(Launcher& l, TensorType type, const QMatrix& w, size_t mat_stride, const int32_t* ids,
                         const int8_t* xq, const float2* xds, int64_t x_stride, int x_div, int64_t n_slots, float* y,
                         int64_t ldy);

// y[s, r] = silu(gate row r . x) * (up row r . x) of expert ids[s], x = x[s / x_div]: the gate and up
// launches and the SwiGLU as one, where gate and up have the same type (moe_gate_up_fused_supports).
bool moe_gate_up_fused_supports(TensorType gate, TensorType up);
void launch_moe_gate_up_q(Launcher& l, TensorType type, const QMatrix& wg, size_t stride_g, const QMatrix& wu,
                          size_t stride_u, const int32_t* ids, const int8_t* xq, const float2* xds, int64_t x_stride,
                          int x_div, int64_t n_slots, float* y, int64_t ldy);

// out[t, c] = sum_j weights[t * k + j] * d[(t * k + j) * cols + c].
void launch_moe_combine(Launcher& l, const float* d, const float* weights, int64_t n_tok, int k, int64_t cols,
                        float* out);

}  // namespace rf::gpu
