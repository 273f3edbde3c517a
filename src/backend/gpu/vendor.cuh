// The one vendor header: kernels and GPU host code are written with CUDA names; for HIP builds
// this header maps them (cudaMalloc -> hipMalloc, __shfl_xor_sync -> __shfl_xor, ...). No
// build-time hipify. Per-architecture facts (warp size, matrix units) come from gpu_arch.cuh.
#pragma once

#if defined(ROCMFORGE_WITH_HIP)
#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>

#define cudaError_t hipError_t
#define cudaSuccess hipSuccess
#define cudaErrorNotReady hipErrorNotReady
#define cudaGetErrorString hipGetErrorString
#define cudaGetErrorName hipGetErrorName
#define cudaGetLastError hipGetLastError
#define cudaPeekAtLastError hipPeekAtLastError
#define cudaGetDeviceCount hipGetDeviceCount
#define cudaSetDevice hipSetDevice
#define cudaGetDevice hipGetDevice
#define cudaDeviceProp hipDeviceProp_t
#define cudaGetDeviceProperties hipGetDeviceProperties
#define cudaDeviceGetAttribute hipDeviceGetAttribute
#define cudaOccupancyMaxActiveBlocksPerMultiprocessor hipOccupancyMaxActiveBlocksPerMultiprocessor
#define cudaDevAttrKernelExecTimeout hipDeviceAttributeKernelExecTimeout
#define cudaDevAttrMultiProcessorCount hipDeviceAttributeMultiprocessorCount
#define cudaDevAttrMaxSharedMemoryPerBlockOptin hipDeviceAttributeSharedMemPerBlockOptin
#define cudaDriverGetVersion hipDriverGetVersion
#define cudaRuntimeGetVersion hipRuntimeGetVersion
#define cudaMalloc hipMalloc
#define cudaFree hipFree
#define cudaMallocHost hipHostMalloc
#define cudaFreeHost hipHostFree
#define cudaHostGetDevicePointer hipHostGetDevicePointer
#define cudaHostAlloc hipHostMalloc
#define cudaHostAllocMapped hipHostMallocMapped
#define cudaMemcpy hipMemcpy
#define cudaMemcpyAsync hipMemcpyAsync
#define cudaMemsetAsync hipMemsetAsync
#define cudaMemGetInfo hipMemGetInfo
#define cudaMemcpyHostToDevice hipMemcpyHostToDevice
#define cudaMemcpyDeviceToHost hipMemcpyDeviceToHost
#define cudaMemcpyDeviceToDevice hipMemcpyDeviceToDevice
#define cudaStream_t hipStream_t
#define cudaStreamCreateWithFlags hipStreamCreateWithFlags
#define cudaStreamNonBlocking hipStreamNonBlocking
#define cudaStreamDestroy hipStreamDestroy
#define cudaStreamSynchronize hipStreamSynchronize
#define cudaStreamBeginCapture hipStreamBeginCapture
#define cudaStreamEndCapture hipStreamEndCapture
#define cudaStreamCaptureModeRelaxed hipStreamCaptureModeRelaxed
#define cudaGraph_t hipGraph_t
#define cudaGraphExec_t hipGraphExec_t
#define cudaGraphInstantiate(exec, graph, flags) hipGraphInstantiate(exec, graph, nullptr, nullptr, 0)
#define cudaGraphLaunch hipGraphLaunch
#define cudaGraphDestroy hipGraphDestroy
#define cudaGraphExecDestroy hipGraphExecDestroy
#define cudaGraphExecUpdate hipGraphExecUpdate
#define cudaGraphExecUpdateResultInfo hipGraphExecUpdateResult
#define cudaEvent_t hipEvent_t
#define cudaEventCreate hipEventCreate
#define cudaEventDestroy hipEventDestroy
#define cudaEventRecord hipEventRecord
#define cudaEventSynchronize hipEventSynchronize
#define cudaEventQuery hipEventQuery
#define cudaEventElapsedTime hipEventElapsedTime
#define cudaFuncSetAttribute hipFuncSetAttribute
#define cudaFuncAttributeMaxDynamicSharedMemorySize hipFuncAttributeMaxDynamicSharedMemorySize
#define cudaDeviceSynchronize hipDeviceSynchronize
#define RF_GPU_VENDOR "hip"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define RF_GPU_VENDOR "cuda"
#endif

// Warp (wavefront) size of the architecture being compiled: a constant per target, never a
// literal in kernels. CDNA (gfx9) runs wave64; RDNA and NVIDIA run 32.
#if defined(__AMDGCN_WAVEFRONT_SIZE)
#define RF_WARP_SIZE __AMDGCN_WAVEFRONT_SIZE
#else
#define RF_WARP_SIZE 32
#endif

#if defined(__CUDACC__) || defined(__HIPCC__)
// Butterfly reductions across a warp.
template <typename T>
__device__ __forceinline__ T rf_shfl_xor(T v, int lane_mask) {
#if defined(ROCMFORGE_WITH_HIP)
    return __shfl_xor(v, lane_mask, RF_WARP_SIZE);
#else
    return __shfl_xor_sync(0xffffffffu, v, lane_mask, RF_WARP_SIZE);
#endif
}

__device__ __forceinline__ float rf_warp_sum(float v) {
#pragma unroll
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) v += rf_shfl_xor(v, m);
    return v;
}

__device__ __forceinline__ float rf_warp_max(float v) {
#pragma unroll
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) v = fmaxf(v, rf_shfl_xor(v, m));
    return v;
}

__device__ __forceinline__ int rf_warp_sum_int(int v) {
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
    return __reduce_add_sync(0xffffffffu, v);  // one warp-reduce instruction instead of 5 shuffle rounds
#else
#pragma unroll
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) v += rf_shfl_xor(v, m);
    return v;
#endif
}

// The largest |v| of the warp, as the maximum of the bit patterns (non-negative floats order as
// unsigned integers; a NaN anywhere gives NaN): one warp-reduce instruction on NVIDIA sm_80+,
// shuffle rounds elsewhere, the same result everywhere.
__device__ __forceinline__ float rf_warp_max_abs(float v) {
    unsigned u = __float_as_uint(fabsf(v));
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
    u = __reduce_max_sync(0xffffffffu, u);
#else
#pragma unroll
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) u = max(u, rf_shfl_xor(u, m));
#endif
    return __uint_as_float(u);
}
#endif
