// Dot kernels of the avx512_vnni tier (AVX-512 + VNNI + BF16): four-block vpdpbusd kernels for
// the 32-weight block types (quant_dot_x86_512_x4.h), vdpbf16ps for BF16 weights against
// bf16-rounded activations.
#define RF_DOT_NS avx512vnni
#define RF_DOT_VNNI256 2
#define RF_DOT_VNNI512 1
#include "backend/cpu/quant_dot/quant_dot_x86_512_x4.h"

namespace rf::cpu::avx512vnni {
namespace {

inline float bf16_value(uint16_t h) {
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// BF16 weights x BF16 activations: pairs of bf16 products summed into f32 lanes.
template <int NT>
void dot_bf16_dp(int64_t n, const void* vw, const void* act, size_t act_stride, float* out,
                 size_t out_stride) {
    const auto* w = static_cast<const uint16_t*>(vw);
    const uint16_t* y[NT];
    for (int j = 0; j < NT; ++j)
        y[j] = reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(act) + j * act_stride);
    constexpr int kUnroll = NT == 1 ? 2 : 1;
    __m512 part[kUnroll][NT];
    for (int u = 0; u < kUnroll; ++u)
        for (int j = 0; j < NT; ++j) part[u][j] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 * kUnroll <= n; i += 32 * kUnroll)
#pragma GCC unroll 2
        for (int u = 0; u < kUnroll; ++u) {
            const __m512bh wv = (__m512bh)_mm512_loadu_si512(w + i + 32 * u);
#pragma GCC unroll 4
            for (int j = 0; j < NT; ++j)
                part[u][j] = _mm512_dpbf16_ps(part[u][j], wv,
                                              (__m512bh)_mm512_loadu_si512(y[j] + i + 32 * u));
        }
    for (int j = 0; j < NT; ++j) {
        __m512 s = part[0][j];
        for (int u = 1; u < kUnroll; ++u) s = _mm512_add_ps(s, part[u][j]);
        float r = _mm512_reduce_add_ps(s);
        for (int64_t k = i; k < n; ++k) r += bf16_value(w[k]) * bf16_value(y[j][k]);
        out[static_cast<size_t>(j) * out_stride] = r;
    }
}
template <int NT>
struct K512_bf16_dp {
    static constexpr FixedDot run = dot_bf16_dp<NT>;
};

}  // namespace

DotKernel dot_kernel(TensorType w) {
    switch (w) {
        case TensorType::F32:
            return {ActFormat::f32, rows<K512_f32>};
        case TensorType::F16:
            return {ActFormat::f32, rows<K512_f16>};
        case TensorType::BF16:
            return {ActFormat::bf16, rows<K512_bf16_dp>};
        case TensorType::Q4_0:
            return {ActFormat::q8_x4_off8, rows<KX4_q4_0>};
        case TensorType::Q4_1:
            return {ActFormat::q8_x4_sum, rows<KX4_q4_1>};
        case TensorType::Q5_0:
            return {ActFormat::q8_x4_off16, rows<KX4_q5_0>};
        case TensorType::Q5_1:
            return {ActFormat::q8_x4_sum, rows<KX4_q5_1>};
        case TensorType::Q8_0:
            return {ActFormat::q8_x4_off128, rows<KX4_q8_0>};
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

}  // namespace rf::cpu::avx512vnni
