// Quantization block layouts, byte-compatible with GGUF files of the llama.cpp ecosystem.
// This header is the single definition shared by host (CPU) and device (CUDA/HIP) code: every
// stride, block size and struct size used anywhere in the project comes from here.
//
// Legend: d = scale (f16 bits unless noted), m/dmin = minimum/offset, qs = packed quants,
// qh = high bits, QK = weights per block. For QK = 32 types the nibble layout is "split":
// qs[j] holds weight j in its low nibble and weight j + QK/2 in its high nibble.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rf {

using f16_bits = uint16_t;  // IEEE half stored as raw bits (host and device agree on layout)

constexpr int QK4_0 = 32;
constexpr int QK4_1 = 32;
constexpr int QK5_0 = 32;
constexpr int QK5_1 = 32;
constexpr int QK8_0 = 32;
constexpr int QK8_1 = 32;
constexpr int QK_K = 256;          // super-block size of the K-quants
constexpr int K_SCALE_SIZE = 12;   // packed 6-bit scales + mins of Q4_K / Q5_K

// Q4_0: w = d * (q - 8), q in [0, 15].                                          18 bytes / 32
struct block_q4_0 {
    f16_bits d;
    uint8_t qs[QK4_0 / 2];
};
// Q4_1: w = d * q + m, q in [0, 15].                                            20 bytes / 32
struct block_q4_1 {
    f16_bits d;
    f16_bits m;
    uint8_t qs[QK4_1 / 2];
};
// Q5_0: w = d * (q - 16), q = low nibble | (bit j of qh) << 4.                  22 bytes / 32
struct block_q5_0 {
    f16_bits d;
    uint8_t qh[4];  // bit j (little-endian u32) = 5th bit of weight j
    uint8_t qs[QK5_0 / 2];
};
// Q5_1: w = d * q + m.                                                          24 bytes / 32
struct block_q5_1 {
    f16_bits d;
    f16_bits m;
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
};
// Q8_0: w = d * q, q in [-127, 127].                                            34 bytes / 32
struct block_q8_0 {
    f16_bits d;
    int8_t qs[QK8_0];
};
// Q8_1: activations for Q4_1/Q5_1 dot products; s = d * sum(qs).                36 bytes / 32
struct block_q8_1 {
    f16_bits d;
    f16_bits s;
    int8_t qs[QK8_1];
};

// Q2_K: 16 sub-blocks of 16; scales[i] = scale (low 4 bits) | min (high 4 bits).
// w = d * (scales & 0xF) * q - dmin * (scales >> 4), q in [0, 3].              84 bytes / 256
struct block_q2_K {
    uint8_t scales[QK_K / 16];
    uint8_t qs[QK_K / 4];
    f16_bits d;
    f16_bits dmin;
};
// Q3_K: 16 sub-blocks of 16, 6-bit signed scales packed in 12 bytes; q = 2 low bits from qs
// plus a high bit from hmask; w = d * (scale - 32) * (q - 4 if the hmask bit is clear).
//                                                                               110 bytes / 256
struct block_q3_K {
    uint8_t hmask[QK_K / 8];
    uint8_t qs[QK_K / 4];
    uint8_t scales[12];
    f16_bits d;
};
// Q4_K: 8 sub-blocks of 32, 6-bit scales and mins packed in 12 bytes.
// w = d * sc * q - dmin * m, q in [0, 15].                                      144 bytes / 256
struct block_q4_K {
    f16_bits d;
    f16_bits dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qs[QK_K / 2];
};
// Q5_K: as Q4_K with a fifth bit per weight in qh.                              176 bytes / 256
struct block_q5_K {
    f16_bits d;
    f16_bits dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
// Q6_K: 16 sub-blocks of 16, 8-bit signed scales; q = ql (4 bits) | qh (2 bits) << 4;
// w = d * scale * (q - 32).                                                     210 bytes / 256
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    f16_bits d;
};
// Q8_K: activations for K-quant dot products. d is an f32; bsums[i] = sum of qs in group i
// of 16.                                                                        292 bytes / 256
struct block_q8_K {
    float d;
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16];
};

static_assert(sizeof(block_q4_0) == 18, "block_q4_0 layout");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 layout");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 layout");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 layout");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 layout");
static_assert(sizeof(block_q2_K) == 84, "block_q2_K layout");
static_assert(sizeof(block_q3_K) == 110, "block_q3_K layout");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K layout");
static_assert(sizeof(block_q8_K) == 292, "block_q8_K layout");

}  // namespace rf
