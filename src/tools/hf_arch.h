// The Hugging Face architectures `rocmforge convert hf` reads, their GGUF names, and the
// hyper-parameters (config.json -> GGUF keys), written as llama.cpp's convert_hf_to_gguf.py
// writes them so files move both ways:
//
//   HF class (config.json architectures[0])   GGUF arch   blocks
//   Qwen2ForCausalLM                           qwen2       attention (q/k/v bias) + MLP
//   Qwen3ForCausalLM                           qwen3       attention (q/k RMSNorm) + MLP
//   Qwen3MoeForCausalLM                        qwen3moe    attention (q/k RMSNorm) + routed experts
//   Qwen3_5ForCausalLM (qwen3_5_text)          qwen35      Gated DeltaNet / gated attention + MLP
//   Qwen3_5MoeForCausalLM (qwen3_5_moe_text)   qwen35moe   Gated DeltaNet / gated attention +
//                                                          routed experts + shared expert
//
// Qwen3.5's multi-token-prediction block (mtp.*) is not converted (llama.cpp's --no-mtp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rf {

class GgufWriter;
class HfConfig;

struct HfArchitecture {
    const char* hf_class;   // "Qwen3ForCausalLM"
    const char* gguf_arch;  // "qwen3"
    bool qkv_bias;          // attention q/k/v projections have biases (Qwen2)
    bool qk_norm;           // per-head RMSNorm of q and k (Qwen3, Qwen3.5)
    bool moe;               // routed experts: mlp.gate + mlp.experts.*
    bool shared_expert;     // mlp.shared_expert.* + mlp.shared_expert_gate (Qwen3.5 MoE)
    bool hybrid;            // Gated DeltaNet layers between gated full-attention layers
    // Qwen3.5 stores its RMSNorm weights as w for a forward pass x * (1 + w): the converter
    // writes 1 + w (every *norm.weight except the Gated DeltaNet output norm linear_attn.norm,
    // which multiplies by w itself), so the runtime norm is the plain x * w.
    bool zero_centered_norms;
};

// The entry for config.json's architectures[0], or nullptr.
const HfArchitecture* find_hf_architecture(std::string_view hf_class);
// "Qwen2ForCausalLM, Qwen3ForCausalLM, ..." for error messages.
std::string supported_hf_architectures();

// The numbers the tensor shapes depend on, read from config.json and checked (positive,
// divisible where the model needs it).
struct HfHparams {
    int64_t n_layer = 0;           // num_hidden_layers
    int64_t n_embd = 0;            // hidden_size
    int64_t n_vocab = 0;           // vocab_size
    int64_t n_head = 0;            // num_attention_heads
    int64_t n_head_kv = 0;         // num_key_value_heads (default n_head)
    int64_t head_dim = 0;          // head_dim (default n_embd / n_head)
    int64_t n_ff = 0;              // intermediate_size (dense MLP; 0 when absent)
    bool tied_embeddings = false;  // tie_word_embeddings: no lm_head.weight
    // MoE
    int64_t n_expert = 0;       // num_local_experts | num_experts
    int64_t n_expert_used = 0;  // num_experts_per_tok
    int64_t n_ff_expert = 0;    // moe_intermediate_size
    int64_t n_ff_shexp = 0;     // shared_expert_intermediate_size
    // Gated DeltaNet (qwen35*)
    int64_t ssm_n_k_heads = 0;          // linear_num_key_heads
    int64_t ssm_n_v_heads = 0;          // linear_num_value_heads
    int64_t ssm_k_head_dim = 0;         // linear_key_head_dim
    int64_t ssm_v_head_dim = 0;         // linear_value_head_dim
    int64_t ssm_conv_kernel = 0;        // linear_conv_kernel_dim
    std::vector<bool> layer_is_linear;  // [n_layer] Gated DeltaNet (true) or full attention
    bool attn_output_gate = false;      // q_proj also yields the output gate (qwen35*)

    int64_t ssm_conv_channels() const {  // q, k and v channels of the short convolution
        return 2 * ssm_n_k_heads * ssm_k_head_dim + ssm_n_v_heads * ssm_v_head_dim;
    }
};

HfHparams read_hf_hparams(const HfConfig& config, const HfArchitecture& arch);

// Writes the <arch>.* keys and general.file_type in llama.cpp's order (TextModel, then the MoE
// keys, then the Gated DeltaNet keys, then rope.dimension_sections).
void write_gguf_hparams(const HfConfig& config, const HfArchitecture& arch, const HfHparams& hp,
                        uint32_t file_type, GgufWriter& writer);

// qwen35 / qwen35moe specifics (hf_arch_qwen35.cpp).
void read_qwen35_hparams(const HfConfig& config, HfHparams& hp);
void write_qwen35_hparams(const HfConfig& config, const HfArchitecture& arch, const HfHparams& hp,
                          GgufWriter& writer);

}  // namespace rf
