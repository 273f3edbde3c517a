// GGUF v3 writer (layout in gguf_file.h). The header (metadata + tensor infos + padding) is built
// in memory; tensor data is streamed one tensor at a time, each followed by zero padding to the
// alignment, into PATH.tmp, which is renamed to PATH only after everything was written.
#include "formats/gguf/gguf_writer.h"

#include <fmt/ranges.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <type_traits>

#include <unistd.h>

#include "core/error.h"

namespace rf {

namespace {

constexpr uint32_t kVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr const char* kAlignmentKey = "general.alignment";

uint64_t align_up(uint64_t x, uint64_t a) {
    return (x + a - 1) & ~(a - 1);
}

class ByteSink {
  public:
    template <typename T>
    void pod(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        raw(&v, sizeof(T));
    }
    void string(const std::string& s) {
        pod<uint64_t>(s.size());
        raw(s.data(), s.size());
    }
    // resize + memcpy rather than vector::insert: GCC 12 reports a false stringop-overflow on
    // inserting byte ranges.
    void raw(const void* p, size_t n) {
        if (n == 0) return;
        const size_t at = bytes_.size();
        bytes_.resize(at + n);
        std::memcpy(bytes_.data() + at, p, n);
    }
    void pad_to(uint64_t alignment) { bytes_.resize(align_up(bytes_.size(), alignment), 0); }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

  private:
    std::vector<uint8_t> bytes_;
};

void write_array(ByteSink& out, const GgufArray& a) {
    out.pod(static_cast<uint32_t>(a.elem_type));
    out.pod<uint64_t>(a.size());
    std::visit(
        [&](const auto& vec) {
            using T = typename std::decay_t<decltype(vec)>::value_type;
            if constexpr (std::is_same_v<T, bool>) {
                for (bool b : vec) out.pod<uint8_t>(b ? 1 : 0);
            } else if constexpr (std::is_same_v<T, std::string>) {
                for (const auto& s : vec) out.string(s);
            } else if constexpr (std::is_same_v<T, GgufArray>) {
                for (const auto& inner : vec) write_array(out, inner);
            } else {
                out.raw(vec.data(), vec.size() * sizeof(T));
            }
        },
        a.values);
}

void write_value(ByteSink& out, const GgufValue& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>) {
                out.pod<uint8_t>(x ? 1 : 0);
            } else if constexpr (std::is_same_v<T, std::string>) {
                out.string(x);
            } else if constexpr (std::is_same_v<T, std::shared_ptr<GgufArray>>) {
                write_array(out, *x);
            } else {
                out.pod(x);
            }
        },
        v.storage());
}

// Closes the FILE and removes the temp file unless commit() was called.
class TempFile {
  public:
    explicit TempFile(std::string path) : path_(std::move(path)) {
        f_ = std::fopen(path_.c_str(), "wb");
        if (f_ == nullptr) fail("gguf {}: cannot create: {}", path_, std::strerror(errno));
    }
    ~TempFile() {
        if (f_ != nullptr) std::fclose(f_);
        if (!committed_) {
            std::error_code ec;
            std::filesystem::remove(path_, ec);
        }
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(const void* p, size_t n) {
        if (n > 0 && std::fwrite(p, 1, n, f_) != n)
            fail("gguf {}: write of {} bytes failed: {}", path_, n, std::strerror(errno));
    }
    void commit(const std::string& final_path) {
        const int rc = std::fclose(f_);
        f_ = nullptr;
        if (rc != 0) fail("gguf {}: close failed: {}", path_, std::strerror(errno));
        std::error_code ec;
        std::filesystem::rename(path_, final_path, ec);
        if (ec) fail("gguf {}: cannot rename to {}: {}", path_, final_path, ec.message());
        committed_ = true;
    }

  private:
    std::string path_;
    std::FILE* f_ = nullptr;
    bool committed_ = false;
};

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
    RF_CHECK(alignment != 0 && std::has_single_bit(alignment) &&
                 alignment <= std::numeric_limits<uint32_t>::max(),
             "gguf writer: alignment {} is not a power of two that fits in u32", alignment);
    // Readers assume 32 unless the file says otherwise.
    if (alignment != kDefaultAlignment)
        kv_.emplace_back(kAlignmentKey, GgufValue(GgufType::U32, static_cast<uint32_t>(alignment)));
}

