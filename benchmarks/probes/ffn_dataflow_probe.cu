// FFN dataflow probe: can a 7b feed-forward block (gate/up + SwiGLU, then down) run as one persistent
// launch in which the down projection's work on a slice of the intermediate vector starts as soon as that
// slice is written, instead of two launches with a grid-wide dependency between them?
//
// Shapes (Qwen2.5-7B): x 3584, intermediate 18944; weights planar Q4_0-like (16-byte quants and a 2-byte
// scale per 32-weight unit, rows of units), 76.4 MB gate + up and 38.2 MB down per layer; L layers with
// their own weights, chained through x (layer l + 1's x is layer l's y: a grid-wide dependency that stays).
// The arithmetic is the instruction mix of the real kernels (dp4a on int8 x in shared memory), not exact
// Q4_0.
//
// Work items (one block each, taken from an atomic queue in order):
//   A (gate/up): 32 intermediate rows = 64 weight rows of 112 units; writes h (f32) and, once the block's
//     rows are stored, adds 1 to its chunk's counter (release). 592 items, 16 chunks of 37 items.
//   B (down): 64 rows x one chunk (37 units of every row); waits for its chunk's counter (acquire), reads
//     the chunk of h (1,184 values) into shared memory as int8, and adds its 64 partial sums into y with
//     float atomics. 56 x 16 = 896 items.
// Modes: fused (one launch per layer: all A items, then all B items in chunk order), split (an A launch and
// a B launch per layer under programmatic dependent launch, B without counters), split-rows (B as warp
// per whole row, 18.5 units per lane, no atomics: the shape of the engine's one-token down kernel), and a
// plain stream of the same bytes (two PDL launches per layer) for reference.
// H100 (2026-11-27, us per layer of 114.6 MB): stream 41.2; A 8 rows / B 64 rows at 4 blocks per SM fused
// 46.5, split 51.3 (A alone 32.6 = 2.34 TB/s of its 76.4 MB, B alone 18.7 = 2.04 TB/s of 38.2 MB), split with warp-per-row down 54.7; A 32 / B 64 fused 47.4
// (3 blocks 47.9, 2 blocks 54.8, 1 block 83.1), split 56.9. The fused launch gained ~5 us per layer over
// the probe's own split kernels, most of it their tails (592 items of 32 rows over 528 blocks); the engine
// version of the idea lost ~8 us per layer against the engine's tuned kernels (docs/gpu_notes.md,
// twentieth pass; branch exp/ffn-fused).
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <type_traits>
#include <vector>

#include "probe_common.cuh"

namespace {

constexpr int kE = 3584, kF = 18944, kUE = kE / 32, kUF = kF / 32;  // 112 and 592 units per row
constexpr int kChunks = 16, kChunkUnits = kUF / kChunks;            // 16 chunks of 37 units (1,184 values)
// RA intermediate rows per A item, RB down rows per B item (template parameters of the kernels)
template <int RA> constexpr int items_a = kF / RA;
template <int RA> constexpr int chunk_items = kChunkUnits * 32 / RA;
template <int RB> constexpr int items_b = (kE / RB) * kChunks;
constexpr int kThreads = 256;

struct Layer {
    const int4* gq;  // gate quants [kF][kUE]
    const __half* gs;
    const int4* uq;  // up
    const __half* us;
    const int4* dq;  // down quants [kE][kUF]
    const __half* ds;
};

struct Sync {
    int* queue;   // next item of the running launch
    int* done;    // blocks finished with the queue
    int* chunk;   // [kChunks] A items finished per chunk
};

__device__ __forceinline__ int dot_unit(int4 w, const int* x8) {  // x8: the unit's 32 int8 x values as 8 words
    int acc = 0;
    acc = __dp4a(w.x & 0x0f0f0f0f, x8[0], acc);
    acc = __dp4a(w.y & 0x0f0f0f0f, x8[1], acc);
    acc = __dp4a(w.z & 0x0f0f0f0f, x8[2], acc);
    acc = __dp4a(w.w & 0x0f0f0f0f, x8[3], acc);
    acc = __dp4a((w.x >> 4) & 0x0f0f0f0f, x8[4], acc);
    acc = __dp4a((w.y >> 4) & 0x0f0f0f0f, x8[5], acc);
    acc = __dp4a((w.z >> 4) & 0x0f0f0f0f, x8[6], acc);
    acc = __dp4a((w.w >> 4) & 0x0f0f0f0f, x8[7], acc);
    return acc;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// x (f32, written by the previous launch) -> int8 in shared memory.
__device__ void load_x(const float* x, int8_t* xs) {
    for (int i = threadIdx.x; i < kE; i += kThreads) xs[i] = static_cast<int8_t>(fmaxf(-127.f, fminf(127.f, __ldcg(x + i) * 4.f)));
    __syncthreads();
}

// One A item: rows item * RA .. + RA of h = silu(gate . x) * (up . x). Warp w: rows w * RA / 8 .. + RA / 8.
template <int RA>
__device__ void run_a(const Layer& L, int item, const int8_t* xs, float* h) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int i = 0; i < RA / 8; ++i) {
        const int r = item * RA + warp * (RA / 8) + i;
        int4 wg[4], wu[4];
        __half sg[4], su[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int u = lane + 32 * k;
            if (u < kUE) {
                wg[k] = __ldcs(L.gq + static_cast<size_t>(r) * kUE + u);
                wu[k] = __ldcs(L.uq + static_cast<size_t>(r) * kUE + u);
                sg[k] = L.gs[static_cast<size_t>(r) * kUE + u];
                su[k] = L.us[static_cast<size_t>(r) * kUE + u];
            }
        }
        float g = 0.f, up = 0.f;
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int u = lane + 32 * k;
            if (u < kUE) {
                const int* x8 = reinterpret_cast<const int*>(xs + u * 32);
                g += __half2float(sg[k]) * static_cast<float>(dot_unit(wg[k], x8));
                up += __half2float(su[k]) * static_cast<float>(dot_unit(wu[k], x8));
            }
        }
        g = warp_sum(g) * 1e-4f;
        up = warp_sum(up) * 1e-4f;
        if (lane == 0) h[r] = g / (1.f + __expf(-g)) * up;
    }
}

