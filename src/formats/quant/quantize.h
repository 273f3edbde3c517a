// Reference quantization and dequantization for every TensorType the project stores:
// F32, F16, BF16 (conversions) and Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K..Q6_K, Q8_K.
// Output is byte-compatible with GGUF files of the llama.cpp ecosystem; the K-quants use the same
// scale search as that ecosystem's reference quantizers (with and without an importance matrix),
// so a file we write is as good as theirs.
//
// n (elements per row) must be a multiple of block_size(type); violations throw rf::Error.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/tensor_type.h"

namespace rf {

class ThreadPool;

// dst receives n floats.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

// Quantizes one row of n floats into row_size(type, n) bytes at dst. importance: optional
// per-column weights (length n, e.g. from an imatrix), nullptr for none.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n,
                  const float* importance = nullptr);

// Quantizes n_rows rows of n_per_row floats (row-major) into dst, in parallel on pool when
// given. Returns the number of bytes written (n_rows * row_size(type, n_per_row)).
size_t quantize_rows(TensorType type, const float* src, void* dst, int64_t n_rows,
                     int64_t n_per_row, const float* importance = nullptr,
                     ThreadPool* pool = nullptr);

// Dequantizes using the widest SIMD path this CPU has (AVX-512 / AVX2 / scalar), same result as
// dequantize_row.
void dequantize_row_fast(TensorType type, const void* src, float* dst, int64_t n);

}  // namespace rf
