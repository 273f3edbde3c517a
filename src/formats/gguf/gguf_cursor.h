// A bounds-checked little-endian reader over the bytes of a GGUF file. Every read names what it
// reads; running off the end throws rf::Error
//   "gguf <file>: <context>: <field> at offset <pos> needs <n> bytes, the file ends at <size>".
// The context (e.g. "key 'general.name'" or "tensor #3 'blk.0.attn_q.weight'") is set once per
// entry so that reading 150k vocabulary strings does not format a message per string.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace rf {

static_assert(std::endian::native == std::endian::little,
              "the GGUF reader assumes a little-endian host");

class GgufCursor {
  public:
    GgufCursor(const uint8_t* data, size_t size, std::string_view file)
        : data_(data), size_(size), file_(file) {}

    size_t pos() const { return pos_; }
    size_t size() const { return size_; }
    size_t remaining() const { return size_ - pos_; }
    const uint8_t* here() const { return data_ + pos_; }
    const std::string& file() const { return file_; }

    void set_context(std::string context) { context_ = std::move(context); }
    const std::string& context() const { return context_; }

    // Throws "gguf <file>: <context>: <message>".
    template <typename... Args>
    [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
        const std::string msg = fmt::format(format, std::forward<Args>(args)...);
        if (context_.empty()) rf::fail("gguf {}: {}", file_, msg);
        rf::fail("gguf {}: {}: {}", file_, context_, msg);
    }

    void need(size_t n, std::string_view field) const {
        if (n > remaining())
            fail("{} at offset {} needs {} bytes, but the file ends at {}", field, pos_, n, size_);
    }

    template <typename T>
    T read(std::string_view field) {
        need(sizeof(T), field);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    // Copies nbytes bytes to dst.
    void read_bytes(void* dst, size_t nbytes, std::string_view field) {
        need(nbytes, field);
        if (nbytes > 0) std::memcpy(dst, data_ + pos_, nbytes);
        pos_ += nbytes;
    }

    // u64 length + bytes (no terminator).
    std::string read_string(std::string_view field) {
        const uint64_t len = read<uint64_t>(field);
        if (len > remaining())
            fail("{} has length {} at offset {}, but only {} bytes are left in the file", field,
                 len, pos_ - 8, remaining());
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return s;
    }

  private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    std::string file_;
    std::string context_;
};

}  // namespace rf
