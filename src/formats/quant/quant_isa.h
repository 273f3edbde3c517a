// Run-time choice of the SIMD path used by the quantizers and dequantize_row_fast, and the entry
// points each ISA-specific file (*_avx2.cpp, *_avx512.cpp) provides. Every path gives exactly the
// results of the scalar reference; forcing a narrower path is for tests and benchmarks.
#pragma once

#include <cstdint>

#include "formats/quant/quant_k_search.h"
#include "formats/tensor_type.h"

namespace rf::quant {

enum class QuantIsa { scalar = 0, avx2 = 1, avx512 = 2 };

// The widest path this CPU supports (each needs every extension its files are compiled with:
// AVX-512 F/BW/VL/DQ/VNNI/BF16, AVX2 + FMA + F16C).
QuantIsa best_quant_isa();
// The path in use: best_quant_isa() unless narrowed by set_quant_isa.
QuantIsa quant_isa();
// Uses isa, or the best supported path if isa is wider. Returns the path now in use.
QuantIsa set_quant_isa(QuantIsa isa);
const char* quant_isa_name(QuantIsa isa);

// The functions every SIMD file implements (names are the same in namespaces avx2 and avx512).
#define RF_QUANT_ISA_FUNCTIONS                                                                    \
    void fit_scale_min_batch(int n_groups, int n, const float* x, const float* w, uint8_t* L,     \
                             float* scales, float* neg_mins, const ScaleMinSearch& p);            \
    void fit_scale_symmetric_batch(int n_groups, int n, int nmax, const float* x, const float* w, \
                                   int8_t* L, float* scales);                                     \
    /* Returns false for a type this ISA file has no kernel for. */                               \
    bool dequantize_row(TensorType type, const void* src, float* dst, int64_t n);                 \
    void quantize_row_q8_0(const float* x, void* dst, int64_t n);                                 \
    void quantize_row_f16(const float* x, void* dst, int64_t n);

namespace avx2 {
RF_QUANT_ISA_FUNCTIONS
}
namespace avx512 {
RF_QUANT_ISA_FUNCTIONS
}

}  // namespace rf::quant
