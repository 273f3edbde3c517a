// Layer-shaped loader-ring probe: does a persistent kernel whose loader streams the weights of every phase
// of a decode step into a shared-memory ring, never waiting for the phases' dependencies, keep DRAM busy
// across the 7b layer's dependent phases?
//
// One block per SM: warp 0's lane 0 streams the step's segments (each block its share of every segment,
// cp.async.bulk into a ring of NS slots of SB bytes), 8 consumer warps read the ring. Between two phases
// the consumers meet in a grid-wide barrier (the phase after depends on every block's output of the phase
// before), then read a word of the shared vector other blocks wrote (the dependent load of x), then consume
// the phase's chunks with q4_0-like integer work (8 dp4a per 16 bytes), then write their word of the
// vector. A 7b q4_0 layer is 8 phases: norm (no weights), q/k/v 9.3 MB, attention and combine (no weights,
// a chain of CHAIN dependent L2 loads each), wo 7.2 MB, gate/up 76.4 MB, quantize (none), down 38.2 MB; 28
// layers = 3.67 GB. The engine's layers take ~1,770 us of its 1,929 us step (H100); the bytes alone ~1,190 us.
//
// Modes: BAR 0 no barrier (the stream alone), 1 fence + atomic + volatile spin + fence, 3 release add +
// acquire spin; rings of 2 x 16 KB .. 13 x 16 KB; against the same phases as PDL chains of plain streaming
// kernels. H100 (2026-11-27): no barrier 1,439-1,452 us per step; with barriers 1,902-1,994 (3.2-3.6 us per
// barrier, whatever the ring; 2.0 without the weightless phases' dependent loads); PDL chain 1,540-1,562,
// with the first loads before the wait 1,477-1,482 (docs/gpu_notes.md, twenty-first pass).
#include <cstdio>
#include <cstdint>
#include <algorithm>
#include <type_traits>
#include <vector>
#include <cuda_runtime.h>

#include "bulk_ring.cuh"
#include "probe_common.cuh"