void GgufWriter::set(const std::string& key, GgufValue value) {
    RF_CHECK(value.is_consistent(),
             "gguf writer: key '{}' is declared {} but holds another C++ type", key,
             gguf_type_name(value.type()));
    if (key == kAlignmentKey) {
        const std::optional<uint64_t> a = value.as_uint();
        RF_CHECK(a && *a == alignment_ && value.type() != GgufType::BOOL,
                 "gguf writer: key '{}' = {} disagrees with the writer's alignment {} (pass the "
                 "alignment to the GgufWriter constructor)",
                 key, value.to_display_string(), alignment_);
    }
    for (auto& [k, v] : kv_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    kv_.emplace_back(key, std::move(value));
}

void GgufWriter::set_u32(const std::string& key, uint32_t v) {
    set(key, GgufValue(GgufType::U32, v));
}
void GgufWriter::set_i32(const std::string& key, int32_t v) {
    set(key, GgufValue(GgufType::I32, v));
}
void GgufWriter::set_u64(const std::string& key, uint64_t v) {
    set(key, GgufValue(GgufType::U64, v));
}
void GgufWriter::set_f32(const std::string& key, float v) {
    set(key, GgufValue(GgufType::F32, v));
}
void GgufWriter::set_bool(const std::string& key, bool v) {
    set(key, GgufValue(GgufType::BOOL, v));
}
void GgufWriter::set_string(const std::string& key, std::string v) {
    set(key, GgufValue(GgufType::STRING, std::move(v)));
}

namespace {
template <typename T>
GgufValue make_array(GgufType elem, std::vector<T> v) {
    auto a = std::make_shared<GgufArray>();
    a->elem_type = elem;
    a->values = std::move(v);
    return GgufValue(GgufType::ARRAY, std::move(a));
}
}  // namespace

void GgufWriter::set_string_array(const std::string& key, std::vector<std::string> v) {
    set(key, make_array(GgufType::STRING, std::move(v)));
}
void GgufWriter::set_i32_array(const std::string& key, std::vector<int32_t> v) {
    set(key, make_array(GgufType::I32, std::move(v)));
}
void GgufWriter::set_u32_array(const std::string& key, std::vector<uint32_t> v) {
    set(key, make_array(GgufType::U32, std::move(v)));
}
void GgufWriter::set_f32_array(const std::string& key, std::vector<float> v) {
    set(key, make_array(GgufType::F32, std::move(v)));
}

void GgufWriter::remove(const std::string& key) {
    RF_CHECK(key != kAlignmentKey || alignment_ == kDefaultAlignment,
             "gguf writer: cannot remove '{}': the writer's alignment is {}", key, alignment_);
    std::erase_if(kv_, [&](const auto& kv) { return kv.first == key; });
}

namespace {

// Bytes of a tensor of this type and shape; throws naming the tensor when the shape is invalid.
size_t tensor_nbytes(const std::string& name, TensorType type, const std::vector<int64_t>& ne) {
    const std::optional<TensorTypeTraits> tr = tensor_type_traits(static_cast<uint32_t>(type));
    RF_CHECK(tr.has_value(), "gguf writer: tensor '{}' has unknown type id {}", name,
             static_cast<uint32_t>(type));
    RF_CHECK(!ne.empty() && ne.size() <= 4, "gguf writer: tensor '{}' has {} dims (1..4 allowed)",
             name, ne.size());
    int64_t rows = 1;
    for (size_t d = 0; d < ne.size(); ++d) {
        RF_CHECK(ne[d] > 0, "gguf writer: tensor '{}' ne[{}] = {} is not positive", name, d, ne[d]);
        if (d > 0)
            RF_CHECK(!__builtin_mul_overflow(rows, ne[d], &rows),
                     "gguf writer: tensor '{}' shape [{}] overflows int64", name,
                     fmt::join(ne, ", "));
    }
    RF_CHECK(ne[0] % tr->block_size == 0,
             "gguf writer: tensor '{}' ne[0] = {} is not a multiple of the {} block size {}", name,
             ne[0], tr->name, tr->block_size);
    const size_t row_bytes = static_cast<size_t>(ne[0] / tr->block_size) * tr->type_size;
    size_t nbytes = 0;
    RF_CHECK(!__builtin_mul_overflow(row_bytes, static_cast<size_t>(rows), &nbytes),
             "gguf writer: tensor '{}' byte size overflows", name);
    return nbytes;
}

}  // namespace

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                            Filler fill) {
    const size_t nbytes = tensor_nbytes(name, type, ne);
    RF_CHECK(fill != nullptr, "gguf writer: tensor '{}' has no data source", name);
    RF_CHECK(tensor_names_.insert(name).second, "gguf writer: duplicate tensor name '{}'", name);
    tensors_.push_back({name, type, std::move(ne), nbytes, std::move(fill)});
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                            const void* data, size_t nbytes) {
    RF_CHECK(data != nullptr, "gguf writer: tensor '{}' has no data", name);
    const size_t needed = tensor_nbytes(name, type, ne);
    RF_CHECK(needed == nbytes,
             "gguf writer: tensor '{}' has {} bytes of data, its shape [{}] and type {} need {}",
             name, nbytes, fmt::join(ne, ", "), type_name(type), needed);
    add_tensor(name, type, std::move(ne),
               [data](uint8_t* dst, size_t n) { std::memcpy(dst, data, n); });
}

