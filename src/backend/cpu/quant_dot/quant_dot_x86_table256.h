// The kernel table of a 256-bit tier (avx2, avx_vnni). Include-only, once, from that tier's .cpp.
#pragma once

#include "backend/cpu/quant_dot/quant_dot_x86_256_k.h"

namespace rf::cpu::RF_DOT_NS {

DotKernel dot_kernel(TensorType w) {
    switch (w) {
        case TensorType::F32:
            return {ActFormat::f32, rows<K256_f32>};
        case TensorType::F16:
            return {ActFormat::f32, rows<K256_f16>};
        case TensorType::BF16:
            return {ActFormat::f32, rows<K256_bf16>};
        case TensorType::Q4_0:
            return {ActFormat::q8_0, rows<K256_q4_0>};
        case TensorType::Q4_1:
            return {ActFormat::q8_1, rows<K256_q4_1>};
        case TensorType::Q5_0:
            return {ActFormat::q8_0, rows<K256_q5_0>};
        case TensorType::Q5_1:
            return {ActFormat::q8_1, rows<K256_q5_1>};
        case TensorType::Q8_0:
            return {ActFormat::q8_0, rows<K256_q8_0>};
        case TensorType::Q2_K:
            return {ActFormat::q8_k, rows<K256_q2_k>};
        case TensorType::Q3_K:
            return {ActFormat::q8_k, rows<K256_q3_k>};
        case TensorType::Q4_K:
            return {ActFormat::q8_k, rows<K256_q4_k>};
        case TensorType::Q5_K:
            return {ActFormat::q8_k, rows<K256_q5_k>};
        case TensorType::Q6_K:
            return {ActFormat::q8_k, rows<K256_q6_k>};
        default:
            return {};
    }
}

}  // namespace rf::cpu::RF_DOT_NS
