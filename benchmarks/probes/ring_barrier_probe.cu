// Loader-ring probe: a persistent kernel (one block per SM) whose producer thread streams K segments of
// weights into a shared-memory ring with bulk copies (cp.async.bulk, never waiting for the consumers' grid
// barriers, only for ring slots), while 8 consumer warps read the ring and meet in a grid barrier between
// segments (each segment depends on the previous one). BAR: 0 none, 1 fence + volatile spin, 2 fence +
// acquire spin with back-off, 3 release add + acquire spin, 4 relaxed (no ordering: what the barrier's traffic alone costs),
// 5 no barrier but a data-carried dependency: each block publishes its share of a 3584-word vector as
// (value, epoch) 8-byte relaxed stores (NCCL's LL protocol) and polls the whole vector before its next
// segment. Compared with the same bytes as a PDL chain of K kernels. H100 (2026-11-26): without barriers
// the ring streams 28 x 4.7 MB in 46 us (2.86 TB/s); with an ordered barrier (fence or release / acquire)
// each segment costs 1.7-2.4 us, as a PDL boundary does; relaxed 0.7-1.1 us; the LL vector 3.6-3.9 us (every
// block polling 28 KB of flags, one word after another). BAR 6: the LL vector polled with all of a thread's
// loads in flight at once: 1.99-2.16 us per segment (2026-11-26, seventeenth session), as an ordered
// barrier or a PDL boundary: carrying the dependency in the data saves nothing either. A loader that runs
// ahead does not hide the ordering.
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <cuda_runtime.h>

#include "bulk_ring.cuh"
#include "probe_common.cuh"

constexpr int kConsumers = 8;
constexpr int kLLWords = 3584;  // BAR 5: the vector every block needs from the previous segment (7b n_embd)

template <int NS, int SB, int BAR = 1>
__global__ void __launch_bounds__(32 * (kConsumers + 1), 1) ring_k(const uint8_t* w, size_t seg_bytes, int K, int* bar_ctr, int base, int* out,
                                                                 unsigned long long* ll) {
  extern __shared__ __align__(128) uint8_t ring[];
  __shared__ uint64_t full[NS], empty[NS];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const size_t share = (seg_bytes / gridDim.x) / 16 * 16;  // bytes per block per segment (tail ignored)
  const int chunks = (int)((share + SB - 1) / SB);
  if (threadIdx.x == 0) ring_init<NS>(full, empty, kConsumers);
  __syncthreads();
  if (warp == 0) {
    if (lane == 0) {
      int c = 0;
      for (int j = 0; j < K; ++j) {
        const uint8_t* src = w + j * seg_bytes + blockIdx.x * share;
        for (int k = 0; k < chunks; ++k, ++c) ring_put<NS, SB>(ring, full, empty, c, src, share, k);
      }
    }
    return;
  }
  int acc = 0, c = 0;
  const int ct = threadIdx.x - 32;  // 0 .. 255
  for (int j = 0; j < K; ++j) {
    if (BAR == 6 && j > 0) {
      // as 5, but every thread issues the loads of all its words at once and re-polls only those not
      // yet of this epoch (one round trip once the words are there, not one per word)
      constexpr int kPer = (kLLWords + 32 * kConsumers - 1) / (32 * kConsumers);
      const unsigned epoch = (unsigned)(base + j);
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
      const int per = (kLLWords + gridDim.x - 1) / gridDim.x;
      if (ct < per && blockIdx.x * per + ct < kLLWords) {
        const unsigned long long word = ((unsigned long long)epoch << 32) | (unsigned)(acc & 0xff);
        asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" :: "l"(ll + blockIdx.x * per + ct), "l"(word) : "memory");
      }
      unsigned long long v[kPer];
      unsigned pending = 0;
#pragma unroll
      for (int k = 0; k < kPer; ++k) {
        const int i = ct + k * 32 * kConsumers;
        if (i < kLLWords) { asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v[k]) : "l"(ll + i) : "memory"); pending |= 1u << k; }
      }
      while (true) {
#pragma unroll
        for (int k = 0; k < kPer; ++k)
          if ((pending >> k & 1u) && (unsigned)(v[k] >> 32) == epoch) { acc ^= (int)(v[k] & 1); pending &= ~(1u << k); }
        if (pending == 0) break;
#pragma unroll
        for (int k = 0; k < kPer; ++k)
          if (pending >> k & 1u) asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v[k]) : "l"(ll + ct + k * 32 * kConsumers) : "memory");
      }
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
    }
    if (BAR == 5 && j > 0) {
      // no barrier: every block's words of segment j - 1 carry their epoch (value, epoch in one 8-byte
      // relaxed store, NCCL's LL protocol); segment j starts once this block has seen all kLLWords
      const unsigned epoch = (unsigned)(base + j);
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");  // this block's segment j - 1 is done
      const int per = (kLLWords + gridDim.x - 1) / gridDim.x;
      if (ct < per && blockIdx.x * per + ct < kLLWords) {
        const unsigned long long word = ((unsigned long long)epoch << 32) | (unsigned)(acc & 0xff);
        asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" :: "l"(ll + blockIdx.x * per + ct), "l"(word) : "memory");
      }
      for (int i = ct; i < kLLWords; i += 32 * kConsumers) {
        unsigned long long v;
        do { asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(ll + i) : "memory"); } while ((unsigned)(v >> 32) != epoch);
        acc ^= (int)(v & 1);
      }
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
    }
    if (BAR != 0 && BAR != 5 && BAR != 6 && j > 0) {  // grid barrier among the consumers: segment j depends on every block's segment j - 1
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
      if (ct == 0 && BAR == 3) {
        // release add / acquire spin, no full fences
        const int target = (base + j) * (int)gridDim.x;
        asm volatile("red.release.gpu.global.add.s32 [%0], 1;" :: "l"(bar_ctr) : "memory");
        int v;
        while (true) { asm volatile("ld.acquire.gpu.global.b32 %0, [%1];" : "=r"(v) : "l"(bar_ctr) : "memory"); if (v >= target) break; }
        acc ^= out[(blockIdx.x + 1) % gridDim.x];
      } else if (ct == 0 && BAR == 4) {
        // relaxed add / relaxed spin (no ordering: the cost of the barrier's traffic alone)
        const int target = (base + j) * (int)gridDim.x;
        atomicAdd(bar_ctr, 1);
        while (*(volatile int*)bar_ctr < target) { }
      } else if (ct == 0) {
        __threadfence();
        atomicAdd(bar_ctr, 1);
        const int target = (base + j) * (int)gridDim.x;
        if (BAR == 1) { while (*(volatile int*)bar_ctr < target) { } }
        else {
          int v;
          while (true) { asm volatile("ld.acquire.gpu.global.b32 %0, [%1];" : "=r"(v) : "l"(bar_ctr) : "memory"); if (v >= target) break; __nanosleep(32); }
        }
        __threadfence();
        acc ^= out[(blockIdx.x + 1) % gridDim.x];  // a word another block wrote (dependent read)
      }
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
    }
    for (int k = 0; k < chunks; ++k, ++c) {
      const int s = c % NS;
      mb_wait(&full[s], (c / NS) & 1);
      const uint32_t bytes = (uint32_t)std::min<size_t>(SB, share - (size_t)k * SB);
      const int4* p = reinterpret_cast<const int4*>(ring + s * SB);
      for (int i = ct; i < (int)(bytes / 16); i += 32 * kConsumers) { const int4 v = p[i]; acc ^= v.x ^ v.w; }
      __syncwarp();
      if (lane == 0) mb_arrive(&empty[s]);
    }
    if (ct == 0) out[blockIdx.x] = acc & 1;
  }
}

