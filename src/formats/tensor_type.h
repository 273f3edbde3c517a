// Tensor element types with their GGUF ids (ggml_type numbering), and per-type traits:
// weights per block and bytes per block. A row of n weights of type t takes
// n / block_size(t) * type_size(t) bytes; n must be a multiple of block_size(t).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rf {

enum class TensorType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
};

struct TensorTypeTraits {
    const char* name;      // lower-case GGUF name: "f32", "q4_K", ...
    int64_t block_size;    // weights per block (1 for plain types)
    size_t type_size;      // bytes per block
    bool is_quantized;
};

// Traits of a known type; nullopt for an id this build does not know (e.g. IQ types).
std::optional<TensorTypeTraits> tensor_type_traits(uint32_t id);
const TensorTypeTraits& traits(TensorType t);  // t must be known

inline int64_t block_size(TensorType t) { return traits(t).block_size; }
inline size_t type_size(TensorType t) { return traits(t).type_size; }
inline const char* type_name(TensorType t) { return traits(t).name; }

// Bytes of a row of n elements; n must be a multiple of block_size(t) (throws rf::Error).
size_t row_size(TensorType t, int64_t n);

// Parses "q4_k", "Q4_K", "f16", ... (case-insensitive) to a type; nullopt if unknown.
std::optional<TensorType> parse_tensor_type(std::string_view name);

}  // namespace rf
