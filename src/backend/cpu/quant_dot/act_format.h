// The formats matmul activations are converted to before the dot kernels run (once per matmul).
//
//   f32, bf16            plain rows
//   q8_0, q8_1, q8_k     GGUF blocks (quant_blocks.h), the values of quantize_row
//   q8_x4_*              the Q8_0 values of a row regrouped for the 512-bit VNNI kernels of the
//                        32-weight block types: groups of 4 blocks (block_q8_x4 below; the last
//                        group padded with zero blocks) whose quant order matches the weights'
//                        nibble order, with the scales broadcast to the lanes that vpdpbusd
//                        fills for each block and a per-block term folded in:
//     q8_x4_off8 / _off16 / _off128:  aux lane 4k = -off * sum(q of block k) as i32, so that
//                        dots with unsigned weights u = w + off need no correction step
//                        (Q4_0: off 8, Q5_0: 16, Q8_0 read as u = w ^ 0x80: 128)
//     q8_x4_sum:         aux lane 4k = d * sum(q of block k) as f32 (the Q8_1 s, unrounded)
#pragma once

#include <cstddef>
#include <cstdint>

namespace rf::cpu {

enum class ActFormat : uint8_t {
    f32,
    bf16,
    q8_0,
    q8_1,
    q8_k,
    q8_x4_off8,
    q8_x4_off16,
    q8_x4_off128,
    q8_x4_sum
};

// 4 blocks of 32 activations.                                                     256 bytes
struct block_q8_x4 {
    // [b0 0..15, b1 0..15, b2 0..15, b3 0..15, b0 16..31, b1 16..31, b2 16..31, b3 16..31]
    int8_t qs[128];
    float d[16];      // lane 4k + i (i < 4): scale of block k
    int32_t aux[16];  // lane 4k: see the format; other lanes 0
};
static_assert(sizeof(block_q8_x4) == 256, "block_q8_x4 layout");

const char* act_format_name(ActFormat f);
// Bytes of a row of n activations (n a multiple of the format's block size: 32, 256 for q8_k).
size_t act_row_bytes(ActFormat f, int64_t n);
// Converts a row of n floats.
void quantize_activation(ActFormat f, const float* x, void* dst, int64_t n);
// The values the kernels see (tests): n floats.
void dequantize_activation(ActFormat f, const void* src, float* dst, int64_t n);

}  // namespace rf::cpu
