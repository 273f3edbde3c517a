// Mixture-of-experts feed-forward on the CPU (Backend::moe_ffn): the routing of every token on the
// host (backend/moe_routing.h), then per expert one batch of the tokens routed to it through the
// ordinary matmul and SwiGLU ops (so each expert's weights are read once per step, whatever the
// number of its tokens), and the weighted results added into each token's row in expert order.
#include <cstring>

#include "backend/cpu/cpu_ops.h"
#include "backend/moe_routing.h"
#include "core/error.h"

namespace rf::cpu {

Weight expert_matrix(const Weight& w, int64_t e) {
    RF_CHECK(e >= 0 && e < w.n_mats, "moe: expert {} of a weight with {} matrices", e, w.n_mats);
    return Weight::view(w.type, w.cols, w.rows, 1, static_cast<const uint8_t*>(w.data) + static_cast<size_t>(e) * w.mat_bytes());
}

void moe_ffn(ThreadPool& pool, Act h, Act router_logits, const MoeFfn& moe, Act out, MoeScratch& scratch) {
    check_moe_ffn(h, router_logits, moe, out);
    const Weight &gate = *moe.gate, &up = *moe.up, &down = *moe.down;
    const int64_t n_expert = gate.n_mats, T = h.rows, E = h.cols, F = gate.rows;
    const MoeAssignment a = moe_assign(moe_route(router_logits.data, T, static_cast<int>(n_expert), moe.n_used, moe.norm_topk),
                                       T, static_cast<int>(n_expert));
    std::memset(out.data, 0, static_cast<size_t>(out.size()) * sizeof(float));
    for (int64_t x = 0; x < n_expert; ++x) {
        const int32_t begin = a.offset[static_cast<size_t>(x)];
        const int64_t n = a.offset[static_cast<size_t>(x) + 1] - begin;
        if (n == 0) continue;
        scratch.h.resize(static_cast<size_t>(n * E));
        scratch.gate.resize(static_cast<size_t>(n * F));
        scratch.up.resize(static_cast<size_t>(n * F));
        scratch.down.resize(static_cast<size_t>(n * E));
        const Act hx{scratch.h.data(), n, E}, g{scratch.gate.data(), n, F}, u{scratch.up.data(), n, F},
            d{scratch.down.data(), n, E};
        for (int64_t i = 0; i < n; ++i)
            std::memcpy(hx.data + i * E, h.data + int64_t{a.token[static_cast<size_t>(begin + i)]} * E,
                        static_cast<size_t>(E) * sizeof(float));
        matmul(pool, expert_matrix(gate, x), hx, g, nullptr);
        matmul(pool, expert_matrix(up, x), hx, u, nullptr);
        swiglu(pool, g, u, g);
        matmul(pool, expert_matrix(down, x), g, d, nullptr);
        for (int64_t i = 0; i < n; ++i) {
            float* o = out.data + int64_t{a.token[static_cast<size_t>(begin + i)]} * E;
            const float* src = d.data + i * E;
            const float w = a.weight[static_cast<size_t>(begin + i)];
            for (int64_t j = 0; j < E; ++j) o[j] += w * src[j];
        }
    }
}

}  // namespace rf::cpu
