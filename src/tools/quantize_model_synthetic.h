// A synthetic Qwen2-shaped GGUF model (deterministic pseudo-random weights, roughly normal with
// std 0.02, norms near 1) for quantization speed measurements and tests: the tensors, names and
// metadata keys of a llama.cpp qwen2 conversion, no tokenizer. Written tensor by tensor.
#pragma once

#include <cstdint>
#include <string>

#include "formats/tensor_type.h"

namespace rf {

struct SyntheticModelShape {
    int64_t n_layer = 24;
    int64_t n_embd = 896;
    int64_t n_ff = 4864;
    int64_t n_head = 14;
    int64_t n_head_kv = 2;
    int64_t n_vocab = 151936;
    bool tied_embeddings = true;
};

// Qwen2.5-0.5B's shapes (494 M parameters with the tied embedding).
inline SyntheticModelShape qwen2_5_0_5b_shape() {
    return {};
}

// Writes the model with its 2-D weights in `type` (F32, F16 or BF16); 1-D tensors are f32.
void write_synthetic_model(const std::string& path, const SyntheticModelShape& shape,
                           TensorType type = TensorType::F16);

}  // namespace rf
