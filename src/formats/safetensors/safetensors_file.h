// safetensors reader: one file, or a sharded checkpoint through model.safetensors.index.json.
//
// File layout: u64 header length N (little-endian) | N bytes of JSON header | data.
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section) plus an optional "__metadata__" object of strings.
// Validation: N fits in the file, the JSON parses, each dtype is known, shape product times
// element size equals end - begin, offsets lie inside the data section.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace rf {

enum class SafetensorsDType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

struct SafetensorsTensor {
    std::string name;
    SafetensorsDType dtype;
    std::vector<int64_t> shape;  // PyTorch order: shape[0] is the outermost dimension
    const uint8_t* data = nullptr;
    size_t nbytes = 0;
    std::string file;            // shard it lives in

    int64_t n_elements() const;
    // Elements converted to float32 (F32, F16, BF16; other dtypes throw).
    std::vector<float> to_f32() const;
};

// Parses a safetensors header from raw bytes (the fuzz target calls this directly).
// `what` names the source in error messages.
std::vector<SafetensorsTensor> parse_safetensors(const uint8_t* data, size_t size,
                                                 const std::string& what);

class SafetensorsModel {
public:
    // path: a .safetensors file, or a directory with model.safetensors or
    // model.safetensors.index.json.
    explicit SafetensorsModel(const std::string& path);

    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    const SafetensorsTensor* find(const std::string& name) const;
    const SafetensorsTensor& require(const std::string& name) const;

private:
    std::vector<std::unique_ptr<MappedFile>> maps_;
    std::vector<SafetensorsTensor> tensors_;
    std::map<std::string, size_t> index_;
};

}  // namespace rf
