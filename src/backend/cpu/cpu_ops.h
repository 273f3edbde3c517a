// CPU implementations of the backend ops, as free functions so that tests and the GPU harness
// can call them directly. All activations are host f32 row-major; see backend.h for the
// semantics of each op. Multi-threaded on the given pool.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "core/thread_pool.h"

namespace rf::cpu {

void embed(ThreadPool& pool, const Weight& table, const int32_t* ids, Act out);
void rms_norm(ThreadPool& pool, Act x, const float* w, float eps, Act out);
void matmul(ThreadPool& pool, const Weight& w, Act x, Act y, const float* bias);
// positions: [x.rows] (one per token); x viewed as [rows, n_heads, head_dim].
void rope(ThreadPool& pool, Act x, const int32_t* positions, int n_heads, int head_dim,
          const RopeParams& p);
void kv_store(ThreadPool& pool, const KvLayerView& layer, const int32_t* slots, Act k, Act v);
void attention(ThreadPool& pool, Act q, const KvLayerView& layer, const StepPlan& plan,
               const AttentionParams& p, Act out);
void swiglu(ThreadPool& pool, Act gate, Act up, Act out);
void add(ThreadPool& pool, Act a, Act b, Act out);

// Mixture of experts (Backend::moe_ffn; the routing in backend/moe_routing.h).
// Matrix e of an expert weight (n_mats matrices) as a plain matrix.
Weight expert_matrix(const Weight& w, int64_t e);
// Buffers of moe_ffn, kept by the caller between calls.
struct MoeScratch {
    std::vector<float> h, gate, up, down;  // one expert's batch: its tokens' rows and their products
};
void moe_ffn(ThreadPool& pool, Act h, Act router_logits, const MoeFfn& moe, Act out, MoeScratch& scratch);

// Gated DeltaNet and the sigmoid gate (Backend::gated_delta_net, sigmoid_mul; cpu_gated_delta_net.cpp).
void gated_delta_net(ThreadPool& pool, Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out);
void sigmoid_mul(ThreadPool& pool, Act x, Act gate, Act out);

// Row r of w converted to f32 (any weight type).                          dst: [w.cols]
void weight_row_to_f32(const Weight& w, int64_t mat, int64_t row, float* dst);

// cos/sin of the rotation angles of one position: n_rot / 2 pairs (YaRN-corrected).
void rope_cos_sin(int32_t position, const RopeParams& p, float* cos_out, float* sin_out);

// cos/sin of every token of a step, computed once and applied to q and k of every layer.
struct RopeTable {
    RopeParams params;
    int64_t n_tokens = 0;
    std::vector<float> cos, sin;  // [n_tokens, n_rot / 2]
};
void build_rope_table(ThreadPool& pool, const int32_t* positions, int64_t n_tokens,
                      const RopeParams& p, RopeTable& table);
// In-place rotation of x [table.n_tokens, n_heads * head_dim] with the table's parameters.
void rope_apply(ThreadPool& pool, Act x, const RopeTable& table, int n_heads, int head_dim);

}  // namespace rf::cpu
