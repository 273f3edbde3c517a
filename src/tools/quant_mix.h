// Which type each tensor gets when a model is quantized to a file type ("q4_k_m", "q8_0", ...):
// llama.cpp's rules (llama_tensor_get_type) for the types this project supports, so our files
// have the same mix as theirs. Used by `rocmforge quantize`, `convert hf --type` and the
// synthetic models of `bench`.
//
//   - 1-D tensors, norms, the MoE router (ffn_gate_inp*), ssm_conv1d / ssm_a / ssm_dt stay f32;
//   - the output matrix (or the tied token embedding) gets q6_K unless the file type is q8_0;
//   - q4_k_m / q5_k_m: attn_v and ffn_down of "more bits" layers get q6_K (the first and last
//     eighth of the layers and every third layer between), attn_qkv (fused) gets q5_K / q6_K;
//     8-expert models get q8_0 for attn_v / attn_k and q5_K for attn_output (q4_k_m);
//   - a tensor whose rows are not a multiple of the chosen type's block size falls back:
//     q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0, q2_K/q3_K -> q4_0 (llama.cpp uses iq4_nl, which
//     this project does not support), legacy 32-blocks -> f16.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/tensor_type.h"

namespace rf {

struct QuantFileType {
    TensorType base;      // the bulk type
    bool k_mix = false;   // the _M mixes (q4_k_m, q5_k_m)
    std::string name;     // as given: "q4_k_m", "q8_0", ...
    uint32_t gguf_file_type = 0;  // general.file_type (llama_ftype)
};

// Parses f32|f16|bf16|q4_0|q4_1|q5_0|q5_1|q8_0|q2_k|q3_k|q4_k|q5_k|q6_k|q4_k_m|q5_k_m
// (q4_k = q4_k_s-like pure bulk type); nullopt if unknown.
std::optional<QuantFileType> parse_quant_file_type(const std::string& name);

struct QuantTensor {
    std::string name;
    std::vector<int64_t> ne;
};

class QuantMixPlanner {
public:
    // tensors: every tensor of the model in file order; n_expert: <arch>.expert_count (0 dense).
    QuantMixPlanner(const QuantFileType& type, const std::vector<QuantTensor>& tensors, int n_expert);

    // Type for the tensor at `index` in the list given to the constructor.
    TensorType type_for(size_t index) const { return types_.at(index); }

private:
    std::vector<TensorType> types_;
};

// Whether a tensor is quantized at all (vs kept as f32/f16 by its nature).
bool tensor_is_quantizable(const std::string& name, const std::vector<int64_t>& ne);

}  // namespace rf
