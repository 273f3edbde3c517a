// GGUF parsing and validation (layout in gguf_file.h). Nothing is allocated from a count before
// the count has been checked against the bytes left in the file, so a header that claims 2^60
// tensors or a 2^40-byte string fails at once.
#include "formats/gguf/gguf_file.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "formats/gguf/gguf_cursor.h"

namespace rf {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr int kMaxArrayDepth = 16;
constexpr uint32_t kMaxDims = 4;
// Smallest encodings, used to bound counts by the bytes left: a key/value is a u64 key length,
// a u32 type and at least one byte of value; a tensor info is a u64 name length, u32 n_dims,
// one u64 dim, u32 type and u64 offset.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Bytes of the smallest value of type t (a string is at least its u64 length, an array its u32
// element type + u64 count).
uint64_t min_value_bytes(GgufType t) {
    switch (t) {
        case GgufType::U8:
        case GgufType::I8:
        case GgufType::BOOL:
            return 1;
        case GgufType::U16:
        case GgufType::I16:
            return 2;
        case GgufType::U32:
        case GgufType::I32:
        case GgufType::F32:
            return 4;
        case GgufType::U64:
        case GgufType::I64:
        case GgufType::F64:
            return 8;
        case GgufType::STRING:
            return 8;
        case GgufType::ARRAY:
            return 12;
    }
    return 1;
}

GgufType read_type(GgufCursor& cur, const char* field) {
    const uint32_t id = cur.read<uint32_t>(field);
    if (!gguf_type_is_valid(id)) cur.fail("{} {} is not a GGUF value type (0..12)", field, id);
    return static_cast<GgufType>(id);
}

bool read_bool(GgufCursor& cur, const char* field) {
    const uint8_t b = cur.read<uint8_t>(field);
    if (b > 1) cur.fail("{} at offset {} is {}, expected 0 or 1", field, cur.pos() - 1, b);
    return b == 1;
}

GgufArray read_array(GgufCursor& cur, int depth);

template <typename T>
std::vector<T> read_pod_vector(GgufCursor& cur, uint64_t n) {
    std::vector<T> v(static_cast<size_t>(n));
    cur.read_bytes(v.data(), v.size() * sizeof(T), "array data");
    return v;
}

GgufArray read_array(GgufCursor& cur, int depth) {
    if (depth > kMaxArrayDepth)
        cur.fail("arrays are nested more than {} deep at offset {}", kMaxArrayDepth, cur.pos());
    GgufArray a;
    a.elem_type = read_type(cur, "array element type");
    const uint64_t n = cur.read<uint64_t>("array length");
    const uint64_t min_bytes = min_value_bytes(a.elem_type);
    if (n > cur.remaining() / min_bytes)
        cur.fail("array of {} {} elements at offset {} cannot fit in the {} bytes left", n,
                 gguf_type_name(a.elem_type), cur.pos() - 12, cur.remaining());
    switch (a.elem_type) {
        case GgufType::U8:
            a.values = read_pod_vector<uint8_t>(cur, n);
            break;
        case GgufType::I8:
            a.values = read_pod_vector<int8_t>(cur, n);
            break;
        case GgufType::U16:
            a.values = read_pod_vector<uint16_t>(cur, n);
            break;
        case GgufType::I16:
            a.values = read_pod_vector<int16_t>(cur, n);
            break;
        case GgufType::U32:
            a.values = read_pod_vector<uint32_t>(cur, n);
            break;
        case GgufType::I32:
            a.values = read_pod_vector<int32_t>(cur, n);
            break;
        case GgufType::F32:
            a.values = read_pod_vector<float>(cur, n);
            break;
        case GgufType::U64:
            a.values = read_pod_vector<uint64_t>(cur, n);
            break;
        case GgufType::I64:
            a.values = read_pod_vector<int64_t>(cur, n);
            break;
        case GgufType::F64:
            a.values = read_pod_vector<double>(cur, n);
            break;
        case GgufType::BOOL: {
            std::vector<bool> v(static_cast<size_t>(n));
            for (size_t i = 0; i < v.size(); ++i) v[i] = read_bool(cur, "bool array element");
            a.values = std::move(v);
            break;
        }
        case GgufType::STRING: {
            std::vector<std::string> v;
            v.reserve(static_cast<size_t>(n));
            for (uint64_t i = 0; i < n; ++i) v.push_back(cur.read_string("string array element"));
            a.values = std::move(v);
            break;
        }
        case GgufType::ARRAY: {
            // No reserve: with nesting, reserving every level's claimed count up front could add up
            // to many times the file size before the counts are found to be false.
            std::vector<GgufArray> v;
            for (uint64_t i = 0; i < n; ++i) v.push_back(read_array(cur, depth + 1));
            a.values = std::move(v);
            break;
        }
    }
    return a;
}

GgufValue read_value(GgufCursor& cur, GgufType t) {
    switch (t) {
        case GgufType::U8:
            return {t, cur.read<uint8_t>("u8 value")};
        case GgufType::I8:
            return {t, cur.read<int8_t>("i8 value")};
        case GgufType::U16:
            return {t, cur.read<uint16_t>("u16 value")};
        case GgufType::I16:
            return {t, cur.read<int16_t>("i16 value")};
        case GgufType::U32:
            return {t, cur.read<uint32_t>("u32 value")};
        case GgufType::I32:
            return {t, cur.read<int32_t>("i32 value")};
        case GgufType::F32:
            return {t, cur.read<float>("f32 value")};
        case GgufType::BOOL:
            return {t, read_bool(cur, "bool value")};
        case GgufType::STRING:
            return {t, cur.read_string("string value")};
        case GgufType::ARRAY:
            return {t, std::make_shared<GgufArray>(read_array(cur, 1))};
        case GgufType::U64:
            return {t, cur.read<uint64_t>("u64 value")};
        case GgufType::I64:
            return {t, cur.read<int64_t>("i64 value")};
        case GgufType::F64:
            return {t, cur.read<double>("f64 value")};
    }
    cur.fail("value type {} is not a GGUF value type", static_cast<uint32_t>(t));
}

// a + b, or fail when it overflows u64.
bool add_overflows(uint64_t a, uint64_t b, uint64_t& out) {
    return __builtin_add_overflow(a, b, &out);
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : map_(std::in_place, path), path_(path) {
    base_ = map_->data();
    size_ = map_->size();
    parse();
}

GgufFile::GgufFile(std::vector<uint8_t> bytes, std::string name)
    : owned_(std::move(bytes)), path_(std::move(name)) {
    base_ = owned_.data();
    size_ = owned_.size();
    parse();
}

void GgufFile::parse() {
    GgufCursor cur(base_, size_, path_);

    // ---- header ----
    if (size_ < 4)
        cur.fail("the file is {} bytes, too small to be GGUF (magic 'GGUF' missing)", size_);
    const uint32_t magic = cur.read<uint32_t>("magic");
    if (magic != kMagic) {
        std::string shown;
        for (int i = 0; i < 4; ++i) {
            const char c = static_cast<char>(base_[i]);
            shown += (c >= 0x20 && c < 0x7f) ? c : '.';
        }
        cur.fail("magic is 0x{:08x} ('{}'), expected 'GGUF': not a GGUF file", magic, shown);
    }
    version_ = cur.read<uint32_t>("version");
    if (version_ == 1)
        cur.fail(
            "version 1 is not supported (GGUF v1 used 32-bit counts; re-convert the model "
            "with a current converter): this build reads versions 2 and 3");
    if (version_ != 2 && version_ != 3) {
        if (version_ == 0x02000000u || version_ == 0x03000000u)
            cur.fail(
                "version field 0x{:08x} looks like a big-endian GGUF file, which is not "
                "supported",
                version_);
        cur.fail("version {} is not supported: this build reads versions 2 and 3", version_);
    }
    const uint64_t n_tensors = cur.read<uint64_t>("tensor count");
    const uint64_t n_kv = cur.read<uint64_t>("metadata key/value count");
    if (n_kv > cur.remaining() / kMinKvBytes)
        cur.fail(
            "metadata key/value count {} cannot fit: each entry takes at least {} bytes and "
            "only {} bytes follow the header",
            n_kv, kMinKvBytes, cur.remaining());
    if (n_tensors > cur.remaining() / kMinTensorInfoBytes)
        cur.fail(
            "tensor count {} cannot fit: each tensor info takes at least {} bytes and only {} "
            "bytes follow the header",
            n_tensors, kMinTensorInfoBytes, cur.remaining());
    if (n_kv * kMinKvBytes + n_tensors * kMinTensorInfoBytes > cur.remaining())
        cur.fail(
            "{} key/value entries and {} tensor infos cannot fit in the {} bytes that follow "
            "the header",
            n_kv, n_tensors, cur.remaining());

    // ---- metadata ----
    kv_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        cur.set_context(fmt::format("key/value #{}", i));
        std::string key = cur.read_string("key");
        cur.set_context(fmt::format("key '{}'", key));
        if (auto it = kv_index_.find(key); it != kv_index_.end())
            cur.fail("duplicate key (entries #{} and #{})", it->second, i);
        const GgufType type = read_type(cur, "value type");
        GgufValue value = read_value(cur, type);
        kv_index_.emplace(key, kv_.size());
        kv_.emplace_back(std::move(key), std::move(value));
    }
    cur.set_context("");

    alignment_ = kDefaultAlignment;
    if (const GgufValue* a = find("general.alignment")) {
        cur.set_context("key 'general.alignment'");
        const std::optional<uint64_t> v = a->as_uint();
        if (a->type() == GgufType::BOOL || a->type() == GgufType::STRING ||
            a->type() == GgufType::ARRAY || a->type() == GgufType::F32 ||
            a->type() == GgufType::F64)
            cur.fail("has type {}, expected an unsigned integer", a->type_string());
        if (!v || *v == 0 || !std::has_single_bit(*v))
            cur.fail("value {} is not a non-zero power of two", a->to_display_string());
        alignment_ = *v;
        cur.set_context("");
    }

    // ---- tensor infos ----
    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        cur.set_context(fmt::format("tensor #{}", i));
        GgufTensorInfo t;
        t.name = cur.read_string("name");
        cur.set_context(fmt::format("tensor '{}'", t.name));
        if (auto it = tensor_index_.find(t.name); it != tensor_index_.end())
            cur.fail("duplicate tensor name (tensors #{} and #{})", it->second, i);
        const uint32_t n_dims = cur.read<uint32_t>("n_dims");
        if (n_dims < 1 || n_dims > kMaxDims)
            cur.fail("n_dims {} is out of range (1..{})", n_dims, kMaxDims);
        int64_t n_elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t ne = cur.read<uint64_t>("dimension");
            if (ne == 0) cur.fail("dimension ne[{}] is 0", d);
            if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                cur.fail("dimension ne[{}] = {} does not fit in int64", d, ne);
            t.ne.push_back(static_cast<int64_t>(ne));
            if (__builtin_mul_overflow(n_elements, static_cast<int64_t>(ne), &n_elements))
                cur.fail("element count of shape [{}] overflows int64 (at ne[{}])", fmt::join(t.ne, ", "), d);
        }
        const uint32_t type_id = cur.read<uint32_t>("type");
        const std::optional<TensorTypeTraits> tr = tensor_type_traits(type_id);
        if (!tr) cur.fail("type {} is not a tensor type this build knows", type_id);
        t.type = static_cast<TensorType>(type_id);
        if (t.ne[0] % tr->block_size != 0)
            cur.fail("ne[0] = {} is not a multiple of the {} block size {}", t.ne[0], tr->name,
                     tr->block_size);
        uint64_t row_bytes = 0;
        uint64_t nbytes = 0;
        if (__builtin_mul_overflow(static_cast<uint64_t>(t.ne[0] / tr->block_size),
                                   static_cast<uint64_t>(tr->type_size), &row_bytes) ||
            __builtin_mul_overflow(row_bytes, static_cast<uint64_t>(t.n_rows()), &nbytes))
            cur.fail("byte size overflows ({} rows of {} {} elements)", t.n_rows(), t.ne[0],
                     tr->name);
        if (nbytes > size_)
            cur.fail("size {} bytes ({} {}) is larger than the whole file ({} bytes)", nbytes,
                     fmt::join(t.ne, " x "), tr->name, size_);
        t.nbytes = static_cast<size_t>(nbytes);
        t.offset = cur.read<uint64_t>("offset");
        if (t.offset % alignment_ != 0)
            cur.fail("offset {} is not a multiple of the alignment {}", t.offset, alignment_);
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }
    cur.set_context("");

    // ---- data section ----
    const uint64_t header_end = cur.pos();
    uint64_t data_offset = 0;
    if (add_overflows(header_end, alignment_ - 1, data_offset))
        cur.fail("alignment {} puts the data section past 2^64", alignment_);
    data_offset &= ~(alignment_ - 1);
    data_offset_ = static_cast<size_t>(data_offset);
    for (auto& t : tensors_) {
        uint64_t begin = 0;
        uint64_t end = 0;
        if (add_overflows(data_offset, t.offset, begin) || add_overflows(begin, t.nbytes, end) ||
            end > size_)
            rf::fail(
                "gguf {}: tensor '{}' offset {} + size {} is past the end of the file (data "
                "section at {}, file size {})",
                path_, t.name, t.offset, t.nbytes, data_offset, size_);
        t.data = base_ + begin;
    }
    std::vector<size_t> order(tensors_.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors_[a].offset < tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const GgufTensorInfo& prev = tensors_[order[k - 1]];
        const GgufTensorInfo& next = tensors_[order[k]];
        if (prev.offset + prev.nbytes > next.offset)
            rf::fail("gguf {}: tensor '{}' (offset {}, size {}) overlaps tensor '{}' (offset {})",
                     path_, prev.name, prev.offset, prev.nbytes, next.name, next.offset);
    }
}

int64_t GgufTensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
}

int64_t GgufTensorInfo::n_rows() const {
    int64_t n = 1;
    for (size_t i = 1; i < ne.size(); ++i) n *= ne[i];
    return n;
}

int64_t GgufFile::n_parameters() const {
    int64_t n = 0;
    for (const auto& t : tensors_) n += t.n_elements();
    return n;
}

uint64_t GgufFile::tensor_data_bytes() const {
    uint64_t n = 0;
    for (const auto& t : tensors_) n += t.nbytes;
    return n;
}

}  // namespace rf
