// Warp-level matrix instructions of NVIDIA sm_80+ used by the prefill kernels (tiled GEMM and
// flash attention), as small inline-asm wrappers:
//   mma.sync m16n8k16, f16 or bf16 inputs, f32 accumulators;
//   ldmatrix (x2 / x4, plain and transposed) from shared memory;
//   cp.async 16-byte copies global -> shared with commit / wait groups.
//
// Fragment layouts of m16n8k16 (g = lane / 4, c = lane % 4; element pairs packed in one 32-bit
// register, the lower k or column first):
//   A 16x16 (row-major):  a[0] = (g, 2c..2c+1)  a[1] = (g+8, 2c..)  a[2] = (g, 2c+8..)  a[3] = (g+8, 2c+8..)
//   B 16x8  (k x n):      b[0] = (k 2c..2c+1, n g)                  b[1] = (k 2c+8.., n g)
//   C 16x8  (f32):        c[0], c[1] = (g, 2c), (g, 2c+1)           c[2], c[3] = (g+8, 2c), (g+8, 2c+1)
// ldmatrix.x4 with lane l addressing row (l % 16), column block (l / 16) * 8 of a row-major
// 16x16 tile yields exactly the A fragment; with rows = n and columns = k (B stored n-major,
// k contiguous) x2/x4 yield B fragments; .trans on a k-major tile (rows = k) yields B too.
//
// On HIP and on NVIDIA before sm_80 (RF_DEVICE_MMA == 0) the bodies are empty: the kernels that
// use them are never launched there (gpu_dispatch_table.h).
#pragma once

#include <cstdint>
#include <cstring>

#include "backend/gpu/gpu_common.cuh"

#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
#define RF_DEVICE_MMA 1
#else
#define RF_DEVICE_MMA 0
#endif

namespace rf::gpu {

#if defined(__CUDACC__) || defined(__HIPCC__)

// Shared-memory address as the 32-bit value the instructions take.
__device__ __forceinline__ uint32_t smem_addr(const void* p) {
#if RF_DEVICE_MMA
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
#else
    return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p));
#endif
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], uint32_t addr) {
#if RF_DEVICE_MMA
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
#else
    r[0] = r[1] = r[2] = r[3] = addr & 0u;
#endif
}

__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], uint32_t addr) {
#if RF_DEVICE_MMA
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(addr));
#else
    r[0] = r[1] = addr & 0u;
#endif
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], uint32_t addr) {
#if RF_DEVICE_MMA
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr));
#else
    r[0] = r[1] = r[2] = r[3] = addr & 0u;
#endif
}

// c += a * b, f16 (BF16 = false) or bf16 inputs.
template <bool BF16>
__device__ __forceinline__ void mma_16816(float c[4], const uint32_t a[4], const uint32_t b[2]) {
#if RF_DEVICE_MMA
    if constexpr (BF16) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#else
    (void)a;
    (void)b;
    c[0] += 0.0f;
#endif
}

#if RF_DEVICE_MMA
// 2^x on the special-function unit (2 ulp; -inf -> 0): in the flash kernels the softmax would
// otherwise cost about as many issue slots as the matrix products of a tile.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
#endif

// 16 bytes global -> shared, asynchronous (L2 only: .cg). src_bytes 0 fills the 16 bytes with
// zeros without reading src.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes = 16) {
#if RF_DEVICE_MMA
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(src_bytes));
#else
    (void)dst;
    (void)src;
    (void)src_bytes;
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if RF_DEVICE_MMA
    asm volatile("cp.async.commit_group;");
#endif
}

// Waits until at most N committed groups of this thread are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if RF_DEVICE_MMA
    asm volatile("cp.async.wait_group %0;" ::"n"(N));
#endif
}

// Two floats as a packed pair of f16 (BF16 = false) or bf16, the first in the low half.
template <bool BF16>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
    if constexpr (BF16) return static_cast<uint32_t>(f32_to_bf16(lo)) | (static_cast<uint32_t>(f32_to_bf16(hi)) << 16);
    else {
        const __half2 h = __floats2half2_rn(lo, hi);  // one cvt.rn.f16x2.f32 on NVIDIA
        uint32_t u;
        memcpy(&u, &h, sizeof u);
        return u;
    }
}

template <bool BF16>
__device__ __forceinline__ float2 unpack2(uint32_t v) {
    if constexpr (BF16)
        return make_float2(bf16_bits_to_float(static_cast<uint16_t>(v & 0xffffu)), bf16_bits_to_float(static_cast<uint16_t>(v >> 16)));
    else return half2_bits_to_float2(v);
}

#endif  // device code

#if RF_DEVICE_MMA
// One online-softmax step (base 2) of a warp's 16 mma rows over NS S tiles of 8 columns, as the
// flash kernels run it: rows lo (= g, elements 0, 1) and hi (= g + 8, elements 2, 3); the running
// max m and sum l (per lane: its columns; the 4 lanes of a row reduce l at the end) are updated,
// O (NO tiles) rescaled, and P = 2^(s - max) returned as f16 A fragments pf[k] = {lo k 2c, hi k 2c,
// lo k 2c+8, hi k 2c+8} for k = 16-column steps. Rows with nothing seen yet (max -inf) keep 0s.
template <int NS, int NO>
__device__ __forceinline__ void flash_softmax_step(const float (&s)[NS][4], float& m_lo, float& m_hi, float& l_lo,
                                                   float& l_hi, float (&o)[NO][4], uint32_t (&pf)[NS / 2][4]) {
    float mx_lo = -INFINITY, mx_hi = -INFINITY;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        mx_lo = fmaxf(mx_lo, fmaxf(s[n][0], s[n][1]));
        mx_hi = fmaxf(mx_hi, fmaxf(s[n][2], s[n][3]));
    }
#pragma unroll
    for (int m = 1; m <= 2; m <<= 1) {
        mx_lo = fmaxf(mx_lo, rf_shfl_xor(mx_lo, m));
        mx_hi = fmaxf(mx_hi, rf_shfl_xor(mx_hi, m));
    }
    const float mn_lo = fmaxf(m_lo, mx_lo), mn_hi = fmaxf(m_hi, mx_hi);
    const float mu_lo = mn_lo == -INFINITY ? 0.0f : mn_lo;
    const float mu_hi = mn_hi == -INFINITY ? 0.0f : mn_hi;
    const float corr_lo = fast_exp2(m_lo - mu_lo), corr_hi = fast_exp2(m_hi - mu_hi);
    m_lo = mn_lo;
    m_hi = mn_hi;
    float sum_lo = 0.0f, sum_hi = 0.0f;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        const float p0 = fast_exp2(s[n][0] - mu_lo), p1 = fast_exp2(s[n][1] - mu_lo);
        const float p2 = fast_exp2(s[n][2] - mu_hi), p3 = fast_exp2(s[n][3] - mu_hi);
        sum_lo += p0 + p1;
        sum_hi += p2 + p3;
        pf[n / 2][(n % 2) * 2 + 0] = pack2<false>(p0, p1);
        pf[n / 2][(n % 2) * 2 + 1] = pack2<false>(p2, p3);
    }
    l_lo = l_lo * corr_lo + sum_lo;
    l_hi = l_hi * corr_hi + sum_hi;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
        o[n][0] *= corr_lo;
        o[n][1] *= corr_lo;
        o[n][2] *= corr_hi;
        o[n][3] *= corr_hi;
    }
}
#endif

}  // namespace rf::gpu