size_t GgufWriter::n_tensors() const {
    return tensors_.size();
}

// Writes the header and every tensor (padded to the alignment) through out.write(p, n).
template <class Out>
void GgufWriter::stream(Out& out, const std::function<void(size_t, size_t)>& on_tensor) const {
    ByteSink header;
    header.pod<uint32_t>(0x46554747);  // "GGUF"
    header.pod<uint32_t>(kVersion);
    header.pod<uint64_t>(tensors_.size());
    header.pod<uint64_t>(kv_.size());
    for (const auto& [key, value] : kv_) {
        header.string(key);
        header.pod(static_cast<uint32_t>(value.type()));
        write_value(header, value);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors_) {
        header.string(t.name);
        header.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) header.pod<uint64_t>(static_cast<uint64_t>(d));
        header.pod(static_cast<uint32_t>(t.type));
        header.pod<uint64_t>(offset);
        offset = align_up(offset + t.nbytes, alignment_);
    }
    header.pad_to(alignment_);

    out.write(header.bytes().data(), header.bytes().size());
    std::vector<uint8_t> buf;
    const std::vector<uint8_t> zeros(alignment_, 0);
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const PendingTensor& t = tensors_[i];
        buf.assign(t.nbytes, 0);
        t.fill(buf.data(), buf.size());
        out.write(buf.data(), buf.size());
        out.write(zeros.data(), align_up(t.nbytes, alignment_) - t.nbytes);
        if (on_tensor) on_tensor(i + 1, tensors_.size());
    }
}

void GgufWriter::write(const std::string& path,
                       const std::function<void(size_t, size_t)>& on_tensor) const {
    TempFile out(path + ".tmp");
    stream(out, on_tensor);
    out.commit(path);
}

void GgufWriter::write_to_fd(int fd, const std::string& what,
                             const std::function<void(size_t, size_t)>& on_tensor) const {
    struct FdSink {
        int fd;
        const std::string& what;
        void write(const void* p, size_t n) {
            const auto* b = static_cast<const uint8_t*>(p);
            while (n > 0) {
                const ssize_t k = ::write(fd, b, n);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) fail("gguf {}: write of {} bytes failed: {}", what, n, std::strerror(errno));
                b += k;
                n -= static_cast<size_t>(k);
            }
        }
    } out{fd, what};
    stream(out, on_tensor);
}

}  // namespace rf
