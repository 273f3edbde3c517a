// Per-type row functions behind quantize.h (internal). n is the number of weights of the row and
// a multiple of the type's block size (quantize.cpp checks it). imatrix: per-column importance
// (n floats) or nullptr; the types that ignore it say so in quantize.h.
#pragma once

#include <cstdint>

namespace rf::quant {

// Plain conversions (quant_plain.cpp).
void quantize_f16(const float* x, void* dst, int64_t n);
void quantize_bf16(const float* x, void* dst, int64_t n);
void dequantize_f16(const void* src, float* y, int64_t n);
void dequantize_bf16(const void* src, float* y, int64_t n);

// 32-weight block types (quant_legacy.cpp).
void quantize_q4_0(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q4_1(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q5_0(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q5_1(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q8_0(const float* x, void* dst, int64_t n);
void quantize_q8_1(const float* x, void* dst, int64_t n);
void dequantize_q4_0(const void* src, float* y, int64_t n);
void dequantize_q4_1(const void* src, float* y, int64_t n);
void dequantize_q5_0(const void* src, float* y, int64_t n);
void dequantize_q5_1(const void* src, float* y, int64_t n);
void dequantize_q8_0(const void* src, float* y, int64_t n);
void dequantize_q8_1(const void* src, float* y, int64_t n);

// 256-weight super-block types (quant_q2_k.cpp ... quant_q8_k.cpp).
void quantize_q2_k(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q3_k(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q4_k(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q5_k(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q6_k(const float* x, void* dst, int64_t n, const float* imatrix);
void quantize_q8_k(const float* x, void* dst, int64_t n);
void dequantize_q2_k(const void* src, float* y, int64_t n);
void dequantize_q3_k(const void* src, float* y, int64_t n);
void dequantize_q4_k(const void* src, float* y, int64_t n);
void dequantize_q5_k(const void* src, float* y, int64_t n);
void dequantize_q6_k(const void* src, float* y, int64_t n);
void dequantize_q8_k(const void* src, float* y, int64_t n);

}  // namespace rf::quant
