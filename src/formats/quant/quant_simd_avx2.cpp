// The avx2 instantiation (8 float lanes) of the lane-parallel scale searches, dequantization
// kernels and Q8_0 / F16 quantizers (quant_k_search_lanes.h, quant_dequant_lanes.h). Compiled with
// the avx2 -m flags (CMakeLists.txt); called only after quant_isa() has checked the CPU.
#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include "formats/quant/quant_dequant_lanes.h"
#include "formats/quant/quant_isa.h"
#include "formats/quant/quant_k_search_lanes.h"

namespace rf::quant::avx2 {

void fit_scale_min_batch(int n_groups, int n, const float* x, const float* w, uint8_t* L,
                         float* scales, float* neg_mins, const ScaleMinSearch& p) {
    fit_scale_min_batch_lanes<8>(n_groups, n, x, w, L, scales, neg_mins, p);
}

void fit_scale_symmetric_batch(int n_groups, int n, int nmax, const float* x, const float* w,
                               int8_t* L, float* scales) {
    fit_scale_symmetric_batch_lanes<8>(n_groups, n, nmax, x, w, L, scales);
}

bool dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
    return dequantize_row_lanes<8>(type, src, dst, n);
}

void quantize_row_q8_0(const float* x, void* dst, int64_t n) {
    quantize_row_q8_0_lanes<8>(x, dst, n);
}

void quantize_row_f16(const float* x, void* dst, int64_t n) {
    quantize_row_f16_lanes<8>(x, dst, n);
}

}  // namespace rf::quant::avx2
