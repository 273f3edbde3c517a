// Helpers for the backend_cpu_* tests: random data, the SIMD tiers this CPU runs, a guard that
// restores the tier in use, and weights of any type (quantized from random floats, or random
// blocks with every bit pattern).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "formats/quant/quantize.h"
#include "formats/tensor_type.h"
#include "tools/synthetic_blocks.h"

namespace rf::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

// Every tier this CPU supports, scalar first.
inline std::vector<cpu::CpuIsa> supported_cpu_isas() {
    std::vector<cpu::CpuIsa> out;
    for (auto isa : {cpu::CpuIsa::scalar, cpu::CpuIsa::avx2, cpu::CpuIsa::avx_vnni,
                     cpu::CpuIsa::avx512, cpu::CpuIsa::avx512_vnni})
        if (cpu::cpu_isa_supported(isa)) out.push_back(isa);
    return out;
}

class CpuIsaGuard {
  public:
    CpuIsaGuard() : saved_(cpu::cpu_isa()) {}
    ~CpuIsaGuard() { cpu::set_cpu_isa(saved_); }
    CpuIsaGuard(const CpuIsaGuard&) = delete;
    CpuIsaGuard& operator=(const CpuIsaGuard&) = delete;

  private:
    cpu::CpuIsa saved_;
};

// Weight types with a dot kernel.
inline const std::vector<TensorType>& dot_weight_types() {
    static const std::vector<TensorType> types = {
        TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
        TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
        TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};
    return types;
}

// rows x n weights of `type`: quantized from N(0, 1) floats, or (random_bits) random blocks.
inline std::vector<uint8_t> make_weights(TensorType type, int64_t rows, int64_t n, uint32_t seed,
                                         bool random_bits = false) {
    std::vector<uint8_t> w(row_size(type, n) * static_cast<size_t>(rows));
    if (random_bits) {
        fill_random_blocks(type, w.data(), w.size(), seed);
    } else {
        const auto x = random_floats(static_cast<size_t>(rows * n), seed);
        quantize_rows(type, x.data(), w.data(), rows, n);
    }
    return w;
}

}  // namespace rf::test
