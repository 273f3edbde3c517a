// A device-wide barrier for persistent kernels: every block of the grid must be resident at
// once (a grid no larger than the occupancy query allows, and no programmatic-dependent launch
// triggered before the last barrier, so that a later kernel cannot hold the slots of blocks not
// yet running).
//
// The self-resetting scheme of cooperative groups' grid sync: block 0 adds 2^31 - (blocks - 1)
// to `word`, every other block 1, so the top bit of the word flips once all blocks have arrived
// and the low bits return to where they were: no reset store, one atomic per block. On NVIDIA
// sm_70+ the arrival is a release add and the spin an acquire load at GPU scope (the block
// barriers around them carry the other threads' writes and reads); elsewhere fenced relaxed ones.
// `word` starts at any value and is only ever touched by this barrier. H100: 1.02 us per barrier
// at 132 blocks, 1.42 at 264 (rocmforge_gpu_bench barrier; docs/gpu_notes.md, sixth pass).
#pragma once

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

__device__ __forceinline__ unsigned grid_barrier_arrive(unsigned* word, unsigned add) {
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 700)
    unsigned old;
    asm volatile("atom.add.release.gpu.global.u32 %0, [%1], %2;" : "=r"(old) : "l"(word), "r"(add) : "memory");
    return old;
#else
    __threadfence();
    return atomicAdd(word, add);
#endif
}

__device__ __forceinline__ unsigned grid_barrier_load(const unsigned* word) {
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 700)
    unsigned v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(word) : "memory");
    return v;
#else
    const unsigned v = *static_cast<const volatile unsigned*>(word);
    __threadfence();
    return v;
#endif
}

// One barrier over the whole (1-D) grid; called by every thread of every block.
__device__ __forceinline__ void grid_barrier_sync(unsigned* word) {
    __syncthreads();
    if (threadIdx.x == 0) {
        const unsigned add = blockIdx.x == 0 ? 0x80000000u - (gridDim.x - 1) : 1u;
        const unsigned old = grid_barrier_arrive(word, add);
        while (((old ^ grid_barrier_load(word)) & 0x80000000u) == 0) {
        }
    }
    __syncthreads();
}

}  // namespace rf::gpu
