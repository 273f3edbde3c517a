// Device helpers shared by the kernels: vendor names missing from vendor.cuh, the 4-way int8
// dot product (dp4a on NVIDIA, sdot4/sudot4 on AMD), f16/bf16 loads, block reductions.
#pragma once

#include <cstdint>

#include "backend/gpu/vendor.cuh"
#include "core/half.h"

#if defined(ROCMFORGE_WITH_HIP)
#define cudaStreamCaptureStatus hipStreamCaptureStatus
#define cudaStreamCaptureStatusNone hipStreamCaptureStatusNone
#define cudaStreamIsCapturing hipStreamIsCapturing
#define cudaHostAlloc hipHostMalloc
#define cudaMemset hipMemset
#define cudaHostAllocDefault hipHostMallocDefault
#define cudaFuncAttributes hipFuncAttributes
#define cudaFuncGetAttributes hipFuncGetAttributes
#define cudaDevAttrComputeCapabilityMajor hipDeviceAttributeComputeCapabilityMajor
#define cudaDevAttrComputeCapabilityMinor hipDeviceAttributeComputeCapabilityMinor
#define cudaDevAttrWarpSize hipDeviceAttributeWarpSize
#define cudaDevAttrMemoryClockRate hipDeviceAttributeMemoryClockRate
#define cudaDevAttrGlobalMemoryBusWidth hipDeviceAttributeMemoryBusWidth
#define cudaDevAttrMaxSharedMemoryPerBlock hipDeviceAttributeMaxSharedMemoryPerBlock
#endif

// Programmatic dependent launch (Hopper+): a kernel launched with the programmatic
// serialization attribute may start while its predecessor finishes; RF_PDL_ENTRY() at the top of
// every kernel waits for the predecessor's completion (and its memory) before anything else, then
// lets the next kernel start launching. A no-op without the attribute, before sm_90 and on HIP.
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
#define RF_PDL_ENTRY()                                        \
    do {                                                      \
        asm volatile("griddepcontrol.wait;" ::: "memory");    \
        asm volatile("griddepcontrol.launch_dependents;" ::); \
    } while (0)
// RF_PDL_ENTRY_TRIGGER_FIRST(): the next kernel may start launching before this one waits; only for
// kernels whose successor reads nothing but constants (weights) before its own wait.
#define RF_PDL_ENTRY_TRIGGER_FIRST()                          \
    do {                                                      \
        asm volatile("griddepcontrol.launch_dependents;" ::); \
        asm volatile("griddepcontrol.wait;" ::: "memory");    \
    } while (0)
#else
#define RF_PDL_ENTRY() \
    do {               \
    } while (0)
#define RF_PDL_ENTRY_TRIGGER_FIRST() \
    do {                             \
    } while (0)
#endif

