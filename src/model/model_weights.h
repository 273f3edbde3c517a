// The weights of a model as backend Weights, loaded from a GGUF file with every shape checked
// against the configuration ("gguf m.gguf: tensor 'blk.0.attn_q.weight' has shape [256, 128],
// expected [256, 256]"). Norm vectors are always f32 (converted on load when stored as f16/bf16).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "model/model_config.h"

namespace rf {

class GgufFile;

struct LayerWeights {
    Weight attn_norm;
    Weight wq, wk, wv, wo;   // [n_head*hd, n_embd], [n_kv*hd, n_embd], [n_kv*hd, n_embd], [n_embd, n_head*hd]
    Weight bq, bk, bv;       // qwen2 biases (optional)
    Weight q_norm, k_norm;   // qwen3 per-head RMSNorm weights [hd] (optional)
    Weight ffn_norm;
    Weight ffn_gate, ffn_up; // [n_ff, n_embd]                       (dense FFN)
    Weight ffn_down;         // [n_embd, n_ff]
    Weight ffn_gate_inp;     // [n_expert, n_embd] router            (MoE FFN)
    Weight ffn_gate_exps, ffn_up_exps;  // n_expert x [n_ff_exp, n_embd]
    Weight ffn_down_exps;    // n_expert x [n_embd, n_ff_exp]
    Weight ffn_gate_shexp, ffn_up_shexp;  // [n_ff_shexp, n_embd] shared expert (qwen35moe)
    Weight ffn_down_shexp;   // [n_embd, n_ff_shexp]
    Weight ffn_gate_inp_shexp;  // [1, n_embd]: its sigmoid gate
    // Qwen3.5 gated full attention: attn_q's rows per head are [q (hd), gate (hd)]; split at load
    Weight wq_gate;          // [n_head*hd, n_embd] the output gate's rows
    // Gated DeltaNet (linear-attention layers)
    Weight ssm_qkv, ssm_z;   // [2*n_k*d_k + n_v*d_v, n_embd], [n_v*d_v, n_embd]
    Weight ssm_alpha, ssm_beta;  // [n_v, n_embd]
    Weight ssm_a, ssm_dt_bias;   // [n_v]
    Weight ssm_conv;         // [channels, kernel] f32
    Weight ssm_norm;         // [d_v]
    Weight ssm_out;          // [n_embd, n_v*d_v]
};

struct ModelWeights {
    Weight tok_embd;         // [n_vocab, n_embd]
    Weight output_norm;
    Weight output;           // [n_vocab, n_embd]; tok_embd when the embeddings are tied
    std::vector<LayerWeights> layers;
    size_t total_bytes = 0;  // bytes of all weight tensors as stored
};

// Weight bytes one decoded token reads (the bandwidth limit's numerator): every tensor but the
// embedding table (one row of it) unless the table is also the output matrix, and of each expert
// tensor the n_expert_used of its n_expert matrices that a token's routing picks.
size_t weight_bytes_per_token(const ModelWeights& w, const ModelConfig& c);

// Loads the weights. Norm vectors converted to f32 are kept here (host), since a backend may use
// host memory in place; the GGUF mapping must outlive the store for the same reason.
class WeightStore {
public:
    WeightStore(Backend& backend, const GgufFile& gguf, const ModelConfig& config);
    WeightStore(const WeightStore&) = delete;
    WeightStore& operator=(const WeightStore&) = delete;

    const ModelWeights& weights() const { return weights_; }

private:
    Weight load(const std::string& name, std::vector<int64_t> expected_ne, bool required);
    Weight load_norm(const std::string& name, int64_t n, bool required);
    // attn_q of a gated attention (rows per head [q (hd), gate (hd)]): the q rows and the gate rows as
    // two weights (host copies kept here).
    std::pair<Weight, Weight> load_q_and_gate(const std::string& name, int64_t n_embd, int n_head, int head_dim);

    Backend& backend_;
    const GgufFile& gguf_;
    ModelWeights weights_;
    std::deque<std::vector<float>> converted_;  // stable addresses
    std::deque<std::vector<uint8_t>> row_copies_;  // split weights' rows (stable addresses)
};

}  // namespace rf
