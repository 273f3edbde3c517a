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

}  // namespace rf::gpu
