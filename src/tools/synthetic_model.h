// Synthetic models for benchmarks: the exact tensor shapes of a real model with random but valid
// weights, written as a GGUF file into an anonymous in-memory file (memfd) and loaded through
// the normal Model path as /proc/self/fd/N. Blocks are generated directly in their stored
// layout (tools/synthetic_blocks.h), so a 7B model is built in seconds.
//
// "SHAPE:TYPE": SHAPE is one of synthetic_shapes(); TYPE a file type of
// parse_quant_file_type (f32, f16, bf16, q4_0 .. q6_k, q4_k_m, q5_k_m), the per-tensor types
// following llama.cpp's rules (tools/quant_mix.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/quant_mix.h"

namespace rf {

// The architecture of a real model (from its Hugging Face config.json).
struct SyntheticShape {
    std::string name;              // "qwen2.5-0.5b", ...
    std::string arch;              // GGUF general.architecture: qwen2 | qwen3 | qwen3moe
    int n_layer = 0;               // num_hidden_layers
    int n_embd = 0;                // hidden_size
    int n_ff = 0;                  // intermediate_size
    int n_head = 0;                // num_attention_heads
    int n_head_kv = 0;             // num_key_value_heads
    int head_dim = 0;              // head_dim (hidden_size / heads unless given)
    int n_vocab = 0;               // vocab_size
    int n_ctx_train = 0;           // max_position_embeddings
    bool tied_embeddings = false;  // tie_word_embeddings: no output.weight
    bool qkv_bias = false;         // qwen2: attn_{q,k,v}.bias
    bool qk_norm = false;          // qwen3: attn_{q,k}_norm.weight
    float rope_base = 10000.0f;    // rope_theta
    float rms_eps = 1e-6f;         // rms_norm_eps
    int n_expert = 0;              // num_experts (0: a dense feed-forward of n_ff)
    int n_expert_used = 0;         // num_experts_per_tok
    int n_ff_exp = 0;              // moe_intermediate_size
};

// qwen2.5-0.5b, qwen2.5-7b, qwen3-8b, qwen3-30b-a3b (MoE), and `tiny` / `tiny-moe` (small qwen2 /
// qwen3moe shapes for tests).
const std::vector<SyntheticShape>& synthetic_shapes();
// Throws rf::Error listing the known shapes.
const SyntheticShape& find_synthetic_shape(const std::string& name);

struct SyntheticTensor {
    std::string name;
    std::vector<int64_t> ne;  // GGUF order: ne[0] contiguous
    TensorType type;
};

// Every tensor of the shape in file order, with its type for file type `ft`.
std::vector<SyntheticTensor> synthetic_tensors(const SyntheticShape& shape,
                                               const QuantFileType& ft);

// An in-memory GGUF model. Movable; closes the memfd on destruction (a Model that mapped it
// keeps the pages).
class SyntheticModel {
  public:
    // spec: "SHAPE:TYPE". Throws rf::Error for an unknown shape or type, or when the model would
    // not fit in available memory.
    explicit SyntheticModel(const std::string& spec, uint64_t seed = 1);
    ~SyntheticModel();
    SyntheticModel(SyntheticModel&& other) noexcept;
    SyntheticModel(const SyntheticModel&) = delete;
    SyntheticModel& operator=(const SyntheticModel&) = delete;
    SyntheticModel& operator=(SyntheticModel&&) = delete;

    const std::string& path() const { return path_; }  // /proc/self/fd/N
    const SyntheticShape& shape() const { return shape_; }
    const QuantFileType& file_type() const { return type_; }
    size_t file_bytes() const { return file_bytes_; }
    std::string description() const { return shape_.name + ":" + type_.name; }

  private:
    int fd_ = -1;
    std::string path_;
    SyntheticShape shape_;
    QuantFileType type_;
    size_t file_bytes_ = 0;
};

}  // namespace rf
