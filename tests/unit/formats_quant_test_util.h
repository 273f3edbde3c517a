// Helpers for the formats_quant_* tests: the input distributions, error measures, and stopgap
// readers for the two fixture files they need.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/half.h"
#include "formats/quant/quant_isa.h"
#include "formats/tensor_type.h"

namespace rf::test {

// The quantized types with their block sizes; the plain ones too.
inline const std::vector<TensorType>& all_quant_types() {
    static const std::vector<TensorType> types = {
        TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
        TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q8_1, TensorType::Q2_K,
        TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_K};
    return types;
}

// The SIMD paths this CPU can run (scalar first), and a guard that restores the path in use.
inline std::vector<quant::QuantIsa> available_isas() {
    std::vector<quant::QuantIsa> out;
    for (auto isa : {quant::QuantIsa::scalar, quant::QuantIsa::avx2, quant::QuantIsa::avx512})
        if (static_cast<int>(isa) <= static_cast<int>(quant::best_quant_isa())) out.push_back(isa);
    return out;
}

class IsaGuard {
  public:
    IsaGuard() : saved_(quant::quant_isa()) {}
    ~IsaGuard() { quant::set_quant_isa(saved_); }
    IsaGuard(const IsaGuard&) = delete;
    IsaGuard& operator=(const IsaGuard&) = delete;

  private:
    quant::QuantIsa saved_;
};

enum class Dist { normal, uniform, outliers, zero, constant, tiny, huge };

inline const char* dist_name(Dist d) {
    switch (d) {
        case Dist::normal:
            return "normal";
        case Dist::uniform:
            return "uniform";
        case Dist::outliers:
            return "outliers";
        case Dist::zero:
            return "zero";
        case Dist::constant:
            return "constant";
        case Dist::tiny:
            return "tiny";
        case Dist::huge:
            return "huge";
    }
    return "?";
}

// n values of distribution d: N(0,1); U(-1,1); N(0,1) with 1% of values x20; zeros; 0.37;
// N(0,1) * 1e-8; N(0,1) * 1e4.
inline std::vector<float> make_values(Dist d, size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    std::vector<float> x(n);
    for (float& v : x) {
        switch (d) {
            case Dist::normal:
                v = normal(rng);
                break;
            case Dist::uniform:
                v = uniform(rng);
                break;
            case Dist::outliers:
                v = normal(rng) * (uniform(rng) > 0.98f ? 20.f : 1.f);
                break;
            case Dist::zero:
                v = 0.f;
                break;
            case Dist::constant:
                v = 0.37f;
                break;
            case Dist::tiny:
                v = 1e-8f * normal(rng);
                break;
            case Dist::huge:
                v = 1e4f * normal(rng);
                break;
        }
    }
    return x;
}

// sqrt(sum (x - y)^2 / sum x^2); 0 when both are all zero.
inline double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double se = 0, sx = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double e = static_cast<double>(x[i]) - y[i];
        se += e * e;
        sx += static_cast<double>(x[i]) * x[i];
    }
    if (sx == 0) return se == 0 ? 0 : INFINITY;
    return std::sqrt(se / sx);
}

// Bit equality that also accepts two NaNs (F16C quiets signalling NaNs, core/half.h keeps them).
inline bool same_float(float a, float b) {
    if (std::isnan(a) && std::isnan(b)) return true;
    return std::memcmp(&a, &b, sizeof a) == 0;
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path, uint64_t offset,
                                       uint64_t size) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path.string());
    f.seekg(static_cast<std::streamoff>(offset));
    std::vector<uint8_t> out(size);
    f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
    if (!f) throw std::runtime_error("short read in " + path.string());
    return out;
}

// STOPGAP until src/formats/safetensors lands (written in parallel): reads one BF16 tensor of a
// .safetensors file as f32. Layout: u64 header length, JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}}, then the data (offsets relative to the end of the header).
inline std::vector<float> read_safetensors_bf16(const std::filesystem::path& path,
                                                const std::string& name,
                                                std::vector<int64_t>* shape = nullptr) {
    const auto len_bytes = read_bytes(path, 0, 8);
    uint64_t header_len;
    std::memcpy(&header_len, len_bytes.data(), 8);
    const auto header_bytes = read_bytes(path, 8, header_len);
    const auto header = nlohmann::json::parse(header_bytes.begin(), header_bytes.end());
    const auto& t = header.at(name);
    if (t.at("dtype") != "BF16") throw std::runtime_error(name + " is not BF16");
    const uint64_t begin = t.at("data_offsets")[0], end = t.at("data_offsets")[1];
    if (shape) *shape = t.at("shape").get<std::vector<int64_t>>();
    const auto raw = read_bytes(path, 8 + header_len + begin, end - begin);
    std::vector<float> out(raw.size() / 2);
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = bf16_to_f32(static_cast<uint16_t>(raw[2 * i] | (raw[2 * i + 1] << 8)));
    return out;
}

// STOPGAP until src/formats/gguf lands (written in parallel): the tensor directory of a GGUF v3
// file. Layout: "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv x (string key, u32 type,
// value), n_tensors x (string name, u32 n_dims, u64 dims[n_dims], u32 type, u64 offset), then
// the data at the next multiple of general.alignment (default 32); strings are u64 length +
// bytes.
struct GgufTensorEntry {
    std::vector<int64_t> dims;
    uint32_t type;
    uint64_t file_offset;  // absolute
};

inline std::map<std::string, GgufTensorEntry> read_gguf_directory(
    const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path.string());
    auto u32 = [&] {
        uint32_t v = 0;
        f.read(reinterpret_cast<char*>(&v), 4);
        return v;
    };
    auto u64 = [&] {
        uint64_t v = 0;
        f.read(reinterpret_cast<char*>(&v), 8);
        return v;
    };
    auto str = [&] {
        std::string s(u64(), '\0');
        f.read(s.data(), static_cast<std::streamsize>(s.size()));
        return s;
    };
    auto scalar_size = [](uint32_t type) -> uint64_t {
        static const uint64_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        if (type > 12 || type == 8 || type == 9) throw std::runtime_error("gguf: bad value type");
        return sizes[type];
    };
    if (u32() != 0x46554747u) throw std::runtime_error("not a GGUF file: " + path.string());
    u32();  // version
    const uint64_t n_tensors = u64(), n_kv = u64();
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; ++i) {
        const std::string key = str();
        const uint32_t type = u32();
        if (type == 8) {
            str();
        } else if (type == 9) {
            const uint32_t elem = u32();
            const uint64_t count = u64();
            for (uint64_t k = 0; k < count; ++k) {
                if (elem == 8)
                    str();
                else
                    f.seekg(static_cast<std::streamoff>(scalar_size(elem)), std::ios::cur);
            }
        } else if (key == "general.alignment" && type == 4) {
            alignment = u32();
        } else {
            f.seekg(static_cast<std::streamoff>(scalar_size(type)), std::ios::cur);
        }
    }
    std::map<std::string, GgufTensorEntry> out;
    for (uint64_t i = 0; i < n_tensors; ++i) {
        const std::string name = str();
        GgufTensorEntry e;
        e.dims.resize(u32());
        for (auto& d : e.dims) d = static_cast<int64_t>(u64());
        e.type = u32();
        e.file_offset = u64();
        out[name] = e;
    }
    if (!f) throw std::runtime_error("gguf: truncated header in " + path.string());
    const uint64_t data_start =
        (static_cast<uint64_t>(f.tellg()) + alignment - 1) / alignment * alignment;
    for (auto& [name, e] : out) e.file_offset += data_start;
    return out;
}

}  // namespace rf::test
