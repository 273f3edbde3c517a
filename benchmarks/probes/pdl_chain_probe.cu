// PDL chain probe: what a kernel boundary costs a stream of weight reads on this GPU.
// K kernels each read S bytes (grid-stride, U loads per thread per iteration, the first U loaded before
// griddepcontrol.wait in the "preload" mode), read one word the previous kernel wrote (a dependent L2
// round trip), and write one. H100 (2026-11-26): with programmatic dependent launch every boundary costs
// ~2.0-2.2 us over 3.09 TB/s (4 x 38 MB: 57.5 us for 49.2 us of bytes), plain launches ~2.9 us; loads
// before the wait do not shorten it (2.2-2.5 us).
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <cuda_runtime.h>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d\n", cudaGetErrorString(e), __LINE__); exit(1);} } while (0)
template <int U, bool PRE>
__global__ void __launch_bounds__(256) chain_k(const int4* w, size_t n, const int* xin, int* xout) {
  const size_t st = (size_t)gridDim.x * 256;
  size_t i = (size_t)blockIdx.x * 256 + threadIdx.x;
  int4 v[U];
  if (PRE) {
#pragma unroll
    for (int k = 0; k < U; ++k) v[k] = i + k * st < n ? __ldcs(w + i + k * st) : make_int4(0, 0, 0, 0);
  }
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;");
  int acc = *(volatile const int*)xin;
  if (!PRE) {
#pragma unroll
    for (int k = 0; k < U; ++k) v[k] = i + k * st < n ? __ldcs(w + i + k * st) : make_int4(0, 0, 0, 0);
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
  if (threadIdx.x == 0) xout[blockIdx.x] = acc & 1;
}
int main() {
  int nsm; CK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
  const size_t total = 4096ull << 20;
  uint8_t* big; CK(cudaMalloc(&big, total)); CK(cudaMemset(big, 1, total));
  int* xs; CK(cudaMalloc(&xs, 64 * 4096 * 4)); CK(cudaMemset(xs, 0, 64 * 4096 * 4));
  cudaStream_t s; CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaEvent_t e0, e1; CK(cudaEventCreate(&e0)); CK(cudaEventCreate(&e1));
  auto launch = [&](bool pdl, bool pre, int bps, const int4* w, size_t n, const int* xin, int* xout) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(nsm * bps); cfg.blockDim = dim3(256); cfg.stream = s;
    cudaLaunchAttribute at[1]; at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization; at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at; cfg.numAttrs = pdl ? 1 : 0;
    if (pre) CK(cudaLaunchKernelEx(&cfg, chain_k<4, true>, w, n, xin, xout));
    else CK(cudaLaunchKernelEx(&cfg, chain_k<4, false>, w, n, xin, xout));
  };
  struct Cfg { int k; double mb; };
  const Cfg cfgs[] = {{1, 152}, {2, 76}, {4, 38}, {8, 19}, {16, 9.5}, {32, 4.75}, {1, 608}, {4, 152}, {16, 38}, {64, 9.5}};
  for (int bps : {4, 8}) for (int mode = 0; mode < 3; ++mode) for (auto c : cfgs) {
    const bool pdl = mode != 0, pre = mode == 2;
    const size_t bytes = (size_t)(c.mb * 1e6) / 16 * 16, n = bytes / 16;
    const size_t chain_bytes = bytes * c.k;
    const int slots = (int)std::max<size_t>(1, total / chain_bytes);
    auto run_chain = [&](int rep) {
      const uint8_t* base = big + (size_t)(rep % slots) * chain_bytes;
      for (int j = 0; j < c.k; ++j) launch(pdl, pre, bps, reinterpret_cast<const int4*>(base + j * bytes), n, xs + (j % 64) * 4096, xs + ((j + 1) % 64) * 4096);
    };
    for (int r = 0; r < 3; ++r) run_chain(r);
    CK(cudaStreamSynchronize(s));
    const int reps = std::max(3, (int)(2000 / (c.mb * c.k)));
    CK(cudaEventRecord(e0, s));
    for (int r = 0; r < reps; ++r) run_chain(r + 1);
    CK(cudaEventRecord(e1, s)); CK(cudaEventSynchronize(e1)); CK(cudaGetLastError());
    float ms; CK(cudaEventElapsedTime(&ms, e0, e1));
    const double us = ms * 1e3 / reps;
    printf("%d blk/SM %-12s %2d x %6.2f MB: %8.1f us per chain, %6.1f GB/s, %5.2f us per kernel over %.2f us at 3.09 TB/s\n", bps,
           mode == 0 ? "plain" : mode == 1 ? "pdl" : "pdl+preload", c.k, c.mb, us, chain_bytes / us / 1e3,
           (us - chain_bytes / 3.09e6) / c.k, chain_bytes / 3.09e6);
  }
  return 0;
}
