// `rocmforge quantize IN.gguf OUT.gguf TYPE`: requantizes a GGUF model as llama-quantize does.
//
//   - types: QuantMixPlanner (llama.cpp's per-tensor rules for the file type); tensors it does
//     not quantize (norms, biases, the router, ssm_a, ...) keep their type and bytes;
//   - sources: f32 / f16 / bf16 tensors are converted directly; a tensor of a quantized type is
//     dequantized to f32 first (lossy twice: quantize from f16/bf16 when you have it) and the
//     result reports it (QuantizeResult::dequantized);
//   - metadata: every key is kept; general.quantization_version (2) and general.file_type are
//     then set, at the end, as llama-quantize does; the tensor order is the input's;
//   - streaming: one tensor, in chunks of rows, at a time; quantization runs on a ThreadPool;
//     the output goes to OUT.tmp and is renamed at the end.
#pragma once

#include <cstdint>
#include <string>

namespace rf {

struct QuantizeOptions {
    std::string in_path;
    std::string out_path;
    std::string type;   // q4_k_m, q8_0, f16, ... (parse_quant_file_type)
    int n_threads = 0;  // <= 0: every core
};

struct QuantizeResult {
    size_t n_tensors = 0;
    size_t n_converted = 0;    // tensors whose type changed
    size_t n_dequantized = 0;  // of those, from a quantized source type
    int64_t n_weights_converted = 0;
    uint64_t bytes_in = 0, bytes_out = 0;  // tensor data
    double seconds = 0;          // wall time of the whole write (reading, converting, writing)
    double convert_seconds = 0;  // of which converting tensors (the thread pool at work)
    int n_threads = 0;
};

QuantizeResult quantize_model(const QuantizeOptions& options);

}  // namespace rf
