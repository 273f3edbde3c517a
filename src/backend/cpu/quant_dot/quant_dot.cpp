#include "backend/cpu/quant_dot/quant_dot.h"

namespace rf::cpu {

DotKernel dot_kernel(TensorType w, CpuIsa isa) {
    switch (isa) {
        case CpuIsa::avx512_vnni:
            return avx512vnni::dot_kernel(w);
        case CpuIsa::avx512:
            return avx512bw::dot_kernel(w);
        case CpuIsa::avx_vnni:
            return avxvnni::dot_kernel(w);
        case CpuIsa::avx2:
            return avx2::dot_kernel(w);
        case CpuIsa::scalar:
            break;
    }
    return scalar::dot_kernel(w);
}

}  // namespace rf::cpu
