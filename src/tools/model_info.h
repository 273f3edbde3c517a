// `rocmforge info`: what a model file holds.
//
// GGUF: metadata (arrays abbreviated, long strings such as the chat template shortened), the
// tensor table (name, type, shape in ne order, bytes, offset) and totals (parameters, tensor
// bytes, file size, bits per weight). safetensors (a file or a Hugging Face model directory): the
// tensor table (shape in PyTorch order) and totals.
//
// JSON form (GGUF):
//   {"format": "gguf", "path", "version", "alignment", "data_offset", "file_size",
//    "n_parameters", "tensor_bytes",
//    "metadata": {key: full value, ...}          (file order; arrays in full)
//    "metadata_types": {key: "u32" | "array<string>" | ...},
//    "tensors": [{"name", "type", "type_id", "shape" (ne order), "offset", "nbytes"}, ...]}
// JSON form (safetensors):
//   {"format": "safetensors", "path", "files": [...], "metadata": {...}, "n_parameters",
//    "tensor_bytes", "tensors": [{"name", "dtype", "shape" (PyTorch order), "file", "offset",
//    "nbytes"}, ...]}
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "formats/gguf/gguf_file.h"
#include "formats/safetensors/safetensors_file.h"

namespace rf {

std::string gguf_info_text(const GgufFile& f);
nlohmann::ordered_json gguf_info_json(const GgufFile& f);
std::string safetensors_info_text(const SafetensorsModel& m);
nlohmann::ordered_json safetensors_info_json(const SafetensorsModel& m);

// Opens path as GGUF (magic "GGUF" or a .gguf name) or safetensors (a .safetensors file or a
// model directory) and returns the text listing, or the JSON document (indent 2) when json is set.
std::string model_info(const std::string& path, bool json);

}  // namespace rf
