// `rocmforge convert hf`: a Hugging Face checkpoint folder (config.json, *.safetensors,
// tokenizer.json, tokenizer_config.json) -> one GGUF file that llama.cpp loads, and that equals
// what llama.cpp's convert_hf_to_gguf.py writes for the same folder (same tensor names, order,
// shapes, types and bytes for f32/f16/bf16/q8_0; same metadata keys, order and values).
//
// Output types (--type):
//   f32, f16, bf16, q8_0   as convert_hf_to_gguf.py --outtype: every 2-D+ ".weight" tensor in
//                          that type except the ones llama.cpp keeps in f32 (1-D tensors,
//                          *_norm.weight, ffn_gate_inp / ffn_gate_inp_shexp, ssm_conv1d, names
//                          not ending in .weight); a q8_0 row that is not a multiple of 32 is f16
//   q4_0, q4_k_m, q5_k_m, q6_k, ... (every name parse_quant_file_type knows)
//                          the tensor types llama-quantize would give the f16 file
//                          (QuantMixPlanner), quantized straight from the checkpoint's values
//
// The conversion streams: tensors are produced one chunk of rows at a time from the
// memory-mapped safetensors files while the GGUF is written (to OUT.tmp, renamed at the end, so a
// failure never leaves a partial OUT). Everything is checked before the first byte is written.
#pragma once

#include <cstdint>
#include <string>

namespace rf {

struct ConvertHfOptions {
    std::string model_dir;
    std::string out_path;
    std::string type = "f16";
    // Only the tokenizer (tokenizer.json + tokenizer_config.json; config.json optional), as
    // convert_hf_to_gguf.py --vocab-only: metadata and no tensors.
    bool vocab_only = false;
    int n_threads = 0;  // <= 0: every core
};

struct ConvertHfResult {
    std::string architecture;  // GGUF general.architecture
    size_t n_tensors = 0;
    uint64_t tensor_bytes = 0;
    int64_t n_params = 0;
};

ConvertHfResult convert_hf_to_gguf(const ConvertHfOptions& options);

}  // namespace rf
