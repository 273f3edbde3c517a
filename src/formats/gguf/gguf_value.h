// GGUF metadata values: every GGUF value type, arrays of any element type (nested arrays too).
//
// GGUF value type ids (little-endian u32 on disk):
//   0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 11 i64,
//   12 f64. A string is u64 length + bytes (no terminator); an array is u32 element type +
//   u64 count + elements.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rf {

enum class GgufType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// "u8", "i32", "f32", "string", "array", ...; "?" for an id that is not a GGUF type.
const char* gguf_type_name(GgufType t);
// True for the 13 ids above.
bool gguf_type_is_valid(uint32_t id);

struct GgufArray;

// A scalar, a string or an array. Arrays keep their element type and store elements in one
// typed vector (a 150k-token vocabulary is one std::vector<std::string>).
class GgufValue {
public:
    using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                                 std::string, std::shared_ptr<GgufArray>, uint64_t, int64_t, double>;

    GgufValue() = default;
    template <typename T>
    GgufValue(GgufType type, T v) : type_(type), storage_(std::move(v)) {}

    GgufType type() const { return type_; }
    const Storage& storage() const { return storage_; }

    // Integer of any integer type (and bool) widened; nullopt for other types or out of range.
    std::optional<int64_t> as_int() const;
    std::optional<uint64_t> as_uint() const;
    // f32/f64 (and integers) as double.
    std::optional<double> as_double() const;
    std::optional<bool> as_bool() const;
    const std::string* as_string() const;
    const GgufArray* as_array() const;

    // Human-readable short form for `rocmforge info`: arrays are abbreviated to their first
    // max_array_items elements, strings to their first max_string_bytes bytes (cut at a UTF-8
    // character boundary); strings are quoted with C-style escapes.
    std::string to_display_string(size_t max_array_items = 8, size_t max_string_bytes = 256) const;
    // "u32", "string", "array<string>", "array<array>".
    std::string type_string() const;
    // The stored alternative matches type() (a GgufValue(GgufType::U32, 5) holds an int32_t and
    // is not consistent); arrays are checked recursively. The writer refuses inconsistent values.
    bool is_consistent() const;

    // Same type and same bytes on disk (floats compared bit for bit, so NaN == NaN).
    friend bool operator==(const GgufValue& a, const GgufValue& b);

private:
    GgufType type_ = GgufType::U8;
    Storage storage_{uint8_t{0}};
};

struct GgufArray {
    GgufType elem_type = GgufType::U8;
    // Exactly one vector is used, matching elem_type: U8->u8, ..., STRING->strings,
    // ARRAY->arrays.
    std::variant<std::vector<uint8_t>, std::vector<int8_t>, std::vector<uint16_t>,
                 std::vector<int16_t>, std::vector<uint32_t>, std::vector<int32_t>,
                 std::vector<float>, std::vector<bool>, std::vector<std::string>,
                 std::vector<GgufArray>, std::vector<uint64_t>, std::vector<int64_t>,
                 std::vector<double>>
        values;

    size_t size() const;
    bool is_consistent() const;
    friend bool operator==(const GgufArray& a, const GgufArray& b);
};

}  // namespace rf
