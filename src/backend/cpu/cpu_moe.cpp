// Mixture-of-experts feed-forward on the CPU (Backend::moe_ffn): the routing of every token on the
// host, then per expert one batch of the tokens routed to it through the ordinary matmul and SwiGLU
// ops (so each expert's weights are read once per step, whatever the number of its tokens), and the
// weighted results added into each token's row in expert order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"

namespace rf::cpu {

MoeRouting moe_route(const float* logits, int64_t n_tokens, int n_expert, int n_used, bool norm_topk) {
    RF_CHECK(n_expert > 0 && n_used >= 1 && n_used <= n_expert, "moe: {} experts used of {}", n_used, n_expert);
    MoeRouting r;
    r.n_used = n_used;
    r.expert.resize(static_cast<size_t>(n_tokens * n_used));
    r.weight.resize(r.expert.size());
    std::vector<int> order(static_cast<size_t>(n_expert));
    std::vector<double> e(static_cast<size_t>(n_expert));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* l = logits + t * n_expert;
        float max = -INFINITY;
        for (int i = 0; i < n_expert; ++i) {
            RF_CHECK(!std::isnan(l[i]), "moe: the router logit of expert {} for token {} is NaN", i, t);
            max = std::max(max, l[i]);
        }
        RF_CHECK(std::isfinite(max), "moe: the router logits of token {} are all -inf", t);
        double sum = 0.0;
        for (int i = 0; i < n_expert; ++i) sum += e[static_cast<size_t>(i)] = std::exp(static_cast<double>(l[i]) - max);
        std::iota(order.begin(), order.end(), 0);
        // the largest logits first (softmax keeps their order), the lower expert first on ties
        std::partial_sort(order.begin(), order.begin() + n_used, order.end(), [&](int a, int b) {
            return l[a] > l[b] || (l[a] == l[b] && a < b);
        });
        double chosen = 0.0;
        for (int k = 0; k < n_used; ++k) chosen += e[static_cast<size_t>(order[static_cast<size_t>(k)])];
        const double denom = norm_topk ? chosen : sum;
        for (int k = 0; k < n_used; ++k) {
            const int x = order[static_cast<size_t>(k)];
            r.expert[static_cast<size_t>(t * n_used + k)] = x;
            r.weight[static_cast<size_t>(t * n_used + k)] = static_cast<float>(e[static_cast<size_t>(x)] / denom);
        }
    }
    return r;
}

Weight expert_matrix(const Weight& w, int64_t e) {
    RF_CHECK(e >= 0 && e < w.n_mats, "moe: expert {} of a weight with {} matrices", e, w.n_mats);
    return Weight::view(w.type, w.cols, w.rows, 1, static_cast<const uint8_t*>(w.data) + static_cast<size_t>(e) * w.mat_bytes());
}

void moe_ffn(ThreadPool& pool, Act h, Act router_logits, const MoeFfn& moe, Act out, MoeScratch& scratch) {
    RF_CHECK(moe.gate != nullptr && moe.up != nullptr && moe.down != nullptr, "moe_ffn: missing expert weights");
    const Weight &gate = *moe.gate, &up = *moe.up, &down = *moe.down;
    const int64_t n_expert = gate.n_mats, T = h.rows, E = h.cols, F = gate.rows;
    RF_CHECK(up.n_mats == n_expert && down.n_mats == n_expert, "moe_ffn: {} / {} / {} expert matrices", n_expert,
             up.n_mats, down.n_mats);
    RF_CHECK(gate.cols == E && up.cols == E && up.rows == F && down.cols == F && down.rows == E,
             "moe_ffn: expert shapes gate [{}, {}], up [{}, {}], down [{}, {}] for rows of {}", gate.rows, gate.cols,
             up.rows, up.cols, down.rows, down.cols, E);
    RF_CHECK(router_logits.rows == T && router_logits.cols == n_expert, "moe_ffn: router logits [{}, {}] for {} tokens of {} experts",
             router_logits.rows, router_logits.cols, T, n_expert);
    RF_CHECK(out.rows == T && out.cols == E && out.data != h.data, "moe_ffn: output [{}, {}] for [{}, {}] (must not alias h)",
             out.rows, out.cols, T, E);
    const MoeRouting r = moe_route(router_logits.data, T, static_cast<int>(n_expert), moe.n_used, moe.norm_topk);

    std::memset(out.data, 0, static_cast<size_t>(out.size()) * sizeof(float));
    std::vector<int64_t>& tokens = scratch.tokens;
    std::vector<float>& weights = scratch.weights;
    for (int64_t x = 0; x < n_expert; ++x) {
        tokens.clear();
        weights.clear();
        for (int64_t t = 0; t < T; ++t)
            for (int k = 0; k < r.n_used; ++k)
                if (r.expert[static_cast<size_t>(t * r.n_used + k)] == x) {
                    tokens.push_back(t);
                    weights.push_back(r.weight[static_cast<size_t>(t * r.n_used + k)]);
                }
        const auto n = static_cast<int64_t>(tokens.size());
        if (n == 0) continue;
        scratch.h.resize(static_cast<size_t>(n * E));
        scratch.gate.resize(static_cast<size_t>(n * F));
        scratch.up.resize(static_cast<size_t>(n * F));
        scratch.down.resize(static_cast<size_t>(n * E));
        const Act hx{scratch.h.data(), n, E}, g{scratch.gate.data(), n, F}, u{scratch.up.data(), n, F},
            d{scratch.down.data(), n, E};
        for (int64_t i = 0; i < n; ++i)
            std::memcpy(hx.data + i * E, h.data + tokens[static_cast<size_t>(i)] * E, static_cast<size_t>(E) * sizeof(float));
        matmul(pool, expert_matrix(gate, x), hx, g, nullptr);
        matmul(pool, expert_matrix(up, x), hx, u, nullptr);
        swiglu(pool, g, u, g);
        matmul(pool, expert_matrix(down, x), g, d, nullptr);
        for (int64_t i = 0; i < n; ++i) {
            float* o = out.data + tokens[static_cast<size_t>(i)] * E;
            const float* src = d.data + i * E;
            const float w = weights[static_cast<size_t>(i)];
            for (int64_t j = 0; j < E; ++j) o[j] += w * src[j];
        }
    }
}

}  // namespace rf::cpu