namespace {

constexpr int kConsumers = 8;
constexpr int kMaxSegs = 512;
constexpr int kVecWords = 4096;
__constant__ unsigned long long c_seg_off[kMaxSegs];
__constant__ unsigned long long c_seg_bytes[kMaxSegs];

template <int NS, int SB, int BAR, int CHAIN>
__global__ void __launch_bounds__(32 * (kConsumers + 1), 1) layer_ring_k(const uint8_t* w, int nseg, int* bar_ctr, int base, int* vec) {
  extern __shared__ __align__(128) uint8_t ring[];
  __shared__ uint64_t full[NS], empty[NS];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) ring_init<NS>(full, empty, kConsumers);
  __syncthreads();
  if (warp == 0) {
    if (lane == 0) {
      int c = 0;
      for (int j = 0; j < nseg; ++j) {
        const size_t share = (c_seg_bytes[j] / gridDim.x) / 16 * 16;
        const uint8_t* src = w + c_seg_off[j] + blockIdx.x * share;
        const int chunks = (int)((share + SB - 1) / SB);
        for (int k = 0; k < chunks; ++k, ++c) ring_put<NS, SB>(ring, full, empty, c, src, share, k);
      }
    }
    return;
  }
  const int ct = threadIdx.x - 32;  // 0 .. 255
  int acc = ct, c = 0;
  int xk = 0x01020304 ^ ct;
  for (int j = 0; j < nseg; ++j) {
    if (BAR != 0 && j > 0) {  // phase j depends on every block's phase j - 1
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
      if (ct == 0) {
        const int target = (base + j) * (int)gridDim.x;
        if (BAR == 3) {
          asm volatile("red.release.gpu.global.add.s32 [%0], 1;" :: "l"(bar_ctr) : "memory");
          int v;
          while (true) { asm volatile("ld.acquire.gpu.global.b32 %0, [%1];" : "=r"(v) : "l"(bar_ctr) : "memory"); if (v >= target) break; }
        } else {
          __threadfence();
          atomicAdd(bar_ctr, 1);
          while (*(volatile int*)bar_ctr < target) { }
          __threadfence();
        }
      }
      asm volatile("bar.sync 1, %0;" :: "r"(32 * kConsumers) : "memory");
    }
    // the dependent load of the phase's input (x), written by other blocks in the phase before
    xk ^= *(volatile int*)(vec + (ct * 16 + blockIdx.x * 7 + j) % kVecWords);
    const size_t share = (c_seg_bytes[j] / gridDim.x) / 16 * 16;
    if (share == 0) {
      // a phase without weights (attention, combine: a chain of dependent round trips)
      for (int r = 0; r < CHAIN; ++r) xk ^= *(volatile int*)(vec + ((xk & 0xfff) + ct) % kVecWords);
    }
    const int chunks = (int)((share + SB - 1) / SB);
    for (int k = 0; k < chunks; ++k, ++c) {
      const int s = c % NS;
      mb_wait(&full[s], (c / NS) & 1);
      const uint32_t bytes = (uint32_t)std::min<size_t>(SB, share - (size_t)k * SB);
      const int4* p = reinterpret_cast<const int4*>(ring + s * SB);
      for (int i = ct; i < (int)(bytes / 16); i += 32 * kConsumers) {
        const int4 v = p[i];
        // q4_0-like: two nibble planes of each word against the activation
        acc = __dp4a(v.x & 0x0f0f0f0f, xk, acc); acc = __dp4a((v.x >> 4) & 0x0f0f0f0f, xk, acc);
        acc = __dp4a(v.y & 0x0f0f0f0f, xk, acc); acc = __dp4a((v.y >> 4) & 0x0f0f0f0f, xk, acc);
        acc = __dp4a(v.z & 0x0f0f0f0f, xk, acc); acc = __dp4a((v.z >> 4) & 0x0f0f0f0f, xk, acc);
        acc = __dp4a(v.w & 0x0f0f0f0f, xk, acc); acc = __dp4a((v.w >> 4) & 0x0f0f0f0f, xk, acc);
      }
      __syncwarp();
      if (lane == 0) mb_arrive(&empty[s]);
    }
    // this block's output of the phase
    if (ct < 28) vec[(blockIdx.x * 28 + ct) % kVecWords] = acc;
  }
}

struct Phase { const char* name; double mb; };

}  // namespace

