// safetensors reader: one file, or a sharded checkpoint through model.safetensors.index.json.
//
// File layout: u64 header length N (little-endian) | N bytes of JSON header | data.
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data section) plus an optional "__metadata__" object of strings.
// Validation: N fits in the file (and is at most 100 MB), the JSON parses and is an object, no
// name appears twice, each dtype is known, shape entries are non-negative integers whose product
// times the element size equals end - begin (no overflow), offsets lie inside the data section,
// tensors do not overlap, and __metadata__ maps strings to strings.
// A sharded checkpoint's index.json maps each tensor to a shard file in the same directory; every
// tensor it names must exist in that shard and every tensor of a shard must be in the index.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace rf {

enum class SafetensorsDType {
    F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL, U16, U32, U64, F8_E4M3, F8_E5M2,
};

// "F32", "BF16", ... as written in the header.
const char* safetensors_dtype_name(SafetensorsDType t);
// Bytes per element.
size_t safetensors_dtype_size(SafetensorsDType t);

struct SafetensorsTensor {
    std::string name;
    SafetensorsDType dtype;
    std::vector<int64_t> shape;  // PyTorch order: shape[0] is the outermost dimension
    const uint8_t* data = nullptr;
    size_t nbytes = 0;
    uint64_t offset = 0;         // data_offsets[0]: relative to the start of the data section
    std::string file;            // shard it lives in

    int64_t n_elements() const;
    // Elements converted to float32 (F32, F16, BF16; other dtypes throw).
    std::vector<float> to_f32() const;
};

// Parses a safetensors header from raw bytes (the fuzz target calls this directly).
// `what` names the source in error messages and becomes SafetensorsTensor::file. Tensors come in
// data order (by offset). metadata, when given, receives __metadata__.
std::vector<SafetensorsTensor> parse_safetensors(const uint8_t* data, size_t size,
                                                 const std::string& what,
                                                 std::map<std::string, std::string>* metadata = nullptr);

class SafetensorsModel {
public:
    // path: a .safetensors file, or a directory with model.safetensors or
    // model.safetensors.index.json.
    explicit SafetensorsModel(const std::string& path);

    // Shard after shard (file name order), each in data order.
    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    // The files read (one, or every shard).
    std::vector<std::string> files() const;
    // __metadata__ of the first file.
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const SafetensorsTensor* find(const std::string& name) const;
    // Throws "safetensors <path>: tensor '<name>' is missing".
    const SafetensorsTensor& require(const std::string& name) const;
    const std::string& path() const { return path_; }

private:
    std::vector<std::unique_ptr<MappedFile>> maps_;
    std::vector<SafetensorsTensor> tensors_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> metadata_;
    std::string path_;
};

}  // namespace rf
