// Hyper-parameters of a model, read from GGUF metadata keys "<arch>.<name>" (llama.cpp names).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace rf {

class GgufFile;

enum class LayerKind { Attention, LinearAttention };

struct ModelConfig {
    std::string arch;              // general.architecture: llama, qwen2, qwen3, qwen3moe, qwen35, qwen35moe
    std::string name;              // general.name (may be empty)
    int n_layer = 0;               // <arch>.block_count
    int n_embd = 0;                // <arch>.embedding_length
    int n_ff = 0;                  // <arch>.feed_forward_length (dense FFN)
    int n_head = 0;                // <arch>.attention.head_count
    int n_head_kv = 0;             // <arch>.attention.head_count_kv
    int head_dim = 0;              // <arch>.attention.key_length (default n_embd / n_head)
    int head_dim_v = 0;            // <arch>.attention.value_length
    int n_vocab = 0;               // rows of token_embd
    int n_ctx_train = 0;           // <arch>.context_length
    float rms_eps = 1e-6f;         // <arch>.attention.layer_norm_rms_epsilon
    RopeParams rope;               // <arch>.rope.* (freq_base, dimension_count, scaling.*)
    int pooling_type = -1;         // <arch>.pooling_type (embedding models, llama.cpp's numbering:
                                   // 0 none, 1 mean, 2 cls, 3 last, 4 rank); -1: absent

    // Mixture of experts (0 when dense).
    int n_expert = 0;              // <arch>.expert_count
    int n_expert_used = 0;         // <arch>.expert_used_count
    int n_ff_exp = 0;              // <arch>.expert_feed_forward_length
    int n_ff_shexp = 0;            // <arch>.expert_shared_feed_forward_length
    bool expert_weights_norm = true;  // <arch>.expert_weights_norm (qwen3moe normalises top-k)

    // Gated DeltaNet (qwen35*): linear-attention layers.
    int full_attention_interval = 0;  // <arch>.full_attention_interval: every n-th layer is full attention
    int ssm_conv_kernel = 0;          // <arch>.ssm.conv_kernel
    int ssm_state_size = 0;           // <arch>.ssm.state_size (= key head dim)
    int ssm_group_count = 0;          // <arch>.ssm.group_count (= key heads)
    int ssm_time_step_rank = 0;       // <arch>.ssm.time_step_rank (= value heads)
    int ssm_inner_size = 0;           // <arch>.ssm.inner_size (= value heads * value head dim)
    std::vector<LayerKind> layer_kinds;

    bool is_moe() const { return n_expert > 0; }
    LayerKind layer_kind(int il) const { return layer_kinds.empty() ? LayerKind::Attention : layer_kinds[static_cast<size_t>(il)]; }
    int n_attention_layers() const;
    // Floats of one sequence's recurrent state over all linear-attention layers (each: the convolution's
    // last ssm_conv_kernel - 1 inputs of its 2 * group_count * state_size + inner_size channels, and
    // time_step_rank state matrices of state_size x inner_size / time_step_rank); 0 without such layers.
    size_t recurrent_state_floats() const;
};

// Reads and validates the configuration (throws rf::Error naming the key and value).
ModelConfig read_model_config(const GgufFile& gguf);

}  // namespace rf
