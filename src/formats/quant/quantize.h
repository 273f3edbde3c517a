// Reference quantization and dequantization for every TensorType the project stores:
// F32, F16, BF16 (conversions) and Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K..Q6_K, Q8_K.
// Output is byte-compatible with GGUF files of the llama.cpp ecosystem; the K-quants use the same
// scale search as that ecosystem's reference quantizers (with and without an importance matrix),
// so a file we write is as good as theirs.
//
// n (elements per row) must be a multiple of block_size(type); violations throw rf::Error, as
// does a type without a (de)quantizer (I8..I64, F64).
//
// Exactness: for finite input the bytes are identical to those of ggml's quantize_<type>
// (quantize_row_<type>_ref without importance; Q8_1 / Q8_K: quantize_row_*_ref) as built for
// baseline x86-64, and dequantize_row gives ggml's dequantize_row_<type> values bit for bit.
// Every SIMD path (AVX2, AVX-512, chosen at run time) gives the same bytes and values as the
// scalar one (quant/quant_isa.h).
//
// Non-finite input (NaN, +-inf, or values whose scales overflow f16) never crashes and never
// touches memory outside the row. The block (super-block for the K-quants) holding it decodes to
// unspecified values, typically NaN or inf; without importance every other block is unaffected.
// (With importance the legacy types weight errors by the row's mean square, so a NaN can change
// every block of its row.) Weights too small for an f16 scale (|x| below ~1e-7) decode to 0 or
// to a few f16 subnormal steps (6e-8 each).
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/tensor_type.h"

namespace rf {

class ThreadPool;

// dst receives n floats.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

// Quantizes one row of n floats into row_size(type, n) bytes at dst. importance: optional
// per-column weights (length n, e.g. from an imatrix), nullptr for none; used by Q4_0..Q5_1 and
// Q2_K..Q6_K (their importance-weighted searches), ignored by Q8_0, Q8_1, Q8_K and the plain
// types, as in ggml.
void quantize_row(TensorType type, const float* src, void* dst, int64_t n,
                  const float* importance = nullptr);

// Quantizes n_rows rows of n_per_row floats (row-major) into dst, in parallel on pool when
// given. Returns the number of bytes written (n_rows * row_size(type, n_per_row)).
size_t quantize_rows(TensorType type, const float* src, void* dst, int64_t n_rows,
                     int64_t n_per_row, const float* importance = nullptr,
                     ThreadPool* pool = nullptr);

// Dequantizes using the widest SIMD path this CPU has (AVX-512 / AVX2 / scalar), same result as
// dequantize_row (bit for bit; only F16 NaN payloads may differ: F16C quiets signalling NaNs).
void dequantize_row_fast(TensorType type, const void* src, float* dst, int64_t n);

}  // namespace rf