int main() {
  int nsm; PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
  const size_t total = 4096ull << 20;
  uint8_t* big; PROBE_CHECK(cudaMalloc(&big, total)); PROBE_CHECK(cudaMemset(big, 1, total));
  int* xs; PROBE_CHECK(cudaMalloc(&xs, 64 * 4096 * 4)); PROBE_CHECK(cudaMemset(xs, 0, 64 * 4096 * 4));
  int* ctr; PROBE_CHECK(cudaMalloc(&ctr, 4)); PROBE_CHECK(cudaMemset(ctr, 0, 4));
  int* outb; PROBE_CHECK(cudaMalloc(&outb, 4096 * 4)); PROBE_CHECK(cudaMemset(outb, 0, 4096 * 4));
  unsigned long long* llb; PROBE_CHECK(cudaMalloc(&llb, kLLWords * 8)); PROBE_CHECK(cudaMemset(llb, 0, kLLWords * 8));
  cudaStream_t s; PROBE_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  int base = 0;  // barrier generations used so far (the counter is monotonic)
  struct Cfg { int k; double mb; };
  const Cfg cfgs[] = {{1, 152}, {4, 38}, {8, 19}, {16, 9.5}, {16, 38}, {28, 4.7}};
  auto ring_run = [&](auto kern, int smem, const char* name, bool barrier = true) {
    PROBE_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    for (auto c : cfgs) {
      const size_t bytes = (size_t)(c.mb * 1e6) / 4096 * 4096, chain_bytes = bytes * c.k;
      const int slots = (int)std::max<size_t>(1, total / chain_bytes);
      const double us = probe_time_us(s, probe_reps(c.k, c.mb), [&](int rep) {
        kern<<<nsm, 32 * (kConsumers + 1), smem, s>>>(big + (size_t)(rep % slots) * chain_bytes, bytes, c.k, ctr, base, outb, llb);
        if (barrier) base += c.k - 1;
      });
      probe_report(name, c.k, c.mb, chain_bytes, us);
    }
  };
  ring_run(ring_k<6, 32768, 0>, 6 * 32768, "ring 6x32K no barrier", false);
  ring_run(ring_k<6, 32768, 1>, 6 * 32768, "ring 6x32K fence+spin");
  ring_run(ring_k<6, 32768, 2>, 6 * 32768, "ring 6x32K fence+acquire");
  ring_run(ring_k<6, 32768, 3>, 6 * 32768, "ring 6x32K rel/acq");
  ring_run(ring_k<6, 32768, 4>, 6 * 32768, "ring 6x32K relaxed");
  ring_run(ring_k<6, 32768, 5>, 6 * 32768, "ring 6x32K LL vector");
  ring_run(ring_k<6, 32768, 6>, 6 * 32768, "ring 6x32K LL parallel poll");
  for (auto c : cfgs) {  // the same bytes as a chain of PDL launches
    const size_t bytes = (size_t)(c.mb * 1e6) / 4096 * 4096, n = bytes / 16, chain_bytes = bytes * c.k;
    const int slots = (int)std::max<size_t>(1, total / chain_bytes);
    const double us = probe_time_us(s, probe_reps(c.k, c.mb), [&](int rep) {
      const uint8_t* b = big + (size_t)(rep % slots) * chain_bytes;
      for (int j = 0; j < c.k; ++j)
        probe_launch(s, true, dim3(nsm * 4), dim3(256), 0, stream_chain_kernel<4, false>, reinterpret_cast<const int4*>(b + j * bytes), n,
                     (const int*)(xs + (j % 64) * 4096), xs + ((j + 1) % 64) * 4096);
    });
    probe_report("pdl chain 4 blk/SM", c.k, c.mb, chain_bytes, us);
  }
  return 0;
}
