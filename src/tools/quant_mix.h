// Which type each tensor gets when a model is quantized to a file type ("q4_k_m", "q8_0", ...):
// llama.cpp's rules (src/llama-quant.cpp: tensor_allows_quantization, llama_tensor_get_type,
// tensor_type_fallback) for the types this project supports, so our files have the same mix as
// llama-quantize's. Used by `rocmforge quantize`, `convert hf --type` and the synthetic models of
// `bench`.
//
//   - quantized at all: 2-D+ tensors whose name ends in "weight", except *_norm.weight, the MoE
//     router ffn_gate_inp.weight (the shared-expert gate ffn_gate_inp_shexp.weight *is*
//     quantized), ssm_conv1d, position/token-type embeddings; so ssm_a and ssm_dt.bias (no
//     "weight" suffix) are not, ssm_alpha / ssm_beta are. Others keep their type (f32 here);
//   - the output matrix (or the tied token embedding) gets q6_K unless the file type is q8_0
//     (q8_0 when its rows are not whole blocks of the file's type);
//   - attn_v-like tensors (attn_v, the fused attn_qkv, attn_kv_b), counted in (layer, name)
//     order: q4_k_m / q5_k_m give q6_K to the "more bits" ones (the first and last eighth and
//     every third between), q4_k (= Q4_K_S) q5_K to the first four, q2_k q4_K / q3_K by GQA;
//     8-expert models get q8_0 for attn_v-like and attn_k, q5_K for attn_output (q2_k, q3_k,
//     q4_k, q4_k_m);
//   - ffn_down: q4_k_m / q5_k_m q6_K in "more bits" layers, q4_k q5_K in the first eighth,
//     q2_k q3_K; attn_output: q2_k q3_K;
//   - a tensor whose rows are not a multiple of the chosen type's block size falls back:
//     q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0, q2_K/q3_K -> q4_0, and to f16 when still not
//     whole blocks (llama.cpp refuses such a tensor for the legacy types; we write f16).
// Not modelled: importance-matrix rules, the IQ/TQ types, Falcon and 70B-specific bumps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/tensor_type.h"

namespace rf {

struct QuantFileType {
    TensorType base;              // the bulk type
    bool k_mix = false;           // the _M mixes (q4_k_m, q5_k_m)
    std::string name;             // as given: "q4_k_m", "q8_0", ...
    uint32_t gguf_file_type = 0;  // general.file_type (llama_ftype)
};

// Parses f32|f16|bf16|q4_0|q4_1|q5_0|q5_1|q8_0|q2_k|q3_k|q4_k|q5_k|q6_k|q4_k_m|q5_k_m
// (q3_k, q4_k, q5_k are llama.cpp's Q3_K_S, Q4_K_S, Q5_K_S file types); nullopt if unknown.
std::optional<QuantFileType> parse_quant_file_type(const std::string& name);

// llama.cpp's tensor_type_fallback for a row of ne0 values: t where its blocks tile the row, else
// q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0, q2_K / q3_K -> q4_0, and f16 when those do not tile it
// either (llama.cpp refuses such a tensor for the legacy types).
TensorType quant_fallback_type(TensorType t, int64_t ne0);

struct QuantTensor {
    std::string name;
    std::vector<int64_t> ne;
};

class QuantMixPlanner {
  public:
    // tensors: every tensor of the model in file order; n_expert: <arch>.expert_count (0 dense);
    // n_gqa: head_count / head_count_kv (only q2_k looks at it; 0 = unknown).
    QuantMixPlanner(const QuantFileType& type, const std::vector<QuantTensor>& tensors,
                    int n_expert, int n_gqa = 0);

    // Type for the tensor at `index` in the list given to the constructor.
    TensorType type_for(size_t index) const { return types_.at(index); }

  private:
    std::vector<TensorType> types_;
};

// Whether a tensor is quantized at all (llama.cpp's tensor_allows_quantization); the others keep
// their type.
bool tensor_is_quantizable(const std::string& name, const std::vector<int64_t>& ne);

}  // namespace rf