// One B item: rows rg * RB .. + RB of y += down[:, chunk] . h[chunk]. Warp w: RB / 8 rows, two at a time.
template <int RB>
__device__ void run_b(const Layer& L, int rg, int c, const float* h, int8_t* hs, float* y) {
    for (int i = threadIdx.x; i < kChunkUnits * 32; i += kThreads)
        hs[i] = static_cast<int8_t>(fmaxf(-127.f, fminf(127.f, __ldcg(h + c * kChunkUnits * 32 + i) * 64.f)));
    __syncthreads();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int i = 0; i < RB / 8; i += 2) {
        int4 w[2][2];
        __half s[2][2];
#pragma unroll
        for (int j = 0; j < 2; ++j)
#pragma unroll
            for (int k = 0; k < 2; ++k) {
                const int r = rg * RB + warp * (RB / 8) + i + j, u = lane + 32 * k;
                if (u < kChunkUnits) {
                    w[j][k] = __ldcs(L.dq + static_cast<size_t>(r) * kUF + c * kChunkUnits + u);
                    s[j][k] = L.ds[static_cast<size_t>(r) * kUF + c * kChunkUnits + u];
                }
            }
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            float acc = 0.f;
#pragma unroll
            for (int k = 0; k < 2; ++k) {
                const int u = lane + 32 * k;
                if (u < kChunkUnits) acc += __half2float(s[j][k]) * static_cast<float>(dot_unit(w[j][k], reinterpret_cast<const int*>(hs + u * 32)));
            }
            acc = warp_sum(acc) * 1e-4f;
            if (lane == 0) atomicAdd(y + rg * RB + warp * (RB / 8) + i + j, acc);
        }
    }
    __syncthreads();  // hs is rewritten by the block's next item
}

// The block's next item from the queue (or -1 once the launch's items are gone; the last block out resets
// the queue and the chunk counters for the next launch, which starts after this grid's completion).
__device__ int next_item(const Sync& s, int n_items, int* slot) {
    __syncthreads();
    if (threadIdx.x == 0) {
        int it = atomicAdd(s.queue, 1);
        if (it >= n_items) {
            it = -1;
            if (atomicAdd(s.done, 1) == static_cast<int>(gridDim.x) - 1) {
                *s.queue = 0;
                *s.done = 0;
                for (int c = 0; c < kChunks; ++c) s.chunk[c] = 0;
            }
        }
        *slot = it;
    }
    __syncthreads();
    return *slot;
}

