// Where position p of a sequence lives in the paged KV cache: its block (p / block_size, the index into
// the block table) and its row in that block (p % block_size), by shift and mask where the block size is
// a power of two (the KV cache's 16), so that the kernels' tile addresses cost no integer divisions.
#pragma once

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

// 1 + the index of x's lowest set bit, 0 for x == 0 (__ffs; the host pass of nvcc parses device
// bodies without the device intrinsics)
__device__ __forceinline__ int find_first_set(int x) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    return __ffs(x);
#else
    return x == 0 ? 0 : __builtin_ctz(static_cast<unsigned>(x)) + 1;
#endif
}

struct KvBlockIndex {
    int size, shift;  // shift: log2(size), or < 0 where size is not a power of two
    // shift from the size (in the kernel: a find-first-set)
    __device__ __forceinline__ explicit KvBlockIndex(int block_size)
        : size(block_size), shift((block_size & (block_size - 1)) == 0 ? find_first_set(block_size) - 1 : -1) {}
    // shift computed on the host (FlashAttnArgs::bs_shift)
    __device__ __forceinline__ KvBlockIndex(int block_size, int log2_size) : size(block_size), shift(log2_size) {}
    __device__ __forceinline__ int block(int p) const { return shift >= 0 ? p >> shift : p / size; }
    __device__ __forceinline__ int row(int p) const { return shift >= 0 ? p & (size - 1) : p % size; }
};

}  // namespace rf::gpu
