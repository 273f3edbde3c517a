#include "backend/cpu/cpu_vec.h"

namespace rf::cpu {

const VecOps& vec_ops(CpuIsa isa) {
    switch (isa) {
        case CpuIsa::avx512:
        case CpuIsa::avx512_vnni:
            return avx512bw::kVecOps;
        case CpuIsa::avx2:
        case CpuIsa::avx_vnni:
            return avx2::kVecOps;
        case CpuIsa::scalar:
            break;
    }
    return scalar::kVecOps;
}

}  // namespace rf::cpu
