// Shared by the loader-ring probes (ring_barrier_probe.cu, layer_ring_probe.cu): mbarrier and bulk-copy
// (cp.async.bulk) helpers for a shared-memory ring filled by one producer thread. CUDA sm_90 only.
#pragma once

#include <cstdint>

// The shared-memory address of p (for the PTX operands).
__device__ __forceinline__ uint32_t sa(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ void mb_init(uint64_t* b, int count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(sa(b)), "r"(count));
}
// Arrives and expects `bytes` of transactions (the bulk copy that completes the phase).
__device__ __forceinline__ void mb_expect(uint64_t* b, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(sa(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mb_arrive(uint64_t* b) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(sa(b)) : "memory");
}
// Spins until the phase of `parity` has completed.
__device__ __forceinline__ void mb_wait(uint64_t* b, uint32_t parity) {
    asm volatile("{\n .reg .pred p;\n WAIT_%=:\n mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n @!p bra WAIT_%=;\n}\n" ::"r"(
                     sa(b)),
                 "r"(parity)
                 : "memory");
}
// bytes (a multiple of 16, 16-byte aligned) from global src to shared dst, completing on bar.
__device__ __forceinline__ void bulk_g2s(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(sa(dst)),
                 "l"(src), "r"(bytes), "r"(sa(bar))
                 : "memory");
}

// Thread 0 of the block: the ring's NS full barriers (one arrival: the producer's) and empty barriers
// (`consumers` warp arrivals); the caller synchronizes the block after it.
template <int NS>
__device__ __forceinline__ void ring_init(uint64_t* full, uint64_t* empty, int consumers) {
    for (int s = 0; s < NS; ++s) {
        mb_init(&full[s], 1);
        mb_init(&empty[s], consumers);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}

// The producer's c-th chunk: chunk k (SB bytes, or the share's tail) of `share` bytes at src, into slot
// c % NS once the consumers have freed it.
template <int NS, int SB>
__device__ __forceinline__ void ring_put(uint8_t* ring, uint64_t* full, uint64_t* empty, int c, const uint8_t* src,
                                         size_t share, int k) {
    const int s = c % NS;
    if (c >= NS) mb_wait(&empty[s], ((c / NS) - 1) & 1);
    const size_t left = share - static_cast<size_t>(k) * SB;
    const uint32_t bytes = static_cast<uint32_t>(left < SB ? left : SB);
    mb_expect(&full[s], bytes);
    bulk_g2s(ring + s * SB, src + static_cast<size_t>(k) * SB, bytes, &full[s]);
}
