// Typed metadata and tensor look-ups of GgufFile. A key that is present with the wrong type is an
// error in both the optional and the required form: a model whose "block_count" is a string is
// broken, not a model without a block count.
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"

namespace rf {

namespace {

bool is_integer_type(GgufType t) {
    switch (t) {
        case GgufType::U8:
        case GgufType::I8:
        case GgufType::U16:
        case GgufType::I16:
        case GgufType::U32:
        case GgufType::I32:
        case GgufType::U64:
        case GgufType::I64:
            return true;
        default:
            return false;
    }
}

}  // namespace

const GgufValue* GgufFile::find(const std::string& key) const {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufValue& GgufFile::require(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) fail("gguf {}: key '{}' is missing", path_, key);
    return *v;
}

void GgufFile::fail_type(const std::string& key, const GgufValue& v, const char* expected) const {
    fail("gguf {}: key '{}' has type {}, expected {}", path_, key, v.type_string(), expected);
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!is_integer_type(v->type())) fail_type(key, *v, "an integer");
    const std::optional<int64_t> i = v->as_int();
    if (!i)
        fail("gguf {}: key '{}' value {} does not fit in int64", path_, key,
             v->to_display_string());
    return i;
}

int64_t GgufFile::require_int(const std::string& key) const {
    require(key);
    return *get_int(key);
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type() != GgufType::F32 && v->type() != GgufType::F64 && !is_integer_type(v->type()))
        fail_type(key, *v, "a number");
    return v->as_double();
}

double GgufFile::require_float(const std::string& key) const {
    require(key);
    return *get_float(key);
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type() != GgufType::BOOL) fail_type(key, *v, "bool");
    return v->as_bool();
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->type() != GgufType::STRING) fail_type(key, *v, "string");
    return *v->as_string();
}

std::string GgufFile::require_string(const std::string& key) const {
    require(key);
    return *get_string(key);
}

const GgufArray* GgufFile::get_array(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) return nullptr;
    if (v->type() != GgufType::ARRAY) fail_type(key, *v, "array");
    return v->as_array();
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(const std::string& key) const {
    const GgufArray* a = get_array(key);
    if (a == nullptr) return std::nullopt;
    if (!is_integer_type(a->elem_type)) fail_type(key, *find(key), "an array of integers");
    std::vector<int64_t> out;
    std::visit(
        [&](const auto& vec) {
            using T = typename std::decay_t<decltype(vec)>::value_type;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                out.reserve(vec.size());
                for (size_t i = 0; i < vec.size(); ++i) {
                    if constexpr (std::is_same_v<T, uint64_t>) {
                        if (vec[i] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                            fail("gguf {}: key '{}' element {} = {} does not fit in int64", path_,
                                 key, i, vec[i]);
                    }
                    out.push_back(static_cast<int64_t>(vec[i]));
                }
            }
        },
        a->values);
    return out;
}

std::optional<std::vector<float>> GgufFile::get_float_array(const std::string& key) const {
    const GgufArray* a = get_array(key);
    if (a == nullptr) return std::nullopt;
    if (a->elem_type != GgufType::F32 && a->elem_type != GgufType::F64 &&
        !is_integer_type(a->elem_type))
        fail_type(key, *find(key), "an array of numbers");
    std::vector<float> out;
    std::visit(
        [&](const auto& vec) {
            using T = typename std::decay_t<decltype(vec)>::value_type;
            if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
                out.reserve(vec.size());
                for (const T& x : vec) out.push_back(static_cast<float>(x));
            }
        },
        a->values);
    return out;
}

const std::vector<std::string>* GgufFile::get_string_array(const std::string& key) const {
    const GgufArray* a = get_array(key);
    if (a == nullptr) return nullptr;
    if (a->elem_type != GgufType::STRING) fail_type(key, *find(key), "an array of strings");
    return &std::get<std::vector<std::string>>(a->values);
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::require_tensor(const std::string& name) const {
    const GgufTensorInfo* t = find_tensor(name);
    if (t == nullptr) fail("gguf {}: tensor '{}' is missing", path_, name);
    return *t;
}

}  // namespace rf
