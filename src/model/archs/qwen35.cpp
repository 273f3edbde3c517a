// Qwen3.5 / Qwen3.6 text models (qwen35, qwen35moe): every full_attention_interval-th layer a gated
// full attention (q / k RMSNorm, partial RoPE, the output times sigmoid(gate)), the others Gated DeltaNet
// linear attention with a recurrent state per sequence (KvCache::recurrent_state); the feed-forward
// a dense SwiGLU or experts plus a shared expert scaled by its sigmoid gate. Norm weights arrive with
// the zero-centred 1 + w already folded in by the converter.
#include <cmath>

#include "core/error.h"
#include "model/blocks.h"
#include "model/model.h"

namespace rf {
namespace {

void gated_attention_block(BlockContext& ctx, const LayerWeights& w, int il, Act x) {
    const ModelConfig& c = ctx.config;
    const int64_t T = x.rows;
    const int hd = c.head_dim;
    Backend& be = ctx.backend;
    Act h = ctx.ws.get(kSlotNormed, T, c.n_embd);
    Act q = ctx.ws.get(kSlotQ, T, int64_t{c.n_head} * hd);
    Act gate = ctx.ws.get(kSlotGate, T, int64_t{c.n_head} * hd);
    Act k = ctx.ws.get(kSlotK, T, int64_t{c.n_head_kv} * hd);
    Act v = ctx.ws.get(kSlotV, T, int64_t{c.n_head_kv} * hd);
    Act o = ctx.ws.get(kSlotAttnOut, T, int64_t{c.n_head} * hd);
    be.rms_norm(x, w.attn_norm, c.rms_eps, h);
    be.matmul(w.wq, h, q);
    be.matmul(w.wq_gate, h, gate);
    be.matmul(w.wk, h, k);
    be.matmul(w.wv, h, v);
    be.rms_norm(q.reshape(hd), w.q_norm, c.rms_eps, q.reshape(hd));
    be.rms_norm(k.reshape(hd), w.k_norm, c.rms_eps, k.reshape(hd));
    be.rope(q, c.n_head, hd, c.rope);
    be.rope(k, c.n_head_kv, hd, c.rope);
    const KvLayerView& layer = ctx.kv.layer(il);
    be.kv_store(layer, k, v);
    AttentionParams ap;
    ap.n_head = c.n_head;
    ap.n_kv_head = c.n_head_kv;
    ap.head_dim = hd;
    ap.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    be.attention(q, layer, ap, o);
    be.sigmoid_mul(o, gate, o);
    be.matmul(w.wo, o, h);
    be.add(x, h, x);
}

void gated_delta_net_block(BlockContext& ctx, const LayerWeights& w, int il, Act x) {
    const ModelConfig& c = ctx.config;
    const int64_t T = x.rows;
    Backend& be = ctx.backend;
    RF_CHECK(ctx.plan.seqs.size() == 1 && ctx.plan.seqs[0].kv_seq >= 0,
             "model {}: linear-attention layers run one sequence per step (this step has {})", c.arch,
             ctx.plan.seqs.size());
    GatedDeltaNet p;
    p.conv = &w.ssm_conv;
    p.a_neg = &w.ssm_a;
    p.dt_bias = &w.ssm_dt_bias;
    p.norm = &w.ssm_norm;
    p.n_k_heads = c.ssm_group_count;
    p.n_v_heads = c.ssm_time_step_rank;
    p.d_k = c.ssm_state_size;
    p.d_v = c.ssm_inner_size / c.ssm_time_step_rank;
    p.eps = c.rms_eps;
    Act h = ctx.ws.get(kSlotNormed, T, c.n_embd);
    Act qkv = ctx.ws.get(kSlotQ, T, p.channels());
    Act z = ctx.ws.get(kSlotGate, T, c.ssm_inner_size);
    Act a = ctx.ws.get(kSlotK, T, p.n_v_heads);
    Act b = ctx.ws.get(kSlotV, T, p.n_v_heads);
    Act o = ctx.ws.get(kSlotAttnOut, T, c.ssm_inner_size);
    be.rms_norm(x, w.attn_norm, c.rms_eps, h);
    be.matmul(w.ssm_qkv, h, qkv);
    be.matmul(w.ssm_z, h, z);
    be.matmul(w.ssm_alpha, h, a);
    be.matmul(w.ssm_beta, h, b);
    float* state = ctx.kv.recurrent_state(ctx.plan.seqs[0].kv_seq, il, p.state_floats());
    be.gated_delta_net(qkv, z, a, b, p, state, o);
    be.matmul(w.ssm_out, o, h);
    be.add(x, h, x);
}

// x += experts(h) + sigmoid(h . gate_shexp) * shared(h), h = rms_norm(x, post_attention_norm)
void moe_with_shared_expert_block(BlockContext& ctx, const LayerWeights& w, Act x) {
    const ModelConfig& c = ctx.config;
    const int64_t T = x.rows;
    Backend& be = ctx.backend;
    moe_ffn_block(ctx, w, x);  // (x += experts(h); h stays in kSlotNormed)
    if (!w.ffn_gate_shexp) return;
    Act h = ctx.ws.get(kSlotNormed, T, x.cols);
    Act g = ctx.ws.get(kSlotQ, T, c.n_ff_shexp);
    Act u = ctx.ws.get(kSlotK, T, c.n_ff_shexp);
    Act y = ctx.ws.get(kSlotAttnOut, T, x.cols);
    Act sg = ctx.ws.get(kSlotV, T, 1);
    be.matmul(w.ffn_gate_shexp, h, g);
    be.matmul(w.ffn_up_shexp, h, u);
    be.swiglu(g, u, g);
    be.matmul(w.ffn_down_shexp, g, y);
    be.matmul(w.ffn_gate_inp_shexp, h, sg);
    be.sigmoid_mul(y, sg, y);
    be.add(x, y, x);
}

class Qwen35 final : public Architecture {
public:
    void forward(Model& model, const StepPlan& plan, KvCache& kv, Act logits) override {
        const ModelConfig& c = model.config();
        const ModelWeights& w = model.weights();
        Backend& be = model.backend();
        BlockContext ctx{be, model.workspace(), c, plan, kv};
        be.begin_step(plan);
        Act x = ctx.ws.get(kSlotResidual, plan.n_tokens(), c.n_embd);
        be.embed(w.tok_embd, x);
        for (int il = 0; il < c.n_layer; ++il) {
            const LayerWeights& L = w.layers[static_cast<size_t>(il)];
            if (c.layer_kind(il) == LayerKind::LinearAttention) {
                gated_delta_net_block(ctx, L, il, x);
            } else {
                gated_attention_block(ctx, L, il, x);
            }
            if (c.is_moe()) {
                moe_with_shared_expert_block(ctx, L, x);
            } else {
                swiglu_ffn_block(ctx, L.ffn_norm, L.ffn_gate, L.ffn_up, L.ffn_down, x);
            }
        }
        output_block(ctx, w, x, logits);
    }
};

}  // namespace

std::unique_ptr<Architecture> make_qwen35() { return std::make_unique<Qwen35>(); }

}  // namespace rf