int main() {
  int nsm; PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
  // the 7b q4_0 layer: norm, q/k/v, attention, combine, wo, gate/up, quantize, down
  const Phase layer[] = {{"norm", 0}, {"qkv", 9.29}, {"attn", 0}, {"combine", 0}, {"wo", 7.23}, {"gate/up", 76.4}, {"quant", 0}, {"down", 38.2}};
  const int n_layer_phases = sizeof(layer) / sizeof(layer[0]);
  const int layers = 28;
  std::vector<unsigned long long> off, bytes;
  size_t total = 0;
  for (int l = 0; l < layers; ++l)
    for (int p = 0; p < n_layer_phases; ++p) {
      const size_t b = (size_t)(layer[p].mb * 1e6) / 4096 * 4096;
      off.push_back(total);
      bytes.push_back(b);
      total += b;
    }
  const int nseg = (int)off.size();
  PROBE_CHECK(cudaMemcpyToSymbol(c_seg_off, off.data(), nseg * 8));
  PROBE_CHECK(cudaMemcpyToSymbol(c_seg_bytes, bytes.data(), nseg * 8));
  uint8_t* w; PROBE_CHECK(cudaMalloc(&w, total)); PROBE_CHECK(cudaMemset(w, 0x35, total));
  int* ctr; PROBE_CHECK(cudaMalloc(&ctr, 4)); PROBE_CHECK(cudaMemset(ctr, 0, 4));
  int* vec; PROBE_CHECK(cudaMalloc(&vec, kVecWords * 4)); PROBE_CHECK(cudaMemset(vec, 0, kVecWords * 4));
  cudaStream_t s; PROBE_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  const double ideal = (double)total / (kProbeReadTBs * 1e6);
  std::printf("28 layers of %d phases, %.1f MB: %.1f us at %.2f TB/s; %d barriers\n", n_layer_phases, total / 1e6, ideal,
              kProbeReadTBs, nseg - 1);
  int base = 0;
  auto run = [&](auto kern, int smem, const char* name, bool barrier) {
    PROBE_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    const double us = probe_time_us(s, 6, [&](int) {
      kern<<<nsm, 32 * (kConsumers + 1), smem, s>>>(w, nseg, ctr, base, vec);
      if (barrier) base += nseg - 1;
    });
    std::printf("%-36s %8.1f us per step, %6.1f GB/s, %5.2f us per barrier over the bytes, per layer %6.2f us\n", name, us,
                total / us / 1e3, barrier ? (us - ideal) / (nseg - 1) : 0.0, us / layers);
  };
  for (int round = 0; round < 2; ++round) {
    // a ring of NS x SB: the stream alone and with release / acquire barriers
    auto ring_size = [&](auto ns, auto sb) {
      constexpr int NS = decltype(ns)::value, SB = decltype(sb)::value;
      char name[64];
      std::snprintf(name, sizeof name, "ring %dx%dK no barrier", NS, SB / 1024);
      run(layer_ring_k<NS, SB, 0, 3>, NS * SB, name, false);
      std::snprintf(name, sizeof name, "ring %dx%dK rel/acq, chain 3", NS, SB / 1024);
      run(layer_ring_k<NS, SB, 3, 3>, NS * SB, name, true);
    };
    ring_size(std::integral_constant<int, 6>{}, std::integral_constant<int, 32768>{});
    run(layer_ring_k<6, 32768, 1, 3>, 6 * 32768, "ring 6x32K fence+spin, chain 3", true);
    run(layer_ring_k<6, 32768, 3, 0>, 6 * 32768, "ring 6x32K rel/acq, chain 0", true);
    // smaller rings: fewer bytes in flight, shorter queues for the barrier's round trips
    ring_size(std::integral_constant<int, 2>{}, std::integral_constant<int, 16384>{});
    ring_size(std::integral_constant<int, 3>{}, std::integral_constant<int, 16384>{});
    ring_size(std::integral_constant<int, 4>{}, std::integral_constant<int, 8192>{});
    ring_size(std::integral_constant<int, 8>{}, std::integral_constant<int, 8192>{});
    run(layer_ring_k<8, 8192, 3, 0>, 8 * 8192, "ring 8x8K rel/acq, chain 0", true);
    // the same phases as a PDL chain of plain streaming kernels (4 blocks per SM; 48 blocks for a phase
    // without weights), as the engine's step is built
    auto chain = [&](auto kern, int bps, const char* name) {
      const double us = probe_time_us(s, 6, [&](int) {
        for (int j = 0; j < nseg; ++j) {
          const size_t n = bytes[j] / 16;
          probe_launch(s, true, dim3(n ? nsm * bps : 48), dim3(256), 0, kern,
                       reinterpret_cast<const int4*>(w + off[j]), n, (const int*)(vec + (j % 64) * 16), vec + ((j + 1) % 64) * 16);
        }
      });
      std::printf("%-36s %8.1f us per step, %6.1f GB/s, %5.2f us per boundary over the bytes, per layer %6.2f us\n",
                  name, us, total / us / 1e3, (us - ideal) / (nseg - 1), us / layers);
    };
    chain(stream_chain_kernel<4, false>, 4, "pdl chain U4 4 blk/SM");
    chain(stream_chain_kernel<4, true>, 4, "pdl chain U4 preload 4 blk/SM");
    chain(stream_chain_kernel<2, false>, 4, "pdl chain U2 4 blk/SM");
    chain(stream_chain_kernel<1, false>, 8, "pdl chain U1 8 blk/SM");
    chain(stream_chain_kernel<2, false>, 2, "pdl chain U2 2 blk/SM");
  }
  return 0;
}
