#include "formats/gguf/gguf_value.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <type_traits>

namespace rf {

namespace {

constexpr const char* kTypeNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};

template <typename T>
bool bits_equal(const T& a, const T& b) {
    if constexpr (std::is_floating_point_v<T>) {
        return std::memcmp(&a, &b, sizeof(T)) == 0;
    } else {
        return a == b;
    }
}

// Appends s quoted, with C-style escapes for quotes, backslashes and control bytes.
void append_quoted(std::string& out, const std::string& s, size_t max_bytes) {
    size_t n = s.size();
    if (n > max_bytes) {
        n = max_bytes;
        // Step back to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
        while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0u) == 0x80u) --n;
    }
    out += '"';
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += fmt::format("\\x{:02x}", c);
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
    if (n < s.size()) out += fmt::format("... ({} bytes)", s.size());
}

template <typename T>
void append_scalar(std::string& out, const T& v, size_t max_string_bytes) {
    if constexpr (std::is_same_v<T, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, std::string>) {
        append_quoted(out, v, max_string_bytes);
    } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
        out += fmt::format("{}", static_cast<int>(v));
    } else {
        out += fmt::format("{}", v);
    }
}

void append_array(std::string& out, const GgufArray& a, size_t max_items, size_t max_string_bytes);

void append_element_range(std::string& out, const GgufArray& a, size_t max_items,
                          size_t max_string_bytes) {
    std::visit(
        [&](const auto& vec) {
            using Vec = std::decay_t<decltype(vec)>;
            const size_t shown = std::min(vec.size(), max_items);
            for (size_t i = 0; i < shown; ++i) {
                if (i > 0) out += ", ";
                if constexpr (std::is_same_v<Vec, std::vector<GgufArray>>) {
                    append_array(out, vec[i], max_items, max_string_bytes);
                } else if constexpr (std::is_same_v<Vec, std::vector<bool>>) {
                    append_scalar(out, static_cast<bool>(vec[i]), max_string_bytes);
                } else {
                    append_scalar(out, vec[i], max_string_bytes);
                }
            }
            if (vec.size() > shown) out += fmt::format(", ... ({} more)", vec.size() - shown);
        },
        a.values);
}

void append_array(std::string& out, const GgufArray& a, size_t max_items, size_t max_string_bytes) {
    out += '[';
    append_element_range(out, a, max_items, max_string_bytes);
    out += ']';
}

}  // namespace

const char* gguf_type_name(GgufType t) {
    const auto id = static_cast<uint32_t>(t);
    return gguf_type_is_valid(id) ? kTypeNames[id] : "?";
}

bool gguf_type_is_valid(uint32_t id) {
    return id <= static_cast<uint32_t>(GgufType::F64);
}

std::optional<int64_t> GgufValue::as_int() const {
    return std::visit(
        [](const auto& v) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return v ? 1 : 0;
            } else if constexpr (std::is_same_v<T, uint64_t>) {
                if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                    return std::nullopt;
                return static_cast<int64_t>(v);
            } else if constexpr (std::is_integral_v<T>) {
                return static_cast<int64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        storage_);
}

std::optional<uint64_t> GgufValue::as_uint() const {
    return std::visit(
        [](const auto& v) -> std::optional<uint64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return v ? 1u : 0u;
            } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
                if (v < 0) return std::nullopt;
                return static_cast<uint64_t>(v);
            } else if constexpr (std::is_integral_v<T>) {
                return static_cast<uint64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        storage_);
}

std::optional<double> GgufValue::as_double() const {
    return std::visit(
        [](const auto& v) -> std::optional<double> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return std::nullopt;
            } else if constexpr (std::is_arithmetic_v<T>) {
                return static_cast<double>(v);
            } else {
                return std::nullopt;
            }
        },
        storage_);
}

std::optional<bool> GgufValue::as_bool() const {
    if (const bool* b = std::get_if<bool>(&storage_)) return *b;
    return std::nullopt;
}

const std::string* GgufValue::as_string() const {
    return std::get_if<std::string>(&storage_);
}

const GgufArray* GgufValue::as_array() const {
    const auto* p = std::get_if<std::shared_ptr<GgufArray>>(&storage_);
    return p != nullptr ? p->get() : nullptr;
}

std::string GgufValue::to_display_string(size_t max_array_items, size_t max_string_bytes) const {
    std::string out;
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::shared_ptr<GgufArray>>) {
                if (v) {
                    append_array(out, *v, max_array_items, max_string_bytes);
                } else {
                    out += "[]";
                }
            } else {
                append_scalar(out, v, max_string_bytes);
            }
        },
        storage_);
    return out;
}

std::string GgufValue::type_string() const {
    if (type_ != GgufType::ARRAY) return gguf_type_name(type_);
    const GgufArray* a = as_array();
    return fmt::format("array<{}>", a != nullptr ? gguf_type_name(a->elem_type) : "?");
}

bool GgufValue::is_consistent() const {
    if (storage_.index() != static_cast<size_t>(type_)) return false;
    if (type_ == GgufType::ARRAY) {
        const GgufArray* a = as_array();
        return a != nullptr && a->is_consistent();
    }
    return true;
}

bool operator==(const GgufValue& a, const GgufValue& b) {
    if (a.type_ != b.type_ || a.storage_.index() != b.storage_.index()) return false;
    return std::visit(
        [&](const auto& va) {
            using T = std::decay_t<decltype(va)>;
            const T& vb = std::get<T>(b.storage_);
            if constexpr (std::is_same_v<T, std::shared_ptr<GgufArray>>) {
                if (!va || !vb) return va == vb;
                return *va == *vb;
            } else {
                return bits_equal(va, vb);
            }
        },
        a.storage_);
}

size_t GgufArray::size() const {
    return std::visit([](const auto& vec) { return vec.size(); }, values);
}

bool GgufArray::is_consistent() const {
    if (values.index() != static_cast<size_t>(elem_type)) return false;
    if (const auto* nested = std::get_if<std::vector<GgufArray>>(&values)) {
        for (const auto& inner : *nested)
            if (!inner.is_consistent()) return false;
    }
    return true;
}

bool operator==(const GgufArray& a, const GgufArray& b) {
    if (a.elem_type != b.elem_type || a.values.index() != b.values.index()) return false;
    return std::visit(
        [&](const auto& va) {
            using Vec = std::decay_t<decltype(va)>;
            const Vec& vb = std::get<Vec>(b.values);
            if (va.size() != vb.size()) return false;
            for (size_t i = 0; i < va.size(); ++i) {
                if constexpr (std::is_same_v<Vec, std::vector<GgufArray>>) {
                    if (!(va[i] == vb[i])) return false;
                } else if constexpr (std::is_same_v<Vec, std::vector<bool>>) {
                    if (va[i] != vb[i]) return false;
                } else {
                    if (!bits_equal(va[i], vb[i])) return false;
                }
            }
            return true;
        },
        a.values);
}

}  // namespace rf