// mode 0: fused (A then B items, B waits for its chunk); 1: A items only; 2: B items only (no waits).
template <int MODE, int RA, int RB>
__global__ void __launch_bounds__(kThreads) ffn_items(Layer L, const float* x, float* h, float* y, float* y_clear, Sync s) {
    __shared__ __align__(16) int8_t xs[kE];
    __shared__ __align__(16) int8_t hs[kChunkUnits * 32];
    __shared__ int slot;
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;");
    if (MODE != 2) {
        load_x(x, xs);
        for (int i = blockIdx.x * kThreads + threadIdx.x; i < kE; i += gridDim.x * kThreads) y_clear[i] = 0.f;
    }
    const int n_items = MODE == 0 ? items_a<RA> + items_b<RB> : MODE == 1 ? items_a<RA> : items_b<RB>;
    for (int it = next_item(s, n_items, &slot); it >= 0; it = next_item(s, n_items, &slot)) {
        if (MODE == 1 || (MODE == 0 && it < items_a<RA>)) {
            run_a<RA>(L, it, xs, h);
            if (MODE == 0) {
                __syncthreads();
                if (threadIdx.x == 0) {
                    __threadfence();
                    atomicAdd(s.chunk + it / chunk_items<RA>, 1);
                }
            }
        } else {
            const int b = MODE == 0 ? it - items_a<RA> : it;
            const int c = b / (kE / RB), rg = b % (kE / RB);
            if (MODE == 0) {
                if (threadIdx.x == 0) {
                    int v;
                    do {
                        asm volatile("ld.acquire.gpu.global.b32 %0, [%1];" : "=r"(v) : "l"(s.chunk + c) : "memory");
                    } while (v < chunk_items<RA>);
                }
                __syncthreads();
            }
            run_b<RB>(L, rg, c, h, hs, y);
        }
    }
}

// The down projection as the engine's one-token kernel does it: a warp per whole row (592 units), y written.
__global__ void __launch_bounds__(kThreads) down_rows(Layer L, const float* h, float* y) {
    __shared__ __align__(16) int8_t hs[kF];
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;");
    for (int i = threadIdx.x; i < kF; i += kThreads) hs[i] = static_cast<int8_t>(fmaxf(-127.f, fminf(127.f, __ldcg(h + i) * 64.f)));
    __syncthreads();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int r = blockIdx.x * 8 + warp; r < kE; r += gridDim.x * 8) {
        float acc = 0.f;
        for (int u0 = lane; u0 < kUF; u0 += 64) {
            int4 w[2];
            __half sc[2];
#pragma unroll
            for (int k = 0; k < 2; ++k)
                if (u0 + 32 * k < kUF) {
                    w[k] = __ldcs(L.dq + static_cast<size_t>(r) * kUF + u0 + 32 * k);
                    sc[k] = L.ds[static_cast<size_t>(r) * kUF + u0 + 32 * k];
                }
#pragma unroll
            for (int k = 0; k < 2; ++k)
                if (u0 + 32 * k < kUF)
                    acc += __half2float(sc[k]) * static_cast<float>(dot_unit(w[k], reinterpret_cast<const int*>(hs + (u0 + 32 * k) * 32)));
        }
        acc = warp_sum(acc) * 1e-4f;
        if (lane == 0) y[r] = acc;
    }
}

}  // namespace

