#include "tools/synthetic_blocks.h"

#include <cstddef>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "formats/quant_blocks.h"

namespace rf {
namespace {

// splitmix64: 8 random bytes per step.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // uniform in [0, 1)
    float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
};

void fill_bytes(Rng& rng, uint8_t* dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint64_t v = rng.next();
        std::memcpy(dst + i, &v, 8);
    }
    if (i < n) {
        const uint64_t v = rng.next();
        std::memcpy(dst + i, &v, n - i);
    }
}

void put_f16(uint8_t* p, float v) {
    const uint16_t h = f32_to_f16(v);
    std::memcpy(p, &h, 2);
}

// Where a block keeps its f16 scales, and the typical |integer weight| x |sub-block scale| of
// random bits (so that d = 0.02 / magnitude gives weights around 0.02).
struct ScaleFields {
    size_t d = 0, second = SIZE_MAX;  // second: m (Q4_1/Q5_1) or dmin (K-quants); SIZE_MAX: none
    float magnitude = 1.0f;
    float second_ratio =
        0.0f;  // second = -ratio * d for m (centres the weights), +ratio * d for dmin
};

ScaleFields scale_fields(TensorType t) {
    switch (t) {
        case TensorType::Q4_0:
            return {offsetof(block_q4_0, d), SIZE_MAX, 4.0f, 0.0f};
        case TensorType::Q4_1:
            return {offsetof(block_q4_1, d), offsetof(block_q4_1, m), 4.0f, 8.0f};
        case TensorType::Q5_0:
            return {offsetof(block_q5_0, d), SIZE_MAX, 8.0f, 0.0f};
        case TensorType::Q5_1:
            return {offsetof(block_q5_1, d), offsetof(block_q5_1, m), 8.0f, 16.0f};
        case TensorType::Q8_0:
            return {offsetof(block_q8_0, d), SIZE_MAX, 64.0f, 0.0f};
        case TensorType::Q2_K:
            return {offsetof(block_q2_K, d), offsetof(block_q2_K, dmin), 12.0f, 0.2f};
        case TensorType::Q3_K:
            return {offsetof(block_q3_K, d), SIZE_MAX, 32.0f, 0.0f};
        case TensorType::Q4_K:
            return {offsetof(block_q4_K, d), offsetof(block_q4_K, dmin), 256.0f, 0.25f};
        case TensorType::Q5_K:
            return {offsetof(block_q5_K, d), offsetof(block_q5_K, dmin), 512.0f, 0.25f};
        case TensorType::Q6_K:
            return {offsetof(block_q6_K, d), SIZE_MAX, 1024.0f, 0.0f};
        default:
            fail("fill_random_blocks: no random generator for type {}", type_name(t));
    }
}

}  // namespace

void fill_random_floats(float* dst, size_t n, float center, float spread, uint64_t seed) {
    Rng rng{seed};
    for (size_t i = 0; i < n; ++i) dst[i] = center + spread * (2.0f * rng.uniform() - 1.0f);
}

void fill_random_blocks(TensorType type, uint8_t* dst, size_t nbytes, uint64_t seed) {
    const size_t bs = type_size(type);
    RF_CHECK(nbytes % bs == 0, "fill_random_blocks: {} bytes is not a whole number of {} blocks",
             nbytes, type_name(type));
    Rng rng{seed};
    switch (type) {
        case TensorType::F32:
            fill_random_floats(reinterpret_cast<float*>(dst), nbytes / 4, 0.0f, 0.035f, seed);
            return;
        case TensorType::F16:
        case TensorType::BF16:
            for (size_t i = 0; i < nbytes; i += 2) {
                const float v = 0.035f * (2.0f * rng.uniform() - 1.0f);
                const uint16_t h = type == TensorType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
                std::memcpy(dst + i, &h, 2);
            }
            return;
        default:
            break;
    }
    const ScaleFields f = scale_fields(type);
    fill_bytes(rng, dst, nbytes);
    for (size_t off = 0; off < nbytes; off += bs) {
        uint8_t* block = dst + off;
        const float d = 0.02f / f.magnitude * (0.5f + rng.uniform());
        put_f16(block + f.d, d);
        if (f.second != SIZE_MAX) {
            const bool is_min_offset = type == TensorType::Q4_1 || type == TensorType::Q5_1;
            put_f16(block + f.second, (is_min_offset ? -f.second_ratio : f.second_ratio) * d);
        }
    }
}

}  // namespace rf
