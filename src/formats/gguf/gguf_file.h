// GGUF reader (v2 and v3), memory-mapped. Byte layout (all little-endian):
//
//   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv          (v1 used u32 counts)
//   n_kv x { string key | u32 value type | value }
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset }
//   padding to general.alignment (default 32)
//   tensor data; each tensor at data_start + offset, offset a multiple of the alignment
//
// The constructor validates everything before anything is used: magic, version, counts against
// the file size, string lengths, value types, dims (>0, product fits in int64), tensor types
// (known to this build), row sizes (ne[0] a multiple of the block size), that each tensor's
// data lies inside the file, that offsets are aligned and tensors do not overlap, duplicate keys
// and tensor names. Failures throw rf::Error naming the file, the field and the value.
// Version 1 (32-bit counts, 2023) is rejected with a message saying so.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "formats/gguf/gguf_value.h"
#include "formats/tensor_type.h"

namespace rf {

// ne[0] is the innermost (contiguous) dimension, as in ggml: a PyTorch [out, in] matrix is
// stored with ne = {in, out}.
struct GgufTensorInfo {
    std::string name;
    TensorType type;
    std::vector<int64_t> ne;   // 1..4 dims
    uint64_t offset = 0;       // relative to the start of the data section
    const uint8_t* data = nullptr;
    size_t nbytes = 0;

    int64_t n_elements() const;
    int64_t n_rows() const;    // product of ne[1..]
};

class GgufFile {
public:
    // Memory-maps and parses the file at path.
    explicit GgufFile(const std::string& path);
    // Parses a GGUF image held in memory (the fuzz target, tests); `name` stands for the path in
    // error messages. Tensor data points into the owned buffer.
    GgufFile(std::vector<uint8_t> bytes, std::string name);

    GgufFile(GgufFile&&) noexcept = default;
    GgufFile& operator=(GgufFile&&) noexcept = default;
    GgufFile(const GgufFile&) = delete;
    GgufFile& operator=(const GgufFile&) = delete;

    const std::string& path() const { return path_; }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    // Start of the tensor data section (the end of the tensor infos rounded up to the alignment).
    size_t data_offset() const { return data_offset_; }
    size_t file_size() const { return size_; }
    std::span<const uint8_t> bytes() const { return {base_, size_}; }

    // Metadata in file order.
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
    const GgufValue* find(const std::string& key) const;
    bool has(const std::string& key) const { return find(key) != nullptr; }

    // Typed getters. The required form throws "gguf <path>: key '<key>' is missing" or
    // "...has type <t>, expected <u>"; integer getters accept any integer type that fits.
    std::optional<int64_t> get_int(const std::string& key) const;
    int64_t require_int(const std::string& key) const;
    std::optional<double> get_float(const std::string& key) const;
    double require_float(const std::string& key) const;
    std::optional<bool> get_bool(const std::string& key) const;
    std::optional<std::string> get_string(const std::string& key) const;
    std::string require_string(const std::string& key) const;
    const GgufArray* get_array(const std::string& key) const;
    // Arrays converted element-wise (integer arrays of any integer type; strings).
    std::optional<std::vector<int64_t>> get_int_array(const std::string& key) const;
    std::optional<std::vector<float>> get_float_array(const std::string& key) const;
    const std::vector<std::string>* get_string_array(const std::string& key) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(const std::string& name) const;
    // Throws "gguf <path>: tensor '<name>' is missing".
    const GgufTensorInfo& require_tensor(const std::string& name) const;

    // Sum of n_elements() and of nbytes over all tensors.
    int64_t n_parameters() const;
    uint64_t tensor_data_bytes() const;

private:
    void parse();
    const GgufValue& require(const std::string& key) const;
    [[noreturn]] void fail_type(const std::string& key, const GgufValue& v,
                                const char* expected) const;

    std::optional<MappedFile> map_;
    std::vector<uint8_t> owned_;
    std::string path_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    size_t data_offset_ = 0;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::map<std::string, size_t> kv_index_;
    std::vector<GgufTensorInfo> tensors_;
    std::map<std::string, size_t> tensor_index_;
};

}  // namespace rf
