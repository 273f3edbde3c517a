#include "formats/gguf/gguf_json.h"

#include <type_traits>

namespace rf {

namespace {

template <typename T>
nlohmann::ordered_json scalar_to_json(const T& v) {
    if constexpr (std::is_same_v<T, float>) {
        return static_cast<double>(v);
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>) {
        return static_cast<int64_t>(v);
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        return static_cast<uint64_t>(v);
    } else {
        return v;  // bool, double, std::string
    }
}

}  // namespace

nlohmann::ordered_json gguf_array_to_json(const GgufArray& a) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    std::visit(
        [&](const auto& vec) {
            using E = typename std::decay_t<decltype(vec)>::value_type;
            for (const auto& x : vec) {
                if constexpr (std::is_same_v<E, GgufArray>) {
                    out.push_back(gguf_array_to_json(x));
                } else {
                    out.push_back(scalar_to_json(static_cast<E>(x)));
                }
            }
        },
        a.values);
    return out;
}

nlohmann::ordered_json gguf_value_to_json(const GgufValue& v) {
    return std::visit(
        [](const auto& x) -> nlohmann::ordered_json {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::shared_ptr<GgufArray>>) {
                return x ? gguf_array_to_json(*x) : nlohmann::ordered_json::array();
            } else {
                return scalar_to_json(x);
            }
        },
        v.storage());
}

}  // namespace rf
