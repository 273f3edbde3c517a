// The LM head read backwards every other step: a decode step reads its layers' weights ("body", several
// times L2, with streaming loads) and then the head (read in full, bandwidth-bound). At the end of a step
// L2 holds the head's last-read part; the next step's body streams past it with evict-first loads. If the
// next head read starts where the previous one ended (its direction alternating), its first part may
// still be in L2. How much of the head's read does that buy, and does the body's load policy matter?
//
// A "step" = the body's bytes in launches of body_chunk bytes, then the head in one launch (grid-stride
// int4 loads, the direction a launch argument); steps timed back to back with events around the head and
// the whole step. Modes: head forward every step / alternating; body loads ld.global.cs / with an
// L2::evict_first cache policy / plain; head loads plain / ld.global.cs / L2::evict_last policy.
// H100 80GB HBM3 (2026-11-26, two rounds): 0.5b-like (head 145 MB, body 200 MB in 2.8 MB launches): body
// ld.cs, head plain: forward 47.9-51.4 us, alternating 44.4-45.1 (~11 MB of the head from L2); head
// ld.cs: no gain (47.5-51.7 either way: its own lines go first); body evict_first or head evict_last:
// as the plain head (44.3-45.4 alternating). 7b-like (447 MB head, 3.6 GB body): 147.6 -> 144.0-144.4
// us. In the engine (branch exp/head-order: the LM head read backwards at odd positions, its last-read
// 0-32 MB with L2-normal loads, the rest streamed, its scales too or not) the 0.5b q4_0 decode did
// not move (2,451-2,481 tok/s against 2,462-2,476): the step's other L2-normal reads (the layers'
// scale planes, ~22 MB on the 0.5b, the KV cache) leave too little room for the head's tail.
// Build: nvcc -O3 -arch=sm_90 -std=c++17 (CMake target rocmforge_probe_l2_alternate in CUDA builds).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "head_body_common.cuh"
#include "probe_common.cuh"

enum LoadKind : int { kPlain = 0, kStreaming = 1, kEvictFirst = 2, kEvictLast = 3 };

template <int K>
__device__ __forceinline__ int4 load_kind(const int4* p, uint64_t policy) {
    if constexpr (K == kPlain) {
        return *p;
    } else if constexpr (K == kStreaming) {
        return __ldcs(p);
    } else {
        int4 v;
        asm volatile("ld.global.L2::cache_hint.v4.s32 {%0, %1, %2, %3}, [%4], %5;"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
                     : "l"(p), "l"(policy));
        return v;
    }
}

template <int K>
__global__ void __launch_bounds__(256) read_kernel(const int4* p, size_t n, int reverse, int* out) {
    uint64_t policy = 0;
    if constexpr (K == kEvictFirst) asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    if constexpr (K == kEvictLast) asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(policy));
    int acc = 0;
    const size_t st = static_cast<size_t>(gridDim.x) * blockDim.x;
    size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    auto at = [&](size_t j) { return reverse ? p + (n - 1 - j) : p + j; };
    for (; i + 3 * st < n; i += 4 * st) {
        int4 v[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = load_kind<K>(at(i + k * st), policy);
#pragma unroll
        for (int k = 0; k < 4; ++k) acc ^= v[k].x ^ v[k].w;
    }
    for (; i < n; i += st) {
        const int4 a = load_kind<K>(at(i), policy);
        acc ^= a.x ^ a.w;
    }
    if (acc == 0x12345678) out[0] = acc;
}

void launch_read(int kind, const void* p, size_t bytes, int grid, int reverse, int* out, cudaStream_t s) {
    const int4* q = static_cast<const int4*>(p);
    const size_t n = bytes / 16;
    switch (kind) {
        case kPlain: read_kernel<kPlain><<<grid, 256, 0, s>>>(q, n, reverse, out); break;
        case kStreaming: read_kernel<kStreaming><<<grid, 256, 0, s>>>(q, n, reverse, out); break;
        case kEvictFirst: read_kernel<kEvictFirst><<<grid, 256, 0, s>>>(q, n, reverse, out); break;
        default: read_kernel<kEvictLast><<<grid, 256, 0, s>>>(q, n, reverse, out); break;
    }
    PROBE_CHECK(cudaGetLastError());
}

int main(int argc, char** argv) {
    const double head_mb = argc > 1 ? std::atof(argv[1]) : 145.0;
    const double body_mb = argc > 2 ? std::atof(argv[2]) : 200.0;
    const double chunk_mb = argc > 3 ? std::atof(argv[3]) : 2.8;
    int nsm = 0, l2 = 0;
    PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
    PROBE_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    std::printf("L2 %.1f MB; head %.1f MB, body %.1f MB in %.1f MB launches\n", l2 / 1e6, head_mb, body_mb, chunk_mb);

    HeadBodyBuffers hb(head_mb, body_mb, chunk_mb);
    const cudaStream_t s = hb.s;

    static const char* kind_names[] = {"ld", "ld.cs", "evict_first", "evict_last"};
    struct Mode {
        int body, head;
    };
    const Mode modes[] = {{kStreaming, kStreaming}, {kStreaming, kPlain},    {kEvictFirst, kPlain},
                          {kEvictFirst, kEvictLast}, {kStreaming, kEvictLast}, {kPlain, kPlain}};
    for (int round = 0; round < 2; ++round) {
        for (const Mode& m : modes) {
            for (int alternate = 0; alternate < 2; ++alternate) {
                int parity = 0;
                auto step = [&](bool time_head) {
                    for (size_t off = 0; off < hb.body_bytes; off += hb.chunk_bytes)
                        launch_read(m.body, hb.body + off, std::min(hb.chunk_bytes, hb.body_bytes - off), nsm * 8, 0,
                                    hb.out, s);
                    if (time_head) PROBE_CHECK(cudaEventRecord(hb.e1, s));
                    launch_read(m.head, hb.head, hb.head_bytes, nsm * 8, alternate ? parity : 0, hb.out, s);
                    parity ^= 1;
                };
                const HeadBodyBuffers::StepTimes t = hb.time_steps(step, 6, 40);
                std::printf("body %-11s head %-11s %-11s  head %8.2f us (%6.0f GB/s)  step %8.2f us\n",
                            kind_names[m.body], kind_names[m.head], alternate ? "alternating" : "forward", t.head_us,
                            hb.head_bytes / t.head_us / 1e3, t.step_us);
            }
        }
    }
    return 0;
}
