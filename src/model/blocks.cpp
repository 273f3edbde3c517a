#include "model/blocks.h"

#include "core/error.h"

#include <cmath>

namespace rf {

void attention_block(BlockContext& ctx, const LayerWeights& w, int il, Act x) {
    const ModelConfig& c = ctx.config;
    const int64_t T = x.rows;
    const int hd = c.head_dim;
    Backend& be = ctx.backend;

    Act h = ctx.ws.get(kSlotNormed, T, c.n_embd);
    Act q = ctx.ws.get(kSlotQ, T, int64_t{c.n_head} * hd);
    Act k = ctx.ws.get(kSlotK, T, int64_t{c.n_head_kv} * hd);
    Act v = ctx.ws.get(kSlotV, T, int64_t{c.n_head_kv} * c.head_dim_v);
    Act o = ctx.ws.get(kSlotAttnOut, T, int64_t{c.n_head} * c.head_dim_v);

    be.rms_norm(x, w.attn_norm, c.rms_eps, h);
    Act gate{};
    if (w.wq_gate) {  // a gated attention (Qwen3.5): the output times sigmoid(gate)
        gate = ctx.ws.get(kSlotGate, T, int64_t{c.n_head} * c.head_dim_v);
        be.matmul(w.wq_gate, h, gate);
    }
    be.matmul(w.wq, h, q, &w.bq);
    be.matmul(w.wk, h, k, &w.bk);
    be.matmul(w.wv, h, v, &w.bv);
    if (w.q_norm) be.rms_norm(q.reshape(hd), w.q_norm, c.rms_eps, q.reshape(hd));
    if (w.k_norm) be.rms_norm(k.reshape(hd), w.k_norm, c.rms_eps, k.reshape(hd));
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
    if (w.wq_gate) be.sigmoid_mul(o, gate, o);

    be.matmul(w.wo, o, h);
    be.add(x, h, x);
}

void swiglu_ffn_block(BlockContext& ctx, const Weight& norm, const Weight& gate, const Weight& up,
                      const Weight& down, Act x) {
    const int64_t T = x.rows;
    Backend& be = ctx.backend;
    Act h = ctx.ws.get(kSlotNormed, T, x.cols);
    Act g = ctx.ws.get(kSlotGate, T, gate.rows);
    Act u = ctx.ws.get(kSlotUp, T, up.rows);
    be.rms_norm(x, norm, ctx.config.rms_eps, h);
    be.matmul(gate, h, g);
    be.matmul(up, h, u);
    be.swiglu(g, u, g);
    be.matmul(down, g, h);
    be.add(x, h, x);
}

void moe_ffn_block(BlockContext& ctx, const LayerWeights& w, Act x) {
    const ModelConfig& c = ctx.config;
    const int64_t T = x.rows;
    Backend& be = ctx.backend;
    Act h = ctx.ws.get(kSlotNormed, T, x.cols);
    Act router = ctx.ws.get(kSlotRouter, T, c.n_expert);
    Act y = ctx.ws.get(kSlotAttnOut, T, x.cols);  // (free after the attention block)
    be.rms_norm(x, w.ffn_norm, c.rms_eps, h);
    be.matmul(w.ffn_gate_inp, h, router);
    const MoeFfn moe{&w.ffn_gate_exps, &w.ffn_up_exps, &w.ffn_down_exps, c.n_expert_used, c.expert_weights_norm};
    be.moe_ffn(h, router, moe, y);
    if (w.ffn_gate_shexp) {  // y += sigmoid(h . gate_inp_shexp) * shared(h) (Qwen3.5)
        Act g = ctx.ws.get(kSlotQ, T, c.n_ff_shexp);
        Act u = ctx.ws.get(kSlotK, T, c.n_ff_shexp);
        Act s = ctx.ws.get(kSlotOutRows, T, x.cols);
        Act sg = ctx.ws.get(kSlotV, T, 1);
        be.matmul(w.ffn_gate_shexp, h, g);
        be.matmul(w.ffn_up_shexp, h, u);
        be.swiglu(g, u, g);
        be.matmul(w.ffn_down_shexp, g, s);
        be.matmul(w.ffn_gate_inp_shexp, h, sg);
        be.sigmoid_mul(s, sg, s);
        be.add(y, s, y);
    }
    be.add(x, y, x);
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


void output_block(BlockContext& ctx, const ModelWeights& w, Act x, Act logits) {
    if (logits.rows == 0) return;
    Backend& be = ctx.backend;
    if (ctx.plan.hidden_output) {  // the normed hidden states themselves (logits: [rows, n_embd])
        be.gather_output_rows(x, logits);
        be.rms_norm(logits, w.output_norm, ctx.config.rms_eps, logits);
        return;
    }
    Act rows = ctx.ws.get(kSlotOutRows, logits.rows, x.cols);
    be.gather_output_rows(x, rows);
    be.rms_norm(rows, w.output_norm, ctx.config.rms_eps, rows);
    be.matmul(w.output, rows, logits);
}

}  // namespace rf
