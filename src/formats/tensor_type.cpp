#include "formats/tensor_type.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/error.h"
#include "formats/quant_blocks.h"

namespace rf {
namespace {

struct Entry {
    TensorType type;
    TensorTypeTraits traits;
};

constexpr std::array kTypes = {
    Entry{TensorType::F32, {"f32", 1, 4, false}},
    Entry{TensorType::F16, {"f16", 1, 2, false}},
    Entry{TensorType::Q4_0, {"q4_0", QK4_0, sizeof(block_q4_0), true}},
    Entry{TensorType::Q4_1, {"q4_1", QK4_1, sizeof(block_q4_1), true}},
    Entry{TensorType::Q5_0, {"q5_0", QK5_0, sizeof(block_q5_0), true}},
    Entry{TensorType::Q5_1, {"q5_1", QK5_1, sizeof(block_q5_1), true}},
    Entry{TensorType::Q8_0, {"q8_0", QK8_0, sizeof(block_q8_0), true}},
    Entry{TensorType::Q8_1, {"q8_1", QK8_1, sizeof(block_q8_1), true}},
    Entry{TensorType::Q2_K, {"q2_K", QK_K, sizeof(block_q2_K), true}},
    Entry{TensorType::Q3_K, {"q3_K", QK_K, sizeof(block_q3_K), true}},
    Entry{TensorType::Q4_K, {"q4_K", QK_K, sizeof(block_q4_K), true}},
    Entry{TensorType::Q5_K, {"q5_K", QK_K, sizeof(block_q5_K), true}},
    Entry{TensorType::Q6_K, {"q6_K", QK_K, sizeof(block_q6_K), true}},
    Entry{TensorType::Q8_K, {"q8_K", QK_K, sizeof(block_q8_K), true}},
    Entry{TensorType::I8, {"i8", 1, 1, false}},
    Entry{TensorType::I16, {"i16", 1, 2, false}},
    Entry{TensorType::I32, {"i32", 1, 4, false}},
    Entry{TensorType::I64, {"i64", 1, 8, false}},
    Entry{TensorType::F64, {"f64", 1, 8, false}},
    Entry{TensorType::BF16, {"bf16", 1, 2, false}},
};

}  // namespace

std::optional<TensorTypeTraits> tensor_type_traits(uint32_t id) {
    for (const auto& e : kTypes)
        if (static_cast<uint32_t>(e.type) == id) return e.traits;
    return std::nullopt;
}

const TensorTypeTraits& traits(TensorType t) {
    for (const auto& e : kTypes)
        if (e.type == t) return e.traits;
    fail("tensor type id {} is not supported", static_cast<uint32_t>(t));
}

size_t row_size(TensorType t, int64_t n) {
    const auto& tr = traits(t);
    RF_CHECK(n >= 0 && n % tr.block_size == 0,
             "a row of {} elements is not a whole number of {} blocks ({} per block)", n, tr.name,
             tr.block_size);
    return static_cast<size_t>(n / tr.block_size) * tr.type_size;
}

std::optional<TensorType> parse_tensor_type(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto& e : kTypes) {
        std::string n = e.traits.name;
        std::transform(n.begin(), n.end(), n.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (n == lower) return e.type;
    }
    return std::nullopt;
}

}  // namespace rf
