// Read bandwidth against size: t(bytes) of one streaming read kernel (grid-stride or a contiguous
// chunk per block), back-to-back launches without programmatic dependent launch, to split a kernel's
// fixed cost from the rate. H100 80GB HBM3 (2026-11-26): 152 MB -> 608 MB adds 147.5 us for 456 MB,
// i.e. 3.09 TB/s asymptotic; 38 MB takes 14.5 us (2.6 TB/s, ~2.2 us over the rate), 9.4 MB 5.5 us.
// Build: nvcc -O3 -arch=sm_90 -std=c++17 (CMake target rocmforge_probe_read_size in CUDA builds).
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <cuda_runtime.h>

#include "probe_common.cuh"
template <int UNR>
__global__ void __launch_bounds__(256) stream_load(const int4* p, size_t n, int* out) {
  int acc = 0;
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x, st = (size_t)gridDim.x * blockDim.x;
  for (; i + (UNR - 1) * st < n; i += UNR * st) {
    int4 v[UNR];
#pragma unroll
    for (int k = 0; k < UNR; ++k) v[k] = __ldcs(p + i + k * st);
#pragma unroll
    for (int k = 0; k < UNR; ++k) acc ^= v[k].x ^ v[k].w;
  }
  for (; i < n; i += st) { int4 a = __ldcs(p + i); acc ^= a.x ^ a.w; }
  if (acc == 0x12345678) out[0] = acc;
}
// contiguous chunk per block (each block reads its own contiguous range)
template <int UNR>
__global__ void __launch_bounds__(256) chunk_load(const int4* p, size_t n, int* out) {
  size_t per = (n + gridDim.x - 1) / gridDim.x;
  size_t b = blockIdx.x * per, e = b + per < n ? b + per : n;
  int acc = 0;
  size_t i = b + threadIdx.x;
  for (; i + (UNR - 1) * 256 < e; i += UNR * 256) {
    int4 v[UNR];
#pragma unroll
    for (int k = 0; k < UNR; ++k) v[k] = __ldcs(p + i + k * 256);
#pragma unroll
    for (int k = 0; k < UNR; ++k) acc ^= v[k].x ^ v[k].w;
  }
  for (; i < e; i += 256) { int4 a = __ldcs(p + i); acc ^= a.x ^ a.w; }
  if (acc == 0x12345678) out[0] = acc;
}
int main() {
  int nsm; PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
  int* dout; PROBE_CHECK(cudaMalloc(&dout, 4));
  const size_t total = 2048ull << 20;
  uint8_t* big; PROBE_CHECK(cudaMalloc(&big, total)); PROBE_CHECK(cudaMemset(big, 1, total));
  cudaEvent_t e0, e1; PROBE_CHECK(cudaEventCreate(&e0)); PROBE_CHECK(cudaEventCreate(&e1));
  const double sizes_mb[] = {2.4, 4.7, 9.4, 19, 38, 76, 152, 608, 1600};
  for (double mb : sizes_mb) {
    const size_t bytes = (size_t)(mb * 1e6) / 16 * 16;
    const int ncopies = (int)std::min<size_t>(total / bytes, 64);
    auto timeit = [&](const char* what, auto launch) {
      for (int w = 0; w < 4; ++w) launch(reinterpret_cast<const int4*>(big + (w % ncopies) * bytes));
      PROBE_CHECK(cudaDeviceSynchronize());
      const int reps = mb > 500 ? 10 : 100;
      float best = 1e30f;
      for (int t = 0; t < 3; ++t) {
        PROBE_CHECK(cudaEventRecord(e0));
        for (int r = 0; r < reps; ++r) launch(reinterpret_cast<const int4*>(big + ((r + 1) % ncopies) * bytes));
        PROBE_CHECK(cudaEventRecord(e1)); PROBE_CHECK(cudaEventSynchronize(e1)); PROBE_CHECK(cudaGetLastError());
        float ms; PROBE_CHECK(cudaEventElapsedTime(&ms, e0, e1)); best = std::min(best, ms);
      }
      const double us = best * 1e3 / reps;
      printf("%8.1f MB %-26s %9.2f us %8.1f GB/s\n", bytes / 1e6, what, us, bytes / us / 1e3);
    };
    const size_t n = bytes / 16;
    timeit("stream u4 8/SM", [&](const int4* p) { stream_load<4><<<nsm * 8, 256>>>(p, n, dout); });
    timeit("stream u4 16/SM", [&](const int4* p) { stream_load<4><<<nsm * 16, 256>>>(p, n, dout); });
    timeit("stream u8 8/SM", [&](const int4* p) { stream_load<8><<<nsm * 8, 256>>>(p, n, dout); });
    timeit("chunk u4 8/SM", [&](const int4* p) { chunk_load<4><<<nsm * 8, 256>>>(p, n, dout); });
    timeit("chunk u8 4/SM", [&](const int4* p) { chunk_load<8><<<nsm * 4, 256>>>(p, n, dout); });
  }
  return 0;
}
