#include "backend/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace rf {

void check_moe_ffn(Act h, Act router_logits, const MoeFfn& moe, Act out) {
    RF_CHECK(moe.gate != nullptr && moe.up != nullptr && moe.down != nullptr && *moe.gate && *moe.up && *moe.down,
             "moe_ffn: missing expert weights");
    const Weight &gate = *moe.gate, &up = *moe.up, &down = *moe.down;
    const int64_t n_expert = gate.n_mats, T = h.rows, E = h.cols, F = gate.rows;
    RF_CHECK(up.n_mats == n_expert && down.n_mats == n_expert, "moe_ffn: {} / {} / {} expert matrices", n_expert,
             up.n_mats, down.n_mats);
    RF_CHECK(gate.cols == E && up.cols == E && up.rows == F && down.cols == F && down.rows == E,
             "moe_ffn: expert shapes gate [{}, {}], up [{}, {}], down [{}, {}] for rows of {}", gate.rows, gate.cols,
             up.rows, up.cols, down.rows, down.cols, E);
    RF_CHECK(router_logits.rows == T && router_logits.cols == n_expert,
             "moe_ffn: router logits [{}, {}] for {} tokens of {} experts", router_logits.rows, router_logits.cols, T,
             n_expert);
    RF_CHECK(out.rows == T && out.cols == E && out.data != h.data, "moe_ffn: output [{}, {}] for [{}, {}] (must not alias h)",
             out.rows, out.cols, T, E);
    RF_CHECK(moe.n_used >= 1 && moe.n_used <= n_expert, "moe_ffn: {} experts used of {}", moe.n_used, n_expert);
}

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
        std::partial_sort(order.begin(), order.begin() + n_used, order.end(),
                          [&](int a, int b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
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

MoeAssignment moe_assign(const MoeRouting& r, int64_t n_tokens, int n_expert) {
    MoeAssignment a;
    a.offset.assign(static_cast<size_t>(n_expert) + 1, 0);
    for (int32_t x : r.expert) ++a.offset[static_cast<size_t>(x) + 1];
    for (int x = 0; x < n_expert; ++x) a.offset[static_cast<size_t>(x) + 1] += a.offset[static_cast<size_t>(x)];
    a.token.resize(r.expert.size());
    a.weight.resize(r.expert.size());
    std::vector<int32_t> next(a.offset.begin(), a.offset.end() - 1);
    for (int64_t t = 0; t < n_tokens; ++t)
        for (int k = 0; k < r.n_used; ++k) {
            const size_t i = static_cast<size_t>(t * r.n_used + k);
            const auto slot = static_cast<size_t>(next[static_cast<size_t>(r.expert[i])]++);
            a.token[slot] = static_cast<int32_t>(t);
            a.weight[slot] = r.weight[i];
        }
    return a;
}

}  // namespace rf
