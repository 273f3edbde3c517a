// Dot kernels of the avx512 tier (AVX-512 F/BW/VL/DQ, no VNNI): 512-bit maddubs / madd.
#define RF_DOT_NS avx512bw
#define RF_DOT_VNNI256 0
#define RF_DOT_VNNI512 0
#include "backend/cpu/quant_dot/quant_dot_x86_512.h"

namespace rf::cpu::avx512bw {

DotKernel dot_kernel(TensorType w) {
    switch (w) {
        case TensorType::F32:
            return {ActFormat::f32, rows<K512_f32>};
        case TensorType::F16:
            return {ActFormat::f32, rows<K512_f16>};
        case TensorType::BF16:
            return {ActFormat::f32, rows<K512_bf16>};
        case TensorType::Q4_0:
            return {ActFormat::q8_0, rows<K512_q4_0>};
        case TensorType::Q4_1:
            return {ActFormat::q8_1, rows<K512_q4_1>};
        case TensorType::Q5_0:
            return {ActFormat::q8_0, rows<K512_q5_0>};
        case TensorType::Q5_1:
            return {ActFormat::q8_1, rows<K512_q5_1>};
        case TensorType::Q8_0:
            return {ActFormat::q8_0, rows<K512_q8_0>};
        case TensorType::Q2_K:
            return {ActFormat::q8_k, rows<K512_q2_k>};
        case TensorType::Q3_K:
            return {ActFormat::q8_k, rows<K512_q3_k>};
        case TensorType::Q4_K:
            return {ActFormat::q8_k, rows<K512_q4_k>};
        case TensorType::Q5_K:
            return {ActFormat::q8_k, rows<K512_q5_k>};
        case TensorType::Q6_K:
            return {ActFormat::q8_k, rows<K512_q6_k>};
        default:
            return {};
    }
}

}  // namespace rf::cpu::avx512bw
