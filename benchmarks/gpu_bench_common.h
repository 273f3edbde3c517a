// Pieces the GPU benchmark programs share (gpu_bench.cpp, gpu_prefill_bench.cpp): comma-separated
// option lists, the synthetic Qwen2.5 shapes, and fast random weight bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "formats/quant_blocks.h"

namespace rf::bench {

// "a,b,c" -> {"a", "b", "c"} ("" -> {""}).
inline std::vector<std::string> split_list(const std::string& v) {
    std::vector<std::string> out;
    size_t p = 0;
    while (true) {
        const size_t q = v.find(',', p);
        out.push_back(v.substr(p, q == std::string::npos ? std::string::npos : q - p));
        if (q == std::string::npos) return out;
        p = q + 1;
    }
}

inline std::vector<int> split_ints(const std::string& v) {
    std::vector<int> out;
    for (const std::string& s : split_list(v)) out.push_back(std::stoi(s));
    return out;
}

// Qwen2.5 shapes (embedding, feed-forward, vocabulary, layers, heads, KV heads, head dim).
struct ModelDims {
    int64_t embd, ff, vocab;
    int layers, n_head, n_kv, hd;
};

// `who` names the program in the error for an unknown model.
inline ModelDims dims_of(const std::string& m, const char* who) {
    if (m == "0.5b") return {896, 4864, 151936, 24, 14, 2, 64};
    if (m == "1.5b") return {1536, 8960, 151936, 28, 12, 2, 128};
    if (m == "7b") return {3584, 18944, 152064, 28, 28, 4, 128};
    if (m == "tiny") return {64, 128, 256, 24, 4, 2, 16 * 4};
    fail("{}: unknown model {} (0.5b, 1.5b, 7b, tiny)", who, m);
}

// Random bytes of a rows x cols weight of type t (xorshift: fast for GBs) with sane scales: f16
// block scales d = 0.01 / 16 and, where the type has one, min `min_scale`; float types uniform in
// +-0.01.
inline std::vector<uint8_t> random_weight(TensorType t, int64_t rows, int64_t cols, uint64_t seed, float min_scale) {
    const size_t bytes = row_size(t, cols) * static_cast<size_t>(rows);
    std::vector<uint8_t> w(bytes);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        std::memcpy(w.data() + i, &s, 8);
    }
    const float scale = 0.01f;
    auto put = [&](size_t at, float v) {
        const uint16_t h = t == TensorType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
        std::memcpy(w.data() + at, &h, 2);
    };
    if (t == TensorType::F32) {
        for (size_t i = 0; i + 4 <= bytes; i += 4) {
            const float v = scale * static_cast<float>(static_cast<int8_t>(w[i])) / 128.0f;
            std::memcpy(w.data() + i, &v, 4);
        }
        return w;
    }
    if (t == TensorType::F16 || t == TensorType::BF16) {
        for (size_t i = 0; i + 2 <= bytes; i += 2) put(i, scale * static_cast<float>(static_cast<int8_t>(w[i])) / 128.0f);
        return w;
    }
    const size_t bs = type_size(t);
    size_t d_off = 0, m_off = SIZE_MAX;
    switch (t) {
        case TensorType::Q4_1: case TensorType::Q5_1: case TensorType::Q4_K: case TensorType::Q5_K: m_off = 2; break;
        case TensorType::Q2_K: d_off = 80; m_off = 82; break;
        case TensorType::Q3_K: d_off = 108; break;
        case TensorType::Q6_K: d_off = 208; break;
        default: break;
    }
    for (size_t b = 0; b < bytes / bs; ++b) {
        put(b * bs + d_off, scale / 16);
        if (m_off != SIZE_MAX) put(b * bs + m_off, min_scale);
    }
    return w;
}

}  // namespace rf::bench
