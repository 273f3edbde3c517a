// PDL chain with the dependency carried by flagged 8-byte words (value, epoch in one relaxed 64-bit
// store, as NCCL's LL protocol) instead of griddepcontrol.wait: every block of kernel j+1 polls the words
// all blocks of kernel j wrote. H100 (2026-11-26): flags alone 2.5-5 us per kernel (the consumers,
// resident from the producer's start, poll for its whole duration), flags + wait as the wait alone.
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <cuda_runtime.h>

#include "probe_common.cuh"
__device__ __forceinline__ unsigned long long ld_relaxed(const unsigned long long* p) {
  unsigned long long v; asm volatile("ld.relaxed.gpu.global.b64 %0, [%1];" : "=l"(v) : "l"(p) : "memory"); return v; }
__device__ __forceinline__ void st_relaxed(unsigned long long* p, unsigned long long v) {
  asm volatile("st.relaxed.gpu.global.b64 [%0], %1;" :: "l"(p), "l"(v) : "memory"); }

// MODE 0: griddepcontrol.wait (the PDL chain); 1: flags only (no wait); 2: both
template <int U, int MODE>
__global__ void __launch_bounds__(256) k_ll(const int4* w, size_t n, unsigned long long* flags, int epoch, int nblk_prev) {
  const size_t st = (size_t)gridDim.x * 256;
  size_t i = (size_t)blockIdx.x * 256 + threadIdx.x;
  int4 v[U];
#pragma unroll
  for (int k = 0; k < U; ++k) v[k] = i + k * st < n ? __ldcs(w + i + k * st) : make_int4(0, 0, 0, 0);
  if (MODE != 1) asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;");
  int acc = 0;
  if (MODE != 0) {
    const unsigned long long* prev = flags + (size_t)((epoch - 1) & 63) * 4096;
    for (int b = threadIdx.x; b < nblk_prev; b += 256) {
      unsigned long long x;
      do { x = ld_relaxed(prev + b); } while ((int)(x >> 32) < epoch - 1);
      acc ^= (int)(x & 0xffffffffu);
    }
    __syncthreads();
  }
  while (true) {
#pragma unroll
    for (int k = 0; k < U; ++k) acc ^= v[k].x ^ v[k].w;
    i += U * st;
    if (i >= n) break;
#pragma unroll
    for (int k = 0; k < U; ++k) v[k] = i + k * st < n ? __ldcs(w + i + k * st) : make_int4(0, 0, 0, 0);
  }
  acc = __reduce_xor_sync(0xffffffff, acc);
  __shared__ int red[8];
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    int a2 = 0;
    for (int k = 0; k < 8; ++k) a2 ^= red[k];
    st_relaxed(flags + (size_t)(epoch & 63) * 4096 + blockIdx.x, ((unsigned long long)(unsigned)epoch << 32) | (unsigned)(a2 & 1));
  }
}

int main() {
  int nsm; PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
  const size_t total = 4096ull << 20;
  uint8_t* big; PROBE_CHECK(cudaMalloc(&big, total)); PROBE_CHECK(cudaMemset(big, 1, total));
  unsigned long long* flags; PROBE_CHECK(cudaMalloc(&flags, 64 * 4096 * 8)); PROBE_CHECK(cudaMemset(flags, 0, 64 * 4096 * 8));
  cudaStream_t s; PROBE_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  int epoch = 1;  // the first kernel of a run polls the epoch before it: the warm-up runs make it present
  struct Cfg { int k; double mb; };
  const Cfg cfgs[] = {{1, 152}, {4, 38}, {8, 19}, {16, 9.5}, {16, 38}, {28, 4.7}, {56, 2.35}};
  const char* names[] = {"pdl wait", "flags, no wait", "wait + flags"};
  for (int bps : {2, 4}) for (int mode = 0; mode < 3; ++mode) for (auto c : cfgs) {
    const size_t bytes = (size_t)(c.mb * 1e6) / 4096 * 4096, n = bytes / 16, chain_bytes = bytes * c.k;
    const int slots = (int)std::max<size_t>(1, total / chain_bytes);
    const int nb = nsm * bps;
    const double us = probe_time_us(s, probe_reps(c.k, c.mb), [&](int rep) {
      const uint8_t* b = big + (size_t)(rep % slots) * chain_bytes;
      for (int j = 0; j < c.k; ++j) {
        const int4* wp = reinterpret_cast<const int4*>(b + j * bytes);
        if (mode == 0) probe_launch(s, true, dim3(nb), dim3(256), 0, k_ll<4, 0>, wp, n, flags, epoch, nb);
        else if (mode == 1) probe_launch(s, true, dim3(nb), dim3(256), 0, k_ll<4, 1>, wp, n, flags, epoch, nb);
        else probe_launch(s, true, dim3(nb), dim3(256), 0, k_ll<4, 2>, wp, n, flags, epoch, nb);
        ++epoch;
      }
    });
    char what[64];
    snprintf(what, sizeof(what), "%d blk/SM %s", bps, names[mode]);
    probe_report(what, c.k, c.mb, chain_bytes, us);
  }
  return 0;
}
