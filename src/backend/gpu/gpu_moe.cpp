// Mixture-of-experts feed-forward on the GPU (Backend::moe_ffn), two ways:
// - few tokens (decode; quantized experts): one recorded op (OpKind::MoeFfn) whose launches route on
//   the device and run each slot's expert matvecs with the expert read from device memory (moe.cuh),
//   so the step stays one graph with no host read-back;
// - many tokens (prompts) or float experts: the router logits come to the host (one synchronisation
//   per MoE layer), which routes them (backend/moe_routing.h, the CPU backend's routing bit for bit);
//   each expert's tokens are gathered into one batch on the device, go through the backend's own
//   matmul (the expert's matrix as a plain weight: every weight type, the one-token matvec or the
//   many-token path by the batch's size) and SwiGLU ops, and are added with their weights into the
//   output rows, experts in order as on the CPU.
#include <algorithm>
#include <cstring>

#include "backend/gpu/elementwise.cuh"
#include "backend/gpu/gpu_backend_impl.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/gpu/matvec.cuh"
#include "backend/gpu/moe.cuh"
#include "backend/gpu/norm_quant.cuh"
#include "backend/moe_routing.h"
#include "core/env_switch.h"

namespace rf::gpu {

namespace {

// Matrix e of an expert weight as a plain matrix (load_weight keeps the n_mats matrices mat_stride apart).
Weight expert_view(const Weight& w, int64_t e) {
    const size_t stride = matrix_layout(w.type, w.rows, w.cols).mat_stride;
    return Weight::view(w.type, w.cols, w.rows, 1, static_cast<const uint8_t*>(w.data) + static_cast<size_t>(e) * stride);
}

}  // namespace

void GpuBackendImpl::emit_moe_ffn(Launcher& l, const Op& op) const {
    const int64_t T = op.a.rows, E = op.a.cols, X = op.w.n_mats, F = op.w.rows;
    const int k = op.moe_k;
    const MoeLayout lay = moe_layout(T, k, E, F);
    auto* base = static_cast<uint8_t*>(moe_dev_.ptr);
    auto* ids = reinterpret_cast<int32_t*>(base + lay.ids);
    auto* weights = reinterpret_cast<float*>(base + lay.weights);
    auto* hq = reinterpret_cast<int8_t*>(base + lay.hq);
    auto* hds = reinterpret_cast<float2*>(base + lay.hds);
    auto* gate = reinterpret_cast<float*>(base + lay.gate);
    auto* up = reinterpret_cast<float*>(base + lay.up);
    auto* aq = reinterpret_cast<int8_t*>(base + lay.aq);
    auto* ads = reinterpret_cast<float2*>(base + lay.ads);
    auto* down = reinterpret_cast<float*>(base + lay.down);
    const int64_t slots = T * k;
    auto stride = [](const Weight& w) { return matrix_layout(w.type, w.rows, w.cols).mat_stride; };
    launch_moe_route(l, op.b.data, T, static_cast<int>(X), k, op.moe_norm, ids, weights);
    launch_quantize_q8_1(l, op.a.data, T, E, hq, hds);
    const QMatrix wg = qmatrix(op.w.type, op.w.data, F, E), wu = qmatrix(op.w2.type, op.w2.data, F, E);
    if (moe_gate_up_fused_supports(op.w.type, op.w2.type) && switches_.moe_fused_gate_up) {
        launch_moe_gate_up_q(l, op.w.type, wg, stride(op.w), wu, stride(op.w2), ids, hq, hds, E, k, slots, gate, F);
    } else {
        launch_moe_matvec_q(l, op.w.type, wg, stride(op.w), ids, hq, hds, E, k, slots, gate, F);
        launch_moe_matvec_q(l, op.w2.type, wu, stride(op.w2), ids, hq, hds, E, k, slots, up, F);
        launch_swiglu(l, gate, up, gate, slots * F);
    }
    launch_quantize_q8_1(l, gate, slots, F, aq, ads);
    launch_moe_matvec_q(l, op.w3.type, qmatrix(op.w3.type, op.w3.data, E, F), stride(op.w3), ids, aq, ads, F, 1, slots, down, E);
    launch_moe_combine(l, down, weights, T, k, E, op.c.data);
}

void GpuBackendImpl::moe_ffn(Act h, Act router_logits, const MoeFfn& moe, Act out) {
    check_moe_ffn(h, router_logits, moe, out);
    const int64_t X = moe.gate->n_mats, T = h.rows, E = h.cols, F = moe.gate->rows;
    // Few tokens (decode): one recorded op, routed and computed on the device inside the step's graph.
    const bool quantized = is_quantized_matvec_type(moe.gate->type) && is_quantized_matvec_type(moe.up->type) &&
                           is_quantized_matvec_type(moe.down->type);
    // RF_GPU_MOE_DEVICE=off: always the host-routed path (benchmarks, and the tests' cross-check)
    const bool device_path = env_choice("RF_GPU_MOE_DEVICE", {"off", "on"}, 1) == 1;
    if (device_path && quantized && E % 32 == 0 && F % 32 == 0 && T * moe.n_used <= kMoeDeviceMaxSlots && X <= kMoeMaxExperts &&
        moe.n_used <= kMoeMaxUsed) {  // (kMoeMaxUsed is at most a warp: the routing kernel's lanes)
        Op op;
        op.kind = OpKind::MoeFfn;
        op.a = h;
        op.b = router_logits;
        op.c = out;
        op.w = *moe.gate;
        op.w2 = *moe.up;
        op.w3 = *moe.down;
        op.moe_k = moe.n_used;
        op.moe_norm = moe.norm_topk;
        record(op);
        return;
    }
    // Many tokens: routed on the host, each expert's tokens batched.
    std::vector<float> logits(static_cast<size_t>(T * X));
    download(logits.data(), router_logits.data, logits.size() * sizeof(float));  // (flushes the step so far)
    const MoeAssignment a =
        moe_assign(moe_route(logits.data(), T, static_cast<int>(X), moe.n_used, moe.norm_topk), T, static_cast<int>(X));
    int64_t n_max = 0;
    for (int64_t x = 0; x < X; ++x)
        n_max = std::max<int64_t>(n_max, a.offset[static_cast<size_t>(x) + 1] - a.offset[static_cast<size_t>(x)]);
    // the token lists and weights of every expert in one upload: [tokens (int32) | weights (f32)]
    const size_t n_all = a.token.size();
    std::vector<uint8_t> lists(n_all * 8);
    std::memcpy(lists.data(), a.token.data(), n_all * 4);
    std::memcpy(lists.data() + n_all * 4, a.weight.data(), n_all * 4);
    ensure_scratch(moe_lists_, lists.size());
    ensure_scratch(moe_rows_, static_cast<size_t>(n_max * (2 * E + 2 * F)) * sizeof(float));
    upload(moe_lists_.ptr, lists.data(), lists.size());
    const auto* tokens = static_cast<const int32_t*>(moe_lists_.ptr);
    const auto* weights = reinterpret_cast<const float*>(static_cast<const uint8_t*>(moe_lists_.ptr) + n_all * 4);
    float* hx = static_cast<float*>(moe_rows_.ptr);  // [n, E] the expert's tokens' rows
    float* g = hx + n_max * E;                        // [n, F] gate, then silu(gate) * up
    float* u = g + n_max * F;                         // [n, F] up
    float* d = u + n_max * F;                         // [n, E] down
    fill_zero(out.data, static_cast<size_t>(out.size()) * sizeof(float));
    for (int64_t x = 0; x < X; ++x) {
        const int32_t begin = a.offset[static_cast<size_t>(x)];
        const int64_t n = a.offset[static_cast<size_t>(x) + 1] - begin;
        if (n == 0) continue;
        flush();  // (the ops recorded before come first on the stream)
        {
            Launcher l(Launcher::Mode::Launch, stream_, false);
            launch_gather_rows(l, h.data, E, tokens + begin, n, hx);
        }
        matmul(expert_view(*moe.gate, x), {hx, n, E}, {g, n, F}, nullptr);
        matmul(expert_view(*moe.up, x), {hx, n, E}, {u, n, F}, nullptr);
        swiglu({g, n, F}, {u, n, F}, {g, n, F});
        matmul(expert_view(*moe.down, x), {g, n, F}, {d, n, E}, nullptr);
        flush();
        Launcher l(Launcher::Mode::Launch, stream_, false);
        launch_scatter_add_rows(l, d, E, tokens + begin, weights + begin, n, out.data);
    }
}

}  // namespace rf::gpu