int main() {
    int nsm = 0;
    PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
    constexpr int kLayers = 8;
    const size_t gate_q = static_cast<size_t>(kF) * kUE, down_q = static_cast<size_t>(kE) * kUF;  // units
    const size_t layer_bytes = (2 * gate_q + down_q) * 18;
    constexpr int kSets = 3;  // weight sets rotated between repetitions (3 x 8 x 114.6 MB, past L2)
    std::vector<Layer> layers(kSets * kLayers);
    for (auto& L : layers) {
        int4* q = nullptr;
        __half* sc = nullptr;
        PROBE_CHECK(cudaMalloc(&q, (2 * gate_q + down_q) * 16));
        PROBE_CHECK(cudaMalloc(&sc, (2 * gate_q + down_q) * 2));
        PROBE_CHECK(cudaMemset(q, 0x35, (2 * gate_q + down_q) * 16));
        PROBE_CHECK(cudaMemset(sc, 0x11, (2 * gate_q + down_q) * 2));
        L = {q, sc, q + gate_q, sc + gate_q, q + 2 * gate_q, sc + 2 * gate_q};
    }
    float *xbuf = nullptr, *h = nullptr;
    PROBE_CHECK(cudaMalloc(&xbuf, 4 * kE * sizeof(float)));  // y of layer l in slot (l + 1) % 4
    PROBE_CHECK(cudaMemset(xbuf, 0, 4 * kE * sizeof(float)));
    PROBE_CHECK(cudaMalloc(&h, kF * sizeof(float)));
    int* sync_mem = nullptr;
    PROBE_CHECK(cudaMalloc(&sync_mem, 64 * sizeof(int)));
    PROBE_CHECK(cudaMemset(sync_mem, 0, 64 * sizeof(int)));
    const Sync sync{sync_mem, sync_mem + 1, sync_mem + 2};
    const Sync sync_b{sync_mem + 32, sync_mem + 33, sync_mem + 34};  // the split mode's B launch
    cudaStream_t st;
    PROBE_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    auto slot = [&](int l) { return xbuf + (l % 4) * kE; };

    int occ_fused = 0, occ_rows = 0;
    PROBE_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ_fused, ffn_items<0, 8, 32>, kThreads, 0));
    PROBE_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ_rows, down_rows, kThreads, 0));
    std::printf("SMs %d, resident blocks per SM: items %d, down rows %d; %d layers of %.1f MB\n", nsm, occ_fused, occ_rows, kLayers,
                layer_bytes / 1e6);
    // (bytes: what one layer of the row reads; the rows of one item kind read part of the layer)
    auto report = [&](const char* what, double us, size_t bytes) {
        const double ideal = bytes / (kProbeReadTBs * 1e6);
        std::printf("%-44s %8.1f us per layer, %6.1f GB/s, %5.2f us over %.2f us at %.2f TB/s\n", what, us / kLayers,
                    bytes * kLayers / us / 1e3, us / kLayers - ideal, ideal, kProbeReadTBs);
    };
    const int reps = 12;
    // One table row: launch(L, l) enqueues layer l (weights L) of a repetition; kLayers layers per repetition.
    auto row = [&](const char* what, auto launch, size_t bytes = 0) {
        report(what, probe_time_us(st, reps, [&](int rep) {
            for (int l = 0; l < kLayers; ++l) launch(layers[(rep % kSets) * kLayers + l], l);
        }), bytes ? bytes : layer_bytes);
    };
    auto sizes = [&](auto ra, auto rb) {
        constexpr int RA = decltype(ra)::value, RB = decltype(rb)::value;
        for (int bps = 2; bps <= occ_fused; ++bps) {
            const dim3 grid(nsm * bps);
            auto items = [&](auto kernel, const Layer& L, int l, const Sync& s) {
                probe_launch(st, true, grid, dim3(kThreads), 0, kernel, L, slot(l), h, slot(l + 1), slot(l + 2), s);
            };
            char what[80];
            std::snprintf(what, sizeof(what), "fused A%d B%d, %d blk/SM", RA, RB, bps);
            row(what, [&](const Layer& L, int l) { items(ffn_items<0, RA, RB>, L, l, sync); });
            std::snprintf(what, sizeof(what), "split A%d B%d, %d blk/SM", RA, RB, bps);
            row(what, [&](const Layer& L, int l) {
                items(ffn_items<1, RA, RB>, L, l, sync);
                items(ffn_items<2, RA, RB>, L, l, sync_b);
            });
            std::snprintf(what, sizeof(what), "split A%d + down rows, %d blk/SM", RA, bps);
            row(what, [&](const Layer& L, int l) {
                items(ffn_items<1, RA, RB>, L, l, sync);
                probe_launch(st, true, dim3(nsm * occ_rows), dim3(kThreads), 0, down_rows, L, h, slot(l + 1));
            });
            std::snprintf(what, sizeof(what), "A%d alone, %d blk/SM", RA, bps);
            row(what, [&](const Layer& L, int l) { items(ffn_items<1, RA, RB>, L, l, sync); }, 2 * gate_q * 18);
            std::snprintf(what, sizeof(what), "B%d alone, %d blk/SM", RB, bps);
            row(what, [&](const Layer& L, int l) { items(ffn_items<2, RA, RB>, L, l, sync_b); }, down_q * 18);
        }
    };
    for (int round = 0; round < 2; ++round) {
        sizes(std::integral_constant<int, 32>{}, std::integral_constant<int, 64>{});
        sizes(std::integral_constant<int, 8>{}, std::integral_constant<int, 32>{});
        sizes(std::integral_constant<int, 8>{}, std::integral_constant<int, 64>{});
        sizes(std::integral_constant<int, 16>{}, std::integral_constant<int, 16>{});
    }
    // the same bytes as a plain stream: two PDL launches per layer (gate + up, down)
    int* xs = nullptr;
    PROBE_CHECK(cudaMalloc(&xs, 64 * 4096 * 4));
    PROBE_CHECK(cudaMemset(xs, 0, 64 * 4096 * 4));
    report("stream, 2 launches per layer", probe_time_us(st, reps, [&](int rep) {
        for (int l = 0; l < kLayers; ++l) {
            const Layer& L = layers[(rep % kSets) * kLayers + l];
            // the planes of a layer are one quants block and one scales block; stream the quants (16/18 of the bytes)
            probe_launch(st, true, dim3(nsm * 4), dim3(256), 0, stream_chain_kernel<4, false>, L.gq, 2 * gate_q, (const int*)(xs + (2 * l % 64) * 4096),
                         xs + ((2 * l + 1) % 64) * 4096);
            probe_launch(st, true, dim3(nsm * 4), dim3(256), 0, stream_chain_kernel<4, false>, L.dq, down_q, (const int*)(xs + ((2 * l + 1) % 64) * 4096),
                         xs + ((2 * l + 2) % 64) * 4096);
        }
    }) * 18.0 / 16.0, layer_bytes);
    std::printf("(the stream row reads the quants only, its time scaled by 18/16)\n");
    return 0;
}