namespace rf::gpu {

#if defined(__CUDACC__) || defined(__HIPCC__)

// Asks for the 128-byte line at p to be brought into L2 (no register, no wait); a no-op on HIP.
__device__ __forceinline__ void prefetch_l2(const void* p) {
#if !defined(ROCMFORGE_WITH_HIP)
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
#else
    (void)p;
#endif
}

// Eight floats from a 16-byte aligned address, as two 16-byte loads.
__device__ __forceinline__ void load8_f32(const float* p, float (&x)[8]) {
    const float4 u = *reinterpret_cast<const float4*>(p), w = *reinterpret_cast<const float4*>(p + 4);
    x[0] = u.x;
    x[1] = u.y;
    x[2] = u.z;
    x[3] = u.w;
    x[4] = w.x;
    x[5] = w.y;
    x[6] = w.z;
    x[7] = w.w;
}

// sum of the 4 signed byte products of a and b, plus c.
__device__ __forceinline__ int dp4a(int a, int b, int c) {
#if defined(ROCMFORGE_WITH_HIP)
#if defined(__gfx1100__) || defined(__gfx1101__) || defined(__gfx1102__) || defined(__gfx1103__) || \
    defined(__gfx1150__) || defined(__gfx1151__) || defined(__gfx1200__) || defined(__gfx1201__)
    return __builtin_amdgcn_sudot4(true, a, true, b, c, false);
#elif defined(__gfx906__) || defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || \
    defined(__gfx941__) || defined(__gfx942__) || defined(__gfx1011__) || defined(__gfx1012__) ||   \
    defined(__gfx1030__) || defined(__gfx1031__) || defined(__gfx1032__) || defined(__gfx1034__) || \
    defined(__gfx1035__)
    return __builtin_amdgcn_sdot4(a, b, c, false);
#else
    const int8_t* x = reinterpret_cast<const int8_t*>(&a);
    const int8_t* y = reinterpret_cast<const int8_t*>(&b);
    return c + x[0] * y[0] + x[1] * y[1] + x[2] * y[2] + x[3] * y[3];
#endif
#else
    return __dp4a(a, b, c);
#endif
}

__device__ __forceinline__ float half_to_float(uint16_t h) {
#if defined(ROCMFORGE_WITH_HIP)
    return __half2float(__ushort_as_half(h));
#else
    return __half2float(__ushort_as_half(h));
#endif
}

__device__ __forceinline__ float bf16_bits_to_float(uint16_t h) { return __uint_as_float(static_cast<uint32_t>(h) << 16); }

__device__ __forceinline__ uint16_t float_to_half_bits(float f) { return __half_as_ushort(__float2half_rn(f)); }

// Two f16 packed in a 32-bit word (low half first) -> floats.
__device__ __forceinline__ float2 half2_bits_to_float2(uint32_t v) {
    return make_float2(half_to_float(static_cast<uint16_t>(v & 0xffffu)), half_to_float(static_cast<uint16_t>(v >> 16)));
}

// Reads 16 bytes (the address must be 16-byte aligned).
__device__ __forceinline__ int4 load16(const void* p) { return *reinterpret_cast<const int4*>(p); }
// Reads 16 bytes that bypass L1 (streamed once: weights).
__device__ __forceinline__ int4 load16_stream(const void* p) {
#if defined(ROCMFORGE_WITH_HIP)
    return *reinterpret_cast<const int4*>(p);
#else
    return __ldcs(reinterpret_cast<const int4*>(p));
#endif
}
__device__ __forceinline__ uint32_t load_u8(const void* p) { return *static_cast<const uint8_t*>(p); }
__device__ __forceinline__ uint32_t load_u16(const void* p) { return *reinterpret_cast<const uint16_t*>(p); }
__device__ __forceinline__ uint32_t load_u32(const void* p) { return *reinterpret_cast<const uint32_t*>(p); }

__device__ __forceinline__ int int4_get(const int4& v, int i) {
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

__device__ __forceinline__ float silu(float x) { return x / (1.0f + __expf(-x)); }

// Inverse of a q8_1 block scale d = amax / 127 (0 for an all-zero block): the quants are
// round(v * (1 / d)) as in the CPU quantizer (formats/quant/quant_legacy.cpp), one division per
// block instead of one per element (an IEEE division is a ~10-instruction sequence with a branch,
// on the critical path of every kernel that quantizes).
__device__ __forceinline__ float q8_inverse_scale(float amax, float d) { return amax == 0.0f ? 0.0f : 1.0f / d; }

// q8_1 of 32 consecutive elements held one per lane of a warp (e: the lane's element; e - lane is
// a multiple of 32): d = max|v| / 127, xq[e] = round(v * (1 / d)), xds[e / 32] = (d, d * sum of the q).
__device__ __forceinline__ void quantize_q8_1_warp(float v, int64_t e, int8_t* xq, float2* xds) {
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const float amax = rf_warp_max_abs(v);
    const float d = amax / 127.0f;
    const int q = __float2int_rn(v * q8_inverse_scale(amax, d));
    xq[e] = static_cast<int8_t>(q);
    const int sum = rf_warp_sum_int(q);
    if (lane == 0) xds[e / 32] = make_float2(d, d * static_cast<float>(sum));
}

// The two halves of a block sum, for a caller with a barrier of its own between them: each warp's
// sum of v into scratch[warp] ...
__device__ __forceinline__ void block_sum_publish(float v, float* scratch) {
    v = rf_warp_sum(v);
    if (threadIdx.x % RF_WARP_SIZE == 0) scratch[threadIdx.x / RF_WARP_SIZE] = v;
}

// ... and, after a barrier, their sum (every thread gets it).
__device__ __forceinline__ float block_sum_collect(const float* scratch) {
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int n_warps = blockDim.x / RF_WARP_SIZE;
    return rf_warp_sum(lane < n_warps ? scratch[lane] : 0.0f);
}

// Sum over the block (blockDim.x a multiple of the warp size, at most 1024 threads) for a
// `scratch` of at least 32 floats that no earlier code of the kernel has used: one barrier.
// Every thread gets the result.
__device__ __forceinline__ float block_sum_fresh(float v, float* scratch) {
    block_sum_publish(v, scratch);
    __syncthreads();
    return block_sum_collect(scratch);
}

// block_sum_fresh where scratch may still be read by a previous call (a barrier first).
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    __syncthreads();
    return block_sum_fresh(v, scratch);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x % RF_WARP_SIZE, warp = threadIdx.x / RF_WARP_SIZE;
    const int n_warps = blockDim.x / RF_WARP_SIZE;
    v = rf_warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < n_warps ? scratch[lane] : -INFINITY;
    return rf_warp_max(v);
}

#endif  // device code

}  // namespace rf::gpu
