// The fused one-token feed-forward kernel (ffn1.cuh): gate/up + SwiGLU + q8_1 of act, then the down
// projection + residual add, items taken from a queue by a persistent grid.
//
// Gate/up item i (i < n_a = n_ff / 32): rows 32 i .. 32 i + 31 of act; 8 lanes per row (a warp holds
// four rows), UG units per lane in flight for both matrices; warp 0 quantizes the 32 values into one
// q8_1 block, then the item counts itself done in its chunk (fence, add).
// Down item n_a + b: rows 8 b .. 8 b + 7 of y, a warp per row, UD units per lane in flight. Before a
// batch's dot products the block makes sure every chunk of act the batch reads is staged in its shared
// memory (thread 0 waits for the chunks' counts, the block copies them from L2); a block keeps what it
// staged for its later down items. The batch's weights are requested before that wait.
#include "backend/gpu/ffn1.cuh"

#include <type_traits>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/matvec1_kernel.cuh"

namespace rf::gpu {
namespace {

__device__ __forceinline__ int ffn1_peek(const int* p) { return *reinterpret_cast<const volatile int*>(p); }
// A down item's partial sum handed to the next part of its row: (tag, value) in one 8-byte word, written
// and polled without fences (NCCL's LL protocol: the word carries its own validity).
__device__ __forceinline__ void ffn1_put_partial(unsigned long long* w, uint32_t tag, float v) {
    *reinterpret_cast<volatile unsigned long long*>(w) = (static_cast<unsigned long long>(tag) << 32) | __float_as_uint(v);
}
__device__ __forceinline__ float ffn1_get_partial(const unsigned long long* w, uint32_t tag) {
    unsigned long long x;
    do {
        x = *reinterpret_cast<const volatile unsigned long long*>(w);
    } while (static_cast<uint32_t>(x >> 32) != tag);
    return __uint_as_float(static_cast<uint32_t>(x));
}
// A load that does not hit a stale L1 line: act is written by other blocks during the launch.
template <typename V>
__device__ __forceinline__ V ffn1_load_fresh(const V* p) {
#if defined(ROCMFORGE_WITH_HIP)
    return *p;  // (thread 0's acquiring fence invalidated the CU's L1 before the barrier)
#else
    return __ldcg(p);
#endif
}

size_t ffn1_smem_bytes(int64_t n_embd, int64_t n_ff) { return matvec1_smem_bytes(n_embd) + matvec1_smem_bytes(n_ff); }

// UDM: a down item's units in flight per lane, as a multiple of the type's (1 or 2). MINB: blocks per SM
// (2, or 4 with half the gate/up units in flight and the norm holding one float4 per thread: the same
// bytes in flight per SM in twice the warps).
template <TensorType TG, TensorType TD, int UDM, int MINB>
__global__ void __launch_bounds__(kFfn1Threads, MINB) ffn1_kernel(const Ffn1Args a) {
    using PG = QuantPolicy<TG>;
    using PD = QuantPolicy<TD>;
    constexpr int UG = MINB > 2 ? std::max(1, matvec1_units_in_flight<TG>() / 2) : matvec1_units_in_flight<TG>();
    constexpr int NH = MINB > 2 ? kMatvec1FitNormHeld : kMatvec1NormHeld;
    // (UDM 2: a down item streams one matrix with the bytes in flight of a gate/up item's two)
    constexpr int UD = UDM * matvec1_units_in_flight<TD>();
    constexpr int kLprG = RF_WARP_SIZE / (kFfn1ActRows / (kFfn1Threads / RF_WARP_SIZE));  // 8 lanes per gate/up row
#if !defined(ROCMFORGE_WITH_HIP)  // (HIP: compiled, not dispatched: ffn1_supports)
    static_assert(kLprG * kFfn1ActRows == kFfn1Threads, "a gate/up item is one pass of the block");
    static_assert(kFfn1DownRows == kFfn1Threads / RF_WARP_SIZE, "a down item is a warp per row");
#endif
    extern __shared__ int4 ffn1_smem[];  // x's q8_1 (int8 [n_embd], float2 [n_embd / 32]), then act's
    auto* xs_q = reinterpret_cast<int8_t*>(ffn1_smem);
    auto* xs_ds = reinterpret_cast<float2*>(xs_q + align_up(static_cast<size_t>(a.n_embd), 16));
    auto* hs_q = xs_q + matvec1_smem_bytes(a.n_embd);
    auto* hs_ds = reinterpret_cast<float2*>(hs_q + align_up(static_cast<size_t>(a.n_ff), 16));
    __shared__ float ys[kFfn1ActRows];
    __shared__ int s_items[2], s_ready;  // items taken from the queue, published by the next barrier

    const int lane = threadIdx.x % RF_WARP_SIZE, warp = threadIdx.x / RF_WARP_SIZE;
    const int n_a = a.n_ff / kFfn1ActRows;
    const int n_groups = (a.n_embd + kFfn1DownRows - 1) / kFfn1DownRows;  // down row groups
    const int n_items = n_a + a.parts * n_groups;
    const int chunk_items = n_a / a.n_chunks, chunk_cols = a.n_ff / a.n_chunks;
    int* const queue = a.sync + kFfn1SyncQueue;
    int* const started = a.sync + kFfn1SyncStarted;
    int* const chunks = a.sync + kFfn1SyncChunks;
    const int nu_g = PG::units(a.gate), nu_d = PD::units(a.down);
    const int part_units = nu_d / a.parts;  // a down item covers units [p * part_units, (p + 1) * part_units)
    auto* const partials = reinterpret_cast<unsigned long long*>(a.sync + kFfn1SyncInts);  // [n_embd]
    const int cols_per_unit_d = a.n_ff / nu_d;
    const int jg = lane % kLprG, row_in_item = threadIdx.x / kLprG;

    typename PG::W wg[2][UG];
    typename PD::W wd[UD];
    typename PG::Row rg[2];
    typename PD::Row rd;
    auto a_rows = [&](int item) {
        const int r = item * kFfn1ActRows + row_in_item;
        rg[0] = PG::row(a.gate, r);
        rg[1] = PG::row(a.up, r);
    };
    auto a_load = [&](int u0) {
#pragma unroll
        for (int k = 0; k < UG; ++k) {
            const int u = u0 + k * kLprG;
            if (u < nu_g) {
                wg[0][k] = PG::load(rg[0], u);
                wg[1][k] = PG::load(rg[1], u);
            }
        }
    };
    // down item -> (part, row group): part-major, so that every block takes part 0 of all rows first
    auto b_part = [&](int item) { return (item - n_a) / n_groups; };
    auto b_row = [&](int item) {
        const int r = (item - n_a) % n_groups * kFfn1DownRows + warp;
        rd = PD::row(a.down, r < a.n_embd ? r : 0);
        return r < a.n_embd;
    };
    auto b_load = [&](bool ok, int base, int base_end) {
#pragma unroll
        for (int k = 0; k < UD; ++k) {
            const int u = base + lane + k * RF_WARP_SIZE;
            if (ok && u < base_end) wd[k] = PD::load(rd, u);
        }
    };

    // The first item and, before the PDL wait, its first weights (weights never depend on earlier
    // kernels; the sync words were last used by this launch's previous replay, long complete).
    if (threadIdx.x == 0) {
        s_items[0] = atomicAdd(queue, 1);
        s_items[1] = atomicAdd(queue, 1);
    }
    float4 wv[NH];
    if (a.norm_x != nullptr) {
        const auto* w4 = reinterpret_cast<const float4*>(a.norm_w);
#pragma unroll
        for (int k = 0; k < NH; ++k) {
            const int i = static_cast<int>(threadIdx.x) + k * kFfn1Threads;
            wv[k] = i < a.n_embd / 4 ? w4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
    }
    __syncthreads();
    int item = s_items[0], next = s_items[1];  // the block's item and its next one
    bool preloaded = a.early != 0 && item < n_items;
    if (preloaded) {
        if (item < n_a) {
            a_rows(item);
            a_load(jg);
        } else {
            const int p = b_part(item);
            b_load(b_row(item), p * part_units, (p + 1) * part_units);
        }
    }
    RF_MATVEC1_PDL_WAIT();
    RF_MATVEC1_PDL_TRIGGER();

    // x's q8_1 into shared memory: the rms_norm prologue (block 0 also writes the norm's outputs) or a copy.
    MatvecArgs ma = {};
    ma.norm_x = a.norm_x;
    ma.norm_w = a.norm_w;
    ma.norm_eps = a.norm_eps;
    ma.norm_out = a.norm_out;
    ma.norm_xq = a.x_q;
    ma.norm_xds = a.x_ds;
    ma.x = a.x_q;
    ma.xds = a.x_ds;
    if (a.norm_x != nullptr) matvec1_norm_x<NH, false>(ma, a.n_embd, wv, xs_q, xs_ds);
    else matvec1_copy_x(ma, a.n_embd, xs_q, xs_ds);
    __syncthreads();
    if (threadIdx.x == 0) {  // this block's reads of x are done (the down items add into x)
        __threadfence();
        atomicAdd(started, 1);
    }

    const uint32_t epoch = static_cast<uint32_t>(ffn1_peek(a.sync + kFfn1SyncEpoch));  // this launch's replay count
    const typename PG::X xg{xs_q, xs_ds};
    const typename PD::X xd{hs_q, hs_ds};
    int ready = 0;  // act's chunks staged in this block's shared memory: [0, ready)
    // Item k of this block: the item after next is taken from the queue (published by the item's last
    // barrier), and the next item's first weights are requested once the last batch of this one is in
    // registers, before this item's reductions and writes (as the persistent matvec does).
    // (Two taken ahead: an item waits only for gate/up items, all of which precede every down item in
    // the queue, so the items a block holds never include one it waits for.)
    auto preload_next = [&] {
        if (next >= n_items) return false;
        if (next < n_a) {
            a_rows(next);
            a_load(jg);
        } else {
            const int p = b_part(next);
            b_load(b_row(next), p * part_units, (p + 1) * part_units);
        }
        return true;
    };

    for (int k = 0; item < n_items; ++k) {
        if (threadIdx.x == 0) s_items[k & 1] = next < n_items ? atomicAdd(queue, 1) : n_items;
        bool next_loaded = false;
        if (item < n_a && (a.knock & kFfn1KnockA)) {
            next_loaded = false;
        } else if (item < n_a) {
            if (!preloaded) {
                a_rows(item);
                a_load(jg);
            }
            const int r = item * kFfn1ActRows + row_in_item;
            float acc[2] = {0.0f, 0.0f};
            for (int u0 = jg;;) {
#pragma unroll
                for (int k2 = 0; k2 < UG; ++k2) {
                    const int u = u0 + k2 * kLprG;
                    if (u < nu_g) {
                        acc[0] += PG::dot(wg[0][k2], xg, u);
                        acc[1] += PG::dot(wg[1][k2], xg, u);
                    }
                }
                u0 += UG * kLprG;
                if (u0 >= nu_g) break;
                a_load(u0);
            }
            next_loaded = preload_next();
#pragma unroll
            for (int m = 0; m < 2; ++m)
                for (int off = kLprG / 2; off > 0; off >>= 1) acc[m] += rf_shfl_xor(acc[m], off);
            if (jg == 0) {
                float g = acc[0], up = acc[1];
                if (a.bias_gate) g += a.bias_gate[r];
                if (a.bias_up) up += a.bias_up[r];
                a.y_gate[r] = g;
                a.y_up[r] = up;
                const float h = silu(g) * up;
                a.y_act[r] = h;
                ys[row_in_item] = h;
            }
            __syncthreads();
            if (warp == 0) {
                quantize_q8_1_warp(ys[lane], static_cast<int64_t>(item) * kFfn1ActRows + lane, a.act_q, a.act_ds);
                __syncwarp();
                if (lane == 0) {
                    // (counted here: deferred to the top of the next item it was 1 us per layer slower)
                    if (!(a.knock & kFfn1KnockFences)) __threadfence();
                    atomicAdd(chunks + item / chunk_items, 1);
                }
            }
        } else if (a.knock & kFfn1KnockB) {
            next_loaded = false;
        } else {
            const int p = b_part(item);
            const int u_begin = p * part_units, u_end = u_begin + part_units;
            const int r = (item - n_a) % n_groups * kFfn1DownRows + warp;
            const bool ok = b_row(item);
            if (!preloaded) b_load(ok, u_begin, u_end);
            float acc = 0.0f;
            for (int base = u_begin; base < u_end; base += UD * RF_WARP_SIZE) {  // the same trip count in every thread
                if (base > u_begin) b_load(ok, base, u_end);
                const int col_end = min(base + UD * RF_WARP_SIZE, u_end) * cols_per_unit_d;
                const int need = (col_end - 1) / chunk_cols + 1;  // chunks [0, need) are read by this batch
                if (need > ready && !(a.knock & kFfn1KnockWaits)) {
                    if (threadIdx.x == 0) {
                        int c = ready;
                        while (c < a.n_chunks) {  // every complete chunk from `ready` on, waiting for those below `need`
                            if (ffn1_peek(chunks + c) >= chunk_items) ++c;
                            else if (c >= need) break;
                        }
                        if (!(a.knock & kFfn1KnockFences)) __threadfence();
                        s_ready = c;
                    }
                    __syncthreads();
                    const int nr = s_ready;
                    const int4* src = reinterpret_cast<const int4*>(a.act_q);
                    int4* dst = reinterpret_cast<int4*>(hs_q);
                    for (int i = ready * chunk_cols / 16 + threadIdx.x; i < nr * chunk_cols / 16; i += kFfn1Threads)
                        dst[i] = ffn1_load_fresh(src + i);
                    for (int i = ready * chunk_cols / 32 + threadIdx.x; i < nr * chunk_cols / 32; i += kFfn1Threads)
                        hs_ds[i] = ffn1_load_fresh(a.act_ds + i);
                    __syncthreads();
                    ready = nr;
                }
#pragma unroll
                for (int k2 = 0; k2 < UD; ++k2) {
                    const int u = base + lane + k2 * RF_WARP_SIZE;
                    if (ok && u < u_end) acc += PD::dot(wd[k2], xd, u);
                }
            }
            next_loaded = preload_next();
            for (int off = RF_WARP_SIZE / 2; off > 0; off >>= 1) acc += rf_shfl_xor(acc, off);
            if (ok && lane == 0) {
                // the parts' sums in part order (the same bits whatever the blocks' timing)
                float v = p > 0 ? ffn1_get_partial(partials + r, epoch * a.parts + p) + acc : acc;
                if (p + 1 < a.parts) {
                    ffn1_put_partial(partials + r, epoch * a.parts + p + 1, v);
                } else {
                    if (a.bias_down) v += a.bias_down[r];
                    // x is read by every block's prologue, and y may be the buffer block 0's prologue
                    // writes the norm's output to: write both once all blocks are past their prologues
                    while (!(a.knock & kFfn1KnockStarted) && ffn1_peek(started) < static_cast<int>(gridDim.x)) {
                    }
                    if (!(a.knock & kFfn1KnockFences)) __threadfence();
                    a.y_down[r] = v;
                    a.residual[r] += v;
                }
            }
        }
        __syncthreads();
        item = next;
        next = s_items[k & 1];
        preloaded = next_loaded;
    }
    // The last block out resets the sync words for the next replay and counts the replay (the partials'
    // tags).
    if (threadIdx.x == 0) {
        __threadfence();
        if (atomicAdd(a.sync + kFfn1SyncDone, 1) == static_cast<int>(gridDim.x) - 1) {
            for (int k = 0; k < kFfn1SyncInts; ++k)
                if (k != kFfn1SyncEpoch) a.sync[k] = 0;
            a.sync[kFfn1SyncEpoch] = static_cast<int>(epoch + 1);
            __threadfence();
        }
    }
}

template <TensorType TG, TensorType TD, int UDM, int MINB>
void launch_ffn1_types(Launcher& l, const Ffn1Args& a) {
    const auto kernel = ffn1_kernel<TG, TD, UDM, MINB>;
    const size_t smem = ffn1_smem_bytes(a.n_embd, a.n_ff);
    const int64_t items = a.n_ff / kFfn1ActRows + a.parts * ((a.n_embd + kFfn1DownRows - 1) / kFfn1DownRows);
    const int64_t blocks = std::min<int64_t>(items, matvec1_resident_blocks(reinterpret_cast<const void*>(kernel), kFfn1Threads, smem));
    l.launch(kernel, dim3(static_cast<unsigned>(blocks)), dim3(kFfn1Threads), smem, a);
}

}  // namespace

int ffn1_chunks(int64_t n_ff) {
    const int64_t n_a = n_ff / kFfn1ActRows;
    for (int c = kFfn1MaxChunks; c > 1; --c)
        if (n_a % c == 0) return c;
    return 1;
}

bool ffn1_supports(TensorType tg, TensorType td, int64_t n_embd, int64_t n_ff, int parts) {
#if defined(ROCMFORGE_WITH_HIP)
    // Not dispatched on AMD yet: its item shapes assume 32-lane warps and it is unmeasured there.
    (void)tg, (void)td, (void)n_embd, (void)n_ff, (void)parts;
    return false;
#else
    tg = device_type(tg);
    td = device_type(td);
    const bool types = (tg == TensorType::Q4_0 && td == TensorType::Q4_0) || (tg == TensorType::Q8_0 && td == TensorType::Q8_0) ||
                       (tg == TensorType::Q4_K && (td == TensorType::Q4_K || td == TensorType::Q6_K));
    // x: the norm prologue holds kMatvec1NormHeld float4s per thread; both q8_1 vectors in shared memory
    const int64_t down_units = n_ff / (td == TensorType::Q6_K ? 64 : 32);
    return types && n_embd % 32 == 0 && n_ff % 256 == 0 && n_embd / 4 <= int64_t{kMatvec1NormHeld} * kFfn1Threads &&
           n_embd <= kFfn1MaxEmbd && parts >= 1 && parts <= kFfn1MaxParts && down_units % parts == 0 &&
           ffn1_smem_bytes(n_embd, n_ff) <= 48 * 1024 && matvec1_supports(tg, n_embd) && matvec1_supports(td, n_ff);
#endif
}

void launch_ffn1(Launcher& l, TensorType tg, TensorType td, const Ffn1Args& a) {
    tg = device_type(tg);
    td = device_type(td);
    if (!ffn1_supports(tg, td, a.n_embd, a.n_ff, a.parts)) fail_message("gpu ffn1: unsupported types or sizes");
    auto go = [&](auto tgc, auto tdc) {
        constexpr TensorType TG = decltype(tgc)::value, TD = decltype(tdc)::value;
        if (a.blocks_per_sm == 4) launch_ffn1_types<TG, TD, 1, 4>(l, a);
        else if (a.down_units == 2) launch_ffn1_types<TG, TD, 2, 2>(l, a);
        else launch_ffn1_types<TG, TD, 1, 2>(l, a);
    };
    using Q40 = std::integral_constant<TensorType, TensorType::Q4_0>;
    using Q80 = std::integral_constant<TensorType, TensorType::Q8_0>;
    using Q4K = std::integral_constant<TensorType, TensorType::Q4_K>;
    using Q6K = std::integral_constant<TensorType, TensorType::Q6_K>;
    if (tg == TensorType::Q4_0) go(Q40{}, Q40{});
    else if (tg == TensorType::Q8_0) go(Q80{}, Q80{});
    else if (td == TensorType::Q4_K) go(Q4K{}, Q4K{});
    else go(Q4K{}, Q6K{});
}

}  // namespace rf::gpu
