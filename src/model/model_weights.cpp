#include "model/model_weights.h"

#include <fmt/ranges.h>

#include <cstring>
#include <tuple>

#include "core/error.h"
#include "core/half.h"
#include "formats/gguf/gguf_file.h"
#include "formats/tensor_type.h"
#include "model/tensor_names.h"

namespace rf {
namespace tn = tensor_names;

WeightStore::WeightStore(Backend& backend, const GgufFile& gguf, const ModelConfig& c)
    : backend_(backend), gguf_(gguf) {
    const int64_t E = c.n_embd, Q = int64_t{c.n_head} * c.head_dim, KV = int64_t{c.n_head_kv} * c.head_dim,
                  V = int64_t{c.n_head_kv} * c.head_dim_v, O = int64_t{c.n_head} * c.head_dim_v;
    const auto* embd = gguf.find_tensor(tn::kTokenEmbd);
    RF_CHECK(embd != nullptr, "gguf {}: tensor '{}' is missing", gguf.path(), tn::kTokenEmbd);
    RF_CHECK(embd->ne.size() == 2, "gguf {}: tensor '{}' has {} dims, expected 2", gguf.path(), tn::kTokenEmbd,
             embd->ne.size());
    const int64_t n_vocab = embd->ne[1];
    weights_.tok_embd = load(tn::kTokenEmbd, {E, n_vocab}, true);
    weights_.output_norm = load_norm(tn::kOutputNorm, E, true);
    weights_.output = load(tn::kOutput, {E, n_vocab}, false);
    if (!weights_.output) weights_.output = weights_.tok_embd;  // tied embeddings

    const bool hybrid = c.arch == "qwen35" || c.arch == "qwen35moe";
    weights_.layers.resize(static_cast<size_t>(c.n_layer));
    for (int il = 0; il < c.n_layer; ++il) {
        LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
        L.attn_norm = load_norm(tn::layer(il, tn::kAttnNorm), E, true);
        if (c.layer_kind(il) == LayerKind::LinearAttention) {
            const int64_t NK = c.ssm_group_count, NV = c.ssm_time_step_rank, DK = c.ssm_state_size,
                          VD = c.ssm_inner_size, CH = 2 * NK * DK + VD;
            L.ssm_qkv = load(tn::layer(il, tn::kAttnQkv), {E, CH}, true);
            L.ssm_z = load(tn::layer(il, tn::kAttnGate), {E, VD}, true);
            L.ssm_alpha = load(tn::layer(il, tn::kSsmAlpha), {E, NV}, true);
            L.ssm_beta = load(tn::layer(il, tn::kSsmBeta), {E, NV}, true);
            L.ssm_a = load_norm(tn::layer(il, tn::kSsmA), NV, true);
            L.ssm_dt_bias = load_norm(tn::layer(il, tn::kSsmDtBias), NV, true);
            L.ssm_conv = load(tn::layer(il, tn::kSsmConv1d), {c.ssm_conv_kernel, CH}, true);
            RF_CHECK(L.ssm_conv.type == TensorType::F32, "gguf {}: tensor '{}' has type {}, expected f32", gguf.path(),
                     tn::layer(il, tn::kSsmConv1d), type_name(L.ssm_conv.type));
            L.ssm_norm = load_norm(tn::layer(il, tn::kSsmNorm), VD / NV, true);
            L.ssm_out = load(tn::layer(il, tn::kSsmOut), {VD, E}, true);
        } else {
            if (hybrid) {
                std::tie(L.wq, L.wq_gate) = load_q_and_gate(tn::layer(il, tn::kAttnQ), E, c.n_head, c.head_dim);
            } else {
                L.wq = load(tn::layer(il, tn::kAttnQ), {E, Q}, true);
            }
            L.wk = load(tn::layer(il, tn::kAttnK), {E, KV}, true);
            L.wv = load(tn::layer(il, tn::kAttnV), {E, V}, true);
            L.wo = load(tn::layer(il, tn::kAttnOutput), {O, E}, true);
            L.bq = load_norm(tn::layer(il, tn::kAttnQBias), Q, false);
            L.bk = load_norm(tn::layer(il, tn::kAttnKBias), KV, false);
            L.bv = load_norm(tn::layer(il, tn::kAttnVBias), V, false);
            const bool qk_norm = c.arch == "qwen3" || c.arch == "qwen3moe" || hybrid;
            L.q_norm = load_norm(tn::layer(il, tn::kAttnQNorm), c.head_dim, qk_norm);
            L.k_norm = load_norm(tn::layer(il, tn::kAttnKNorm), c.head_dim, qk_norm);
        }
        L.ffn_norm = load_norm(tn::layer(il, hybrid ? tn::kPostAttnNorm : tn::kFfnNorm), E, true);
        if (c.n_ff_shexp > 0) {
            L.ffn_gate_shexp = load(tn::layer(il, tn::kFfnGateShexp), {E, c.n_ff_shexp}, true);
            L.ffn_up_shexp = load(tn::layer(il, tn::kFfnUpShexp), {E, c.n_ff_shexp}, true);
            L.ffn_down_shexp = load(tn::layer(il, tn::kFfnDownShexp), {c.n_ff_shexp, E}, true);
            L.ffn_gate_inp_shexp = load(tn::layer(il, tn::kFfnGateInpShexp), {E, 1}, true);
        }
        if (c.is_moe()) {
            const int64_t X = c.n_expert, F = c.n_ff_exp;
            L.ffn_gate_inp = load(tn::layer(il, tn::kFfnGateInp), {E, X}, true);
            L.ffn_gate_exps = load(tn::layer(il, tn::kFfnGateExps), {E, F, X}, true);
            L.ffn_up_exps = load(tn::layer(il, tn::kFfnUpExps), {E, F, X}, true);
            L.ffn_down_exps = load(tn::layer(il, tn::kFfnDownExps), {F, E, X}, true);
        } else {
            L.ffn_gate = load(tn::layer(il, tn::kFfnGate), {E, c.n_ff}, true);
            L.ffn_up = load(tn::layer(il, tn::kFfnUp), {E, c.n_ff}, true);
            L.ffn_down = load(tn::layer(il, tn::kFfnDown), {c.n_ff, E}, true);
        }
    }
}

size_t weight_bytes_per_token(const ModelWeights& w, const ModelConfig& c) {
    const bool tied = w.output.data == w.tok_embd.data;
    size_t bytes = w.total_bytes - (tied ? 0 : w.tok_embd.nbytes());
    if (c.is_moe()) {
        for (const LayerWeights& L : w.layers)
            for (const Weight* e : {&L.ffn_gate_exps, &L.ffn_up_exps, &L.ffn_down_exps})
                bytes -= e->mat_bytes() * static_cast<size_t>(e->n_mats - c.n_expert_used);
    }
    return bytes;
}

Weight WeightStore::load(const std::string& name, std::vector<int64_t> expected_ne, bool required) {
    const GgufTensorInfo* t = gguf_.find_tensor(name);
    if (t == nullptr) {
        RF_CHECK(!required, "gguf {}: tensor '{}' is missing", gguf_.path(), name);
        return {};
    }
    RF_CHECK(t->ne == expected_ne, "gguf {}: tensor '{}' has shape [{}], expected [{}]", gguf_.path(), name,
             fmt::join(t->ne, ", "), fmt::join(expected_ne, ", "));
    const int64_t rows = t->ne.size() > 1 ? t->ne[1] : 1;
    const int64_t mats = t->ne.size() > 2 ? t->ne[2] : 1;
    weights_.total_bytes += t->nbytes;
    return backend_.load_weight(t->type, t->ne[0], rows, mats, t->data);
}

std::pair<Weight, Weight> WeightStore::load_q_and_gate(const std::string& name, int64_t n_embd, int n_head, int head_dim) {
    const int64_t Q = int64_t{n_head} * head_dim;
    const GgufTensorInfo* t = gguf_.find_tensor(name);
    RF_CHECK(t != nullptr, "gguf {}: tensor '{}' is missing", gguf_.path(), name);
    RF_CHECK(t->ne == (std::vector<int64_t>{n_embd, 2 * Q}), "gguf {}: tensor '{}' has shape [{}], expected [{}, {}] "
             "(per head {} query rows and {} gate rows)", gguf_.path(), name, fmt::join(t->ne, ", "), n_embd, 2 * Q,
             head_dim, head_dim);
    weights_.total_bytes += t->nbytes;
    const size_t row = row_size(t->type, n_embd);
    std::vector<uint8_t>& q = row_copies_.emplace_back(static_cast<size_t>(Q) * row);
    std::vector<uint8_t>& g = row_copies_.emplace_back(static_cast<size_t>(Q) * row);
    const auto* src = static_cast<const uint8_t*>(t->data);
    for (int h = 0; h < n_head; ++h) {
        const size_t head_bytes = static_cast<size_t>(head_dim) * row;
        std::memcpy(q.data() + static_cast<size_t>(h) * head_bytes, src + static_cast<size_t>(2 * h) * head_bytes, head_bytes);
        std::memcpy(g.data() + static_cast<size_t>(h) * head_bytes, src + static_cast<size_t>(2 * h + 1) * head_bytes, head_bytes);
    }
    return {backend_.load_weight(t->type, n_embd, Q, 1, q.data()), backend_.load_weight(t->type, n_embd, Q, 1, g.data())};
}

Weight WeightStore::load_norm(const std::string& name, int64_t n, bool required) {
    const GgufTensorInfo* t = gguf_.find_tensor(name);
    if (t == nullptr) {
        RF_CHECK(!required, "gguf {}: tensor '{}' is missing", gguf_.path(), name);
        return {};
    }
    RF_CHECK(t->ne.size() == 1 && t->ne[0] == n, "gguf {}: tensor '{}' has shape [{}], expected [{}]",
             gguf_.path(), name, fmt::join(t->ne, ", "), n);
    weights_.total_bytes += t->nbytes;
    std::vector<float>& host = converted_.emplace_back(static_cast<size_t>(n));
    const auto* src = reinterpret_cast<const uint16_t*>(t->data);
    switch (t->type) {
        case TensorType::F32: std::memcpy(host.data(), t->data, host.size() * 4); break;
        case TensorType::F16:
            for (size_t i = 0; i < host.size(); ++i) host[i] = f16_to_f32(src[i]);
            break;
        case TensorType::BF16:
            for (size_t i = 0; i < host.size(); ++i) host[i] = bf16_to_f32(src[i]);
            break;
        default:
            fail("gguf {}: tensor '{}' has type {}, expected f32, f16 or bf16", gguf_.path(), name,
                 type_name(t->type));
    }
    return backend_.load_weight(TensorType::F32, n, 1, 1, host.data());
}

}  // namespace rf
