// Weight prefetch into L2 during latency-bound kernels (batch-1 decode).
//
// Between the matrix-vector launches of a decode step run small kernels (rms_norm, rope + KV
// store, attention, its combine, the q8_1 quantization) that leave DRAM nearly idle for 3-20 us
// each. A launch of such a kernel can carry an L2Prefetch: up to kL2PrefetchRanges byte ranges of
// the weights that the next matrix-vector launches will stream, and `blocks` extra blocks appended
// to its grid that only issue bulk L2 prefetches (cp.async.bulk.prefetch.L2, sm_90) of those
// ranges and exit, before the programmatic-dependent-launch wait (weights never depend on an
// earlier kernel). The matvec that follows then reads those bytes from L2. A hint only: with no
// prefetch (HIP, older GPUs) every kernel computes the same results.
//
// Ranges: 16-byte aligned starts, sizes multiple of 16 (the emitter rounds the start down and the
// end up inside the weight's allocation, whose planes are 256-byte aligned).
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_common.cuh"

namespace rf::gpu {

constexpr int kL2PrefetchRanges = 16;
constexpr uint32_t kL2PrefetchChunk = 16 * 1024;  // bytes per prefetch instruction

struct L2Prefetch {
    const uint8_t* ptr[kL2PrefetchRanges];
    uint32_t bytes[kL2PrefetchRanges];
    int32_t n_ranges;
    int32_t blocks;  // extra blocks of the launch that only prefetch (0: none)
    int32_t lines;   // 1: one prefetch.global.L2 per 128-byte line instead of bulk prefetches
    int32_t pad;
};

// Total bytes of a prefetch (host).
inline uint64_t l2_prefetch_bytes(const L2Prefetch& p) {
    uint64_t n = 0;
    for (int i = 0; i < p.n_ranges; ++i) n += p.bytes[i];
    return n;
}

#if defined(__CUDACC__) || defined(__HIPCC__)

// A hint to bring the line holding p into L2 (no-op on HIP).
__device__ __forceinline__ void l2_prefetch_line(const void* p) {
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__)
    asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
#else
    (void)p;
#endif
}

// Issued by prefetch block `part` of `n_parts`: chunk c of range r by thread (c mod the threads of
// all prefetch blocks). Returns at once; the copies into L2 proceed on their own.
__device__ __forceinline__ void l2_prefetch_issue(const L2Prefetch& pf, int part, int n_parts) {
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
    const uint32_t tid = static_cast<uint32_t>(part) * blockDim.x + threadIdx.x;
    const uint32_t nt = static_cast<uint32_t>(n_parts) * blockDim.x;
    if (pf.lines) {
        for (int r = 0; r < pf.n_ranges; ++r)
            for (uint64_t off = static_cast<uint64_t>(tid) * 128; off < pf.bytes[r]; off += static_cast<uint64_t>(nt) * 128)
                l2_prefetch_line(pf.ptr[r] + off);
        return;
    }
    for (int r = 0; r < pf.n_ranges; ++r) {
        const uint32_t bytes = pf.bytes[r];
        for (uint64_t off = static_cast<uint64_t>(tid) * kL2PrefetchChunk; off < bytes;
             off += static_cast<uint64_t>(nt) * kL2PrefetchChunk) {
            const uint32_t n = bytes - off < kL2PrefetchChunk ? static_cast<uint32_t>(bytes - off) : kL2PrefetchChunk;
            asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(pf.ptr[r] + off), "r"(n) : "memory");
        }
    }
#else
    (void)pf;
    (void)part;
    (void)n_parts;
#endif
}

#endif  // device code

}  // namespace rf::gpu
