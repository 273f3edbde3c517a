// GGUF v3 writer. Metadata and tensor infos are collected first, then write() streams the
// header and the tensor data (each tensor padded to the alignment) to a temporary file that is
// renamed into place at the end, so a failed conversion never leaves a half-written OUT.gguf.
// A non-default alignment is recorded as general.alignment (u32) automatically. Shapes, types,
// duplicate names and value types are checked when added (rf::Error), not at write time.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "formats/gguf/gguf_value.h"
#include "formats/tensor_type.h"

namespace rf {

class GgufWriter {
public:
    explicit GgufWriter(uint64_t alignment = 32);

    // Adds or replaces a key (order of first insertion is kept).
    void set(const std::string& key, GgufValue value);
    void set_u32(const std::string& key, uint32_t v);
    void set_i32(const std::string& key, int32_t v);
    void set_u64(const std::string& key, uint64_t v);
    void set_f32(const std::string& key, float v);
    void set_bool(const std::string& key, bool v);
    void set_string(const std::string& key, std::string v);
    void set_string_array(const std::string& key, std::vector<std::string> v);
    void set_i32_array(const std::string& key, std::vector<int32_t> v);
    void set_u32_array(const std::string& key, std::vector<uint32_t> v);
    void set_f32_array(const std::string& key, std::vector<float> v);
    void remove(const std::string& key);

    // A tensor whose bytes are produced at write time by fill(dst, nbytes): conversion and
    // quantization run tensor by tensor without holding the whole model in memory.
    using Filler = std::function<void(uint8_t* dst, size_t nbytes)>;
    void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne, Filler fill);
    // A tensor from bytes that stay valid until write() returns.
    void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                    const void* data, size_t nbytes);

    size_t n_tensors() const;
    // Writes the file; on_tensor(i, n) is called after each tensor (progress).
    void write(const std::string& path,
               const std::function<void(size_t, size_t)>& on_tensor = nullptr) const;
    // Writes the file to an open file descriptor at its current offset (no temporary file, no
    // rename; e.g. an in-memory memfd). `what` names the destination in errors.
    void write_to_fd(int fd, const std::string& what,
                     const std::function<void(size_t, size_t)>& on_tensor = nullptr) const;

private:
    template <class Out>
    void stream(Out& out, const std::function<void(size_t, size_t)>& on_tensor) const;

    struct PendingTensor {
        std::string name;
        TensorType type;
        std::vector<int64_t> ne;
        size_t nbytes;
        Filler fill;
    };
    uint64_t alignment_;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::vector<PendingTensor> tensors_;
    std::set<std::string> tensor_names_;
};

}  // namespace rf
