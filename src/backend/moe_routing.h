// The host side of Backend::moe_ffn shared by the backends: the shape checks, and the routing of
// router logits to each token's experts and weights.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace rf {

// Throws rf::Error naming the mismatch: expert weights present with n_expert matrices each, gate / up
// [n_ff_exp, n_embd], down [n_embd, n_ff_exp], h and out [n, n_embd] (out not aliasing h), router
// logits [n, n_expert], 1 <= n_used <= n_expert.
void check_moe_ffn(Act h, Act router_logits, const MoeFfn& moe, Act out);

// The routing of n_tokens rows of router logits [n_tokens, n_expert]: per token its n_used experts
// (largest logit first, the lower expert first on ties) and their weights (softmax probabilities,
// over the chosen ones' sum when norm_topk). Throws on a NaN logit or a row of -inf.
struct MoeRouting {
    int n_used = 0;
    std::vector<int32_t> expert;  // [n_tokens, n_used]
    std::vector<float> weight;    // [n_tokens, n_used]
};
MoeRouting moe_route(const float* logits, int64_t n_tokens, int n_expert, int n_used, bool norm_topk);

// The tokens routed to each expert, in token order, and their weights: expert x's are entries
// [offset[x], offset[x + 1]) of token / weight.
struct MoeAssignment {
    std::vector<int32_t> offset;  // [n_expert + 1]
    std::vector<int32_t> token;   // [n_tokens * n_used]
    std::vector<float> weight;
};
MoeAssignment moe_assign(const MoeRouting& r, int64_t n_tokens, int n_expert);

}  // namespace rf
