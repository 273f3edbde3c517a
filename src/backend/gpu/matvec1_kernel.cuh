// The one-token (decode) matrix-vector kernel for quantized weights (see matvec.cuh).
//
// Work split: a block of block_threads threads handles rows_per_block = warps * (32 / lpr)
// consecutive rows; `lpr` lanes (4..32) share a row and stride over its units (lane j: units
// j, j + lpr, ...), U units per lane in flight per iteration. Short rows (0.5b: 28 units of 32
// weights) use few lanes per row so that each lane has units to load; long rows use the whole warp.
//
// Order inside a block:
//   1. the first U units' weights are loaded into registers (weights never depend on the kernel
//      before, so this happens before the programmatic-dependent-launch wait and overlaps the
//      previous kernel's tail);
//   2. wait for the previous kernel, then stage x in shared memory: a copy of the q8_1
//      activation (Q8 prologue) or the rms_norm of the f32 x quantized to q8_1 (RmsNorm prologue);
//   3. dot products against the staged x, the next U units loaded after each batch;
//   4. reduce over the row's lanes; epilogue: bias, residual add, or SwiGLU (with the q8_1 of
//      silu(g) * u quantized per 32 rows of the block).
// Only included by the .cu files that instantiate it.
#pragma once

#include <algorithm>

#include "backend/gpu/matvec_kernel.cuh"
#include "backend/gpu/residual_acc.cuh"
#include "backend/gpu/weight_stream.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {

// Programmatic dependent launch split in its two halves (RF_PDL_ENTRY = wait, then trigger).
#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 900)
#define RF_MATVEC1_PDL_WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
#define RF_MATVEC1_PDL_TRIGGER() asm volatile("griddepcontrol.launch_dependents;" ::)
#else
#define RF_MATVEC1_PDL_WAIT() \
    do {                      \
    } while (0)
#define RF_MATVEC1_PDL_TRIGGER() \
    do {                         \
    } while (0)
#endif

// Units in flight per lane: about 64-100 bytes of weights per lane per batch (twice as many was
// slower on every H100 shape but the 0.5b ones, 3-30%: docs/gpu_notes.md).
template <TensorType T>
constexpr int matvec1_units_in_flight() {
    return T == TensorType::Q8_0 || T == TensorType::Q6_K ? 2 : 4;
}
// Q6_K matrices of 64K+ rows (the output matrix, 152064 x 3584) with three units in flight (H100
// isolated 164.5 -> 157.2 us; 7b q4_0 engine 506.2 -> 509.3 tok/s); the q4_k_m down projections
// (3584 x 18944) keep two (three: 28.4 -> 29.4 us, engine q4_k_m -0.3 %).
constexpr int kMatvec1Q6kTallUnits = 3;
constexpr int64_t kMatvec1Q6kTallRows = 65536;

constexpr int kMatvec1MaxThreads = 512;
constexpr int kMatvec1MaxRowsPerBlock = kMatvec1MaxThreads / 32 * 8;  // lanes_per_row >= 4
constexpr int kMatvec1NormHeld = 4;  // float4s of x and w per thread held in registers by the norm
// Launches fitted to short rows (MatvecArgs::fit): where a lane's whole share of its row needs fewer
// units in flight than the type's default, the kernel instance with just those (every unit slot past
// the row is a predicated load and dot product on the kernel's critical path), and the norm prologue
// holding one float4 of x and w per thread where the row fits that. The same loads and sums.
// H100, 0.5b q4_0 step (896-wide rows: 28 units over 32 lanes), queued us: 459 -> 448 (q/k/v with
// one unit), 448 (wo with one unit), 439 (both), 436 (and gate/up tight): docs/gpu_notes.md.
constexpr int kMatvec1FitNormHeld = 1;
constexpr int kMatvec1FitNorm = 1;          // norm-prologue launches (no SwiGLU) of at most one unit per lane
constexpr int kMatvec1FitPlain = 2;         // plain launches of at most one unit per lane
constexpr int kMatvec1FitSwigluTight = 4;   // SwiGLU + norm launches: half the units at two 512-thread
                                            // blocks per SM, where every row group then has a block

// Bytes of shared memory for x of `cols` (q8_1: int8 [cols], then float2 [cols / 32]); a few-token
// launch stages each token's at a multiple of 16 bytes (matvec1_token_smem_bytes).
RF_HOST_DEVICE inline size_t matvec1_smem_bytes(int64_t cols) {
    return align_up(static_cast<size_t>(cols), 16) + static_cast<size_t>(cols / 32) * 8;
}
RF_HOST_DEVICE inline size_t matvec1_token_smem_bytes(int64_t cols) { return align_up(matvec1_smem_bytes(cols), 16); }

// Q8 prologue: the token's q8_1 activation copied into shared memory (cols % 32 == 0).
// tok: which row of x (a few-token launch).
__device__ __forceinline__ void matvec1_copy_x(const MatvecArgs& a, int tok, int cols, int8_t* xq, float2* xds) {
    const int4* src = reinterpret_cast<const int4*>(static_cast<const int8_t*>(a.x) + static_cast<int64_t>(tok) * cols);
    const float2* src_ds = a.xds + static_cast<int64_t>(tok) * (cols / 32);
    int4* dst = reinterpret_cast<int4*>(xq);
    for (int i = threadIdx.x; i < cols / 16; i += blockDim.x) dst[i] = src[i];
    for (int i = threadIdx.x; i < cols / 32; i += blockDim.x) xds[i] = src_ds[i];
}

// RmsNorm prologue: out = x / sqrt(mean(x^2) + eps) * w, quantized to q8_1 into shared memory;
// block 0 also writes out (f32) and its q8_1 to global memory. Thread t handles the float4s
// t, t + blockDim, ...; the 8 lanes of one 32-element q8_1 block are 8 consecutive lanes
// (cols % 32 == 0, blockDim % 32 == 0), so the block's max and sum are 3 shuffle steps.
// wv: the first NH float4s of w of this thread (loaded before the PDL wait).
// DEFER: x is norm_x + norm_acc (a pending residual update, residual_acc.cuh).
// red: shared memory for a float per warp. With a.norm_late_scale, x * w is quantized unscaled (a q8_1
// block's quants do not depend on a common factor; its d and s take it) and each warp leaves its
// share of sum(x^2) in red: no block reduction before the caller's barrier, after which
// matvec1_norm_late_scale gives the factor the launch's results are multiplied by; block 0 writes
// nothing to global memory (the emitter sets it only where out is not read again).
// tok: which row of x (a few-token launch, matvec1_kernel's NT; the global outputs are [n_tok, cols] and
// their q8_1 [n_tok * cols], [n_tok * cols / 32]); xq / xds / red are that token's.
template <int NH, bool DEFER>
__device__ __forceinline__ void matvec1_norm_x(const MatvecArgs& a, int tok, int cols, const float4 (&wv)[NH], int8_t* xq,
                                               float2* xds, float* red) {
    const bool late = a.norm_late_scale != 0;
    const int n4 = cols / 4;
    const int n = blockDim.x;
    const int64_t row0 = static_cast<int64_t>(tok) * cols;  // the token's first element
    const auto* x4 = reinterpret_cast<const float4*>(a.norm_x + row0);
    const auto* w4 = reinterpret_cast<const float4*>(a.norm_w);
    float4 held[NH];
    float ss = 0.0f;
    // float4 i of x, plus the pending residual update's four elements where there is one (both loads
    // issued before either is used)
    auto x_at = [&](int i) {
        float4 v = x4[i];
        if constexpr (DEFER) {
            const auto* acc2 = reinterpret_cast<const longlong2*>(a.norm_acc) + 2 * i;
            const longlong2 lo = acc2[0], hi = acc2[1];
            v.x += res_acc_value(lo.x);
            v.y += res_acc_value(lo.y);
            v.z += res_acc_value(hi.x);
            v.w += res_acc_value(hi.y);
        }
        return v;
    };
#pragma unroll
    for (int k = 0; k < NH; ++k) {
        const int i = threadIdx.x + k * n;
        held[k] = i < n4 ? x_at(i) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        ss += held[k].x * held[k].x + held[k].y * held[k].y + held[k].z * held[k].z + held[k].w * held[k].w;
    }
    // (Trip counts and round counts without an integer division: rows of up to
    // NH * blockDim float4s, every decode shape here, skip the loops below whole.)
    if (NH * n < n4) {
        for (int i = threadIdx.x + NH * n; i < n4; i += n) {
            const float4 v = x_at(i);
            ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
        }
    }
    const int lane = threadIdx.x % RF_WARP_SIZE;
    float scale = 1.0f;
    if (late) {
        block_sum_publish(ss, red);
    } else {
        ss = block_sum_fresh(ss, red);
        scale = rsqrtf(ss / static_cast<float>(cols) + a.norm_eps);
    }
    const bool first = blockIdx.x == 0 && !late;
    // float4 i of x (xv) and w (w_i) -> out, the q8_1 in shared memory (and global in block 0).
    // Called by whole warps (the shuffles); i may be past the end for whole 8-lane groups.
    auto emit = [&](int i, float4 xv, float4 w_i) {
        const bool in = i < n4;
        float4 o = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (in) o = make_float4(xv.x * scale * w_i.x, xv.y * scale * w_i.y, xv.z * scale * w_i.z, xv.w * scale * w_i.w);
        float amax = fmaxf(fmaxf(fabsf(o.x), fabsf(o.y)), fmaxf(fabsf(o.z), fabsf(o.w)));
#pragma unroll
        for (int m = 1; m < 8; m <<= 1) amax = fmaxf(amax, rf_shfl_xor(amax, m));
        const float d = amax / 127.0f;
        const float id = q8_inverse_scale(amax, d);
        const int q0 = __float2int_rn(o.x * id);
        const int q1 = __float2int_rn(o.y * id);
        const int q2 = __float2int_rn(o.z * id);
        const int q3 = __float2int_rn(o.w * id);
        int s = q0 + q1 + q2 + q3;
#pragma unroll
        for (int m = 1; m < 8; m <<= 1) s += rf_shfl_xor(s, m);
        if (!in) return;
        const uint32_t packed = (static_cast<uint32_t>(q0) & 0xffu) | ((static_cast<uint32_t>(q1) & 0xffu) << 8) |
                                ((static_cast<uint32_t>(q2) & 0xffu) << 16) | ((static_cast<uint32_t>(q3) & 0xffu) << 24);
        const float2 ds = make_float2(d, d * static_cast<float>(s));
        reinterpret_cast<uint32_t*>(xq)[i] = packed;
        if ((lane & 7) == 0) xds[i / 8] = ds;
        if (first) {
            reinterpret_cast<float4*>(a.norm_out + row0)[i] = o;
            reinterpret_cast<uint32_t*>(a.norm_xq + row0)[i] = packed;
            if ((lane & 7) == 0) a.norm_xds[row0 / 32 + i / 8] = ds;
        }
    };
    // round k (float4s k * n .. k * n + n - 1) exists when k * n < n4: the same for every thread
#pragma unroll
    for (int k = 0; k < NH; ++k)
        if (k * n < n4) emit(threadIdx.x + k * n, held[k], wv[k]);
    for (int k = NH; k * n < n4; ++k) {
        const int i = threadIdx.x + k * n;
        emit(i, i < n4 ? x_at(i) : make_float4(0.0f, 0.0f, 0.0f, 0.0f), i < n4 ? w4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f));
    }
}

// The factor of a late-scaled norm prologue (matvec1_norm_x with a.norm_late_scale), after the barrier
// that follows it: 1 / sqrt(mean(x^2) + eps) from the warps' shares in red.
__device__ __forceinline__ float matvec1_norm_late_scale(const MatvecArgs& a, int cols, const float* red) {
    return rsqrtf(block_sum_collect(red) / static_cast<float>(cols) + a.norm_eps);
}

// U: units in flight per lane; the type's default, twice it (the wide launches: where that holds a
// lane's whole share of its row and every row group has a block of its own, so that all of a
// block's weights are requested before the programmatic-dependent-launch wait: the 0.5b down
// projection, 152 units over 32 lanes), or kMatvec1Q6kTallUnits for Q6_K output matrices (with
// MatvecArgs::wide not 0), or fewer where a lane's share of a short row needs fewer (MatvecArgs::fit).
// NH: float4s of x and w per thread the norm prologue holds in registers. MIN_BLOCKS: the launch
// bound's blocks per SM; above 1 the launch gives every row group a block of its own (no persistent
// loop). DEFER: a pending residual update (MatvecArgs::norm_acc / residual_acc; instances of their own,
// as its loads in the others cost registers: 7b q4_0 step +19 us, q8_0 +25).
// NT: the most tokens (rows of x) of the launch, a.n_tok of them (1 .. NT; batched decode's steps of a few
// sequences): every weight unit loaded once and dotted with each token's x, x staged per token (token t's at
// t * matvec1_token_smem_bytes(cols)), the prologue and the epilogue run per token; no DEFER.
template <TensorType T, bool SWIGLU, bool NORM, int U = matvec1_units_in_flight<T>(), int NH = kMatvec1NormHeld,
          int MIN_BLOCKS = 1, bool DEFER = false, int NT = 1>
__global__ void __launch_bounds__(kMatvec1MaxThreads, MIN_BLOCKS) matvec1_kernel(const MatvecArgs a) {
    static_assert(NT >= 1 && NT <= kMatvec1MaxTokens && (NT == 1 || !DEFER), "matvec1: 1..kMatvec1MaxTokens tokens, one with DEFER");
    RF_STEP_TRACE_SCOPE(Matvec1, a.total_rows);
    using P = QuantPolicy<T>;
    constexpr int NM = SWIGLU ? 2 : 1;
    extern __shared__ int4 matvec1_smem[];  // x per token: int8 [cols], float2 [cols / 32] (16-byte aligned)
    const int cols = static_cast<int>(a.x_stride);
    const int nt = NT == 1 ? 1 : a.n_tok;
    const size_t xs_bytes = matvec1_token_smem_bytes(cols);  // one token's staged x
    auto xs_q = [&](int t) { return reinterpret_cast<int8_t*>(matvec1_smem) + t * xs_bytes; };
    auto xs_ds = [&](int t) { return reinterpret_cast<float2*>(xs_q(t) + align_up(static_cast<size_t>(cols), 16)); };

    const int lane = threadIdx.x % RF_WARP_SIZE, warp = threadIdx.x / RF_WARP_SIZE;
    const int lpr = a.lanes_per_row;
    const int slots = RF_WARP_SIZE / lpr;  // rows per warp
    const int j = lane % lpr;              // lane within the row
    const int rows_per_block = static_cast<int>(blockDim.x / RF_WARP_SIZE) * slots;
    const int row_in_block = warp * slots + lane / lpr;
    // Row groups (rows_per_block consecutive rows): group blockIdx.x, then (persistent grid, fewer
    // blocks than groups) blockIdx.x + gridDim.x, ...; the same count for every thread of a block.
    const int64_t n_groups = (a.total_rows + rows_per_block - 1) / rows_per_block;
    const int n_units = P::units(a.m[0]);  // all matrices of a launch share cols

    // A row of the launch: which matrix, the row within it, its plane pointers.
    struct RowRef {
        bool ok;
        int mi;
        int64_t lrow;
        typename P::Row rp[NM];
    };
    auto row_ref = [&](int64_t group) {
        RowRef r;
        const int64_t row = group * rows_per_block + row_in_block;
        r.ok = group < n_groups && row < a.total_rows;
        r.mi = 0;
        r.lrow = row;
        if (!SWIGLU) {
            r.mi = row < a.row_end[0] ? 0 : (row < a.row_end[1] ? 1 : 2);
            r.lrow = row - (r.mi == 0 ? 0 : r.mi == 1 ? a.row_end[0] : a.row_end[1]);
        }
        r.rp[0] = P::row(mat_of(a, r.mi), r.ok ? r.lrow : 0);
        if constexpr (SWIGLU) r.rp[1] = P::row(a.m[1], r.ok ? r.lrow : 0);
        return r;
    };

    typename P::W w[NM][U];
    // unit slots k in [k0, k1) of the batch at `base`
    auto load_part = [&](const RowRef& r, int base, int k0, int k1) {
#pragma unroll
        for (int k = 0; k < U; ++k) {
            const int u = base + k * lpr;
            if (k >= k0 && k < k1 && r.ok && u < n_units) {
#pragma unroll
                for (int m = 0; m < NM; ++m) w[m][k] = P::load(r.rp[m], u);
            }
        }
    };
    auto load = [&](const RowRef& r, int base) { load_part(r, base, 0, U); };
    int64_t group = blockIdx.x;
    RowRef cur = row_ref(group);
    const bool early = (a.early_loads & kMatvecEarlyFirst) != 0;  // the first units before the PDL wait
    const int ke = (a.early_loads & kMatvecEarlyOne) ? 1 : U;      // ... this many of them
    if (early) load_part(cur, j, 0, ke);
    float4 wv[NH];
    if constexpr (NORM) {
        const auto* w4 = reinterpret_cast<const float4*>(a.norm_w);
#pragma unroll
        for (int k = 0; k < NH; ++k) {
            const int i = static_cast<int>(threadIdx.x) + k * static_cast<int>(blockDim.x);
            wv[k] = i < cols / 4 ? w4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
    }

    RF_MATVEC1_PDL_WAIT();
    RF_STEP_TRACE_WAIT();
    RF_MATVEC1_PDL_TRIGGER();
    if (!early) load(cur, j);
    else if (ke < U) load_part(cur, j, ke, U);
    const bool direct = !NORM && a.x_direct;
    __shared__ float norm_red[NORM ? 32 * NT : 1];  // the norm prologue's per-warp sums, per token
    if constexpr (NORM) {
        for (int t = 0; t < nt; ++t) matvec1_norm_x<NH, DEFER>(a, t, cols, wv, xs_q(t), xs_ds(t), norm_red + 32 * t);
    } else if (!direct) {
        for (int t = 0; t < nt; ++t) matvec1_copy_x(a, t, cols, xs_q(t), xs_ds(t));
    }
    if (!direct) __syncthreads();
    // (a late-scaled norm: x was quantized without its factor, which multiplies the dot products)
    float norm_scale[NT];
#pragma unroll
    for (int t = 0; t < NT; ++t) {
        norm_scale[t] = 1.0f;
        if constexpr (NORM) {
            if (a.norm_late_scale && t < nt) norm_scale[t] = matvec1_norm_late_scale(a, cols, norm_red + 32 * t);
        }
    }
    RF_STEP_TRACE_MARK(0);  // x staged (copied, or normalised and quantized)

    // token t's x: staged, or (direct) in global memory
    auto x_of = [&](int t) {
        return direct ? typename P::X{static_cast<const int8_t*>(a.x) + static_cast<int64_t>(t) * cols,
                                      a.xds + static_cast<int64_t>(t) * (cols / 32)}
                      : typename P::X{xs_q(t), xs_ds(t)};
    };
    const typename P::X xp = x_of(0);
    const int step = U * lpr;
    while (true) {
        float acc[NM][NT];
#pragma unroll
        for (int m = 0; m < NM; ++m)
#pragma unroll
            for (int t = 0; t < NT; ++t) acc[m][t] = 0.0f;
        int u0 = j;
        while (true) {
            // (Not compiled into the SwiGLU kernels, whose x is in shared memory behind the norm
            // prologue and whose registers are full; Q6_K's 20-register XU at two units at most, or
            // the tall matrices' three-unit kernel spills; nor into the few-token ones.)
            if constexpr (NT == 1 && P::kHasXU && U > 1 && !SWIGLU && (T != TensorType::Q6_K || U == 2)) {
                if (a.x_hoist && direct) {
                    // x from global memory: every x load of the batch first, then the dot products (the
                    // same sums in the same order), so that a lane waits for one round trip of x, not
                    // one per unit. (All U units' x at once even where the wide kernels then spill
                    // 228-420 bytes: chunks of 4 units gave -3 us on the 0.5b q4_0 step, all 8 -11.)
                    // (Written out beside the loop below: one batch loop taking the unit's dot product
                    // as a lambda raised ptxas's register count of every instance, 47 -> 80 for Q8_0
                    // at U = 1.)
                    decltype(P::load_xu(xp, 0)) xr[U];
#pragma unroll
                    for (int k = 0; k < U; ++k) {
                        const int u = u0 + k * lpr;
                        if (cur.ok && u < n_units) xr[k] = P::load_xu(xp, u);
                    }
#pragma unroll
                    for (int k = 0; k < U; ++k) {
                        const int u = u0 + k * lpr;
                        if (cur.ok && u < n_units) {
#pragma unroll
                            for (int m = 0; m < NM; ++m) acc[m][0] += P::dot_xu(w[m][k], xr[k], u);
                        }
                    }
                    u0 += step;
                    if (u0 >= n_units) break;
                    load(cur, u0);
                    continue;
                }
            }
#pragma unroll
            for (int k = 0; k < U; ++k) {
                const int u = u0 + k * lpr;
                if (cur.ok && u < n_units) {
#pragma unroll
                    for (int t = 0; t < NT; ++t) {
                        if (t < nt) {
                            const typename P::X xt = t == 0 ? xp : x_of(t);
#pragma unroll
                            for (int m = 0; m < NM; ++m) acc[m][t] += P::dot(w[m][k], xt, u);
                        }
                    }
                }
            }
            u0 += step;
            if (u0 >= n_units) break;
            load(cur, u0);
        }
        // Persistent grid: the next group's first units are loaded now, so that they arrive
        // while this row is reduced and written.
        // (MIN_BLOCKS > 1: launched only where every row group has a block of its own)
        const int64_t next_group = MIN_BLOCKS > 1 ? n_groups : group + gridDim.x;
        const RowRef next = row_ref(next_group);
        if (next_group < n_groups) load(next, j);

#pragma unroll
        for (int m = 0; m < NM; ++m) {
#pragma unroll
            for (int t = 0; t < NT; ++t) {
                for (int off = lpr / 2; off > 0; off >>= 1) acc[m][t] += rf_shfl_xor(acc[m][t], off);
                if constexpr (NORM) acc[m][t] *= norm_scale[t];
            }
        }

        RF_STEP_TRACE_MARK(1);  // the group's dot products reduced
        const bool writer = cur.ok && j == 0;
        const int64_t lrow = cur.lrow;
        // (token t's outputs at t * ldy: [n_tok, ldy] rows)
        if constexpr (SWIGLU) {
            __shared__ float ys[NT][kMatvec1MaxRowsPerBlock];
            float y2[NT];
#pragma unroll
            for (int t = 0; t < NT; ++t) {
                y2[t] = 0.0f;
                if (writer && t < nt) {
                    float g = acc[0][t], up = acc[1][t];
                    if (a.bias[0]) g += a.bias[0][lrow];
                    if (a.bias[1]) up += a.bias[1][lrow];
                    a.y[0][t * a.ldy[0] + lrow] = g;
                    a.y[1][t * a.ldy[1] + lrow] = up;
                    y2[t] = silu(g) * up;
                    a.y[2][t * a.ldy[2] + lrow] = y2[t];
                }
            }
            if (a.yq != nullptr) {  // uniform: rows_per_block % 32 == 0, one warp per 32 rows
                if (j == 0) {
#pragma unroll
                    for (int t = 0; t < NT; ++t) ys[t][row_in_block] = y2[t];
                }
                __syncthreads();
                if (warp < rows_per_block / 32) {
                    const int64_t r = group * rows_per_block + warp * 32 + lane;
                    // (total_rows % 32 == 0: the test is uniform over the warp; token t's q8_1 is row t of
                    // [n_tok, total_rows])
                    if (r < a.total_rows) {
                        for (int t = 0; t < nt; ++t)
                            quantize_q8_1_warp(ys[t][warp * 32 + lane], t * a.total_rows + r, a.yq, a.yds);
                    }
                }
                if (next_group < n_groups) __syncthreads();  // ys is written again by the next group
            }
        } else {
            if (writer) {
                const int mi = cur.mi;
                const float* bias = mi == 0 ? a.bias[0] : mi == 1 ? a.bias[1] : a.bias[2];
                float* y = mi == 0 ? a.y[0] : mi == 1 ? a.y[1] : a.y[2];
                float* res = mi == 0 ? a.residual[0] : mi == 1 ? a.residual[1] : a.residual[2];
                const int64_t ldy = NT == 1 ? 0 : (mi == 0 ? a.ldy[0] : mi == 1 ? a.ldy[1] : a.ldy[2]);
#pragma unroll
                for (int t = 0; t < NT; ++t) {
                    if (t < nt) {
                        float v = acc[0][t];
                        const int64_t o = t * ldy + lrow;
                        if (bias) v += bias[lrow];
                        y[o] = v;
                        if constexpr (DEFER) {  // the pending update first (one matrix), then zeroed
                            if (res) {
                                res[lrow] = res[lrow] + res_acc_value(a.residual_acc[lrow]) + v;
                                a.residual_acc[lrow] = 0;
                            }
                        } else {
                            if (res) res[o] += v;
                        }
                    }
                }
            }
        }
        if (next_group >= n_groups) break;
        group = next_group;
        cur = next;
    }
}

// Blocks of `kernel` (threads, smem) resident per SM, times the SMs: the grid of a persistent
// launch. Cached per kernel and shape (the device does not change within a process).
int matvec1_resident_blocks(const void* kernel, int threads, size_t smem);

// The instance for a launch of NT (1 .. kMatvec1MaxTokens) tokens: the same choices for every NT (fitted
// to short rows, the SwiGLU + norm kernel with half its units at two blocks per SM, the Q6_K tall matrices'
// three units), except the DEFER and wide instances, one-token only. (A few-token launch on the type's
// default instance was slower than on the fitted one the shape takes at one token: H100, 0.5b x2 gate/up
// 13.0 vs 7.7 us, q/k/v 7.6 vs 5.6; docs/server_notes.md.)
template <TensorType T, int NT>
void launch_matvec1_nt(Launcher& l, const MatvecArgs& a) {
    const int rows_per_block = a.block_threads / 32 * (32 / a.lanes_per_row);
    const int64_t groups = ceil_div(a.total_rows, rows_per_block);
    const dim3 block(static_cast<unsigned>(a.block_threads));
    const bool norm = a.prologue == static_cast<int32_t>(MatvecPrologue::RmsNorm);
    const size_t smem = a.x_direct && !norm ? 0
                        : NT > 1 ? static_cast<size_t>(a.n_tok) * matvec1_token_smem_bytes(a.x_stride)
                                 : matvec1_smem_bytes(a.x_stride);
    const bool swiglu = a.epilogue == static_cast<int32_t>(MatvecEpilogue::SwiGlu);
    auto resident = [&](auto kernel) {
        return matvec1_resident_blocks(reinterpret_cast<const void*>(kernel), a.block_threads, smem);
    };
    auto go = [&](auto kernel) {
        if (launch_streamed_instead(l, kernel, T, a)) return;  // profiling substitute (RF_GPU_PROFILE_STREAM)
        int64_t blocks = groups;
        if (a.persistent) blocks = std::min<int64_t>(groups, resident(kernel));
        l.launch(kernel, dim3(static_cast<unsigned>(blocks)), block, smem, a);
    };
    // Fitted instances (MatvecArgs::fit): one unit in flight where a lane has at most one; the SwiGLU
    // + norm kernel with half its units only at two blocks per SM (with one block per SM it was
    // slower: +17..60 us on the 0.5b step); the norm holding one float4 per thread.
    constexpr int UN = std::max(1, matvec1_units_in_flight<T>() / 2);
    const int64_t units = QuantPolicy<T>::units(a.m[0]);
    const bool norm_fits = !norm || a.x_stride / 4 <= int64_t{kMatvec1FitNormHeld} * a.block_threads;
    const bool half_fits = units <= int64_t{UN} * a.lanes_per_row && norm_fits;
    const bool one_fits = units <= a.lanes_per_row && norm_fits;
    constexpr int U0 = matvec1_units_in_flight<T>();
    constexpr int NH = kMatvec1NormHeld, NH1 = kMatvec1FitNormHeld;
    constexpr bool tight_fits = T == TensorType::Q4_0 || T == TensorType::Q4_1 || T == TensorType::Q8_0;
    if constexpr (NT == 1) {
        if (a.norm_acc != nullptr || a.residual_acc != nullptr) {  // a pending residual update: the DEFER instances
            if (a.norm_acc != nullptr && !norm)
                fail_message("gpu matvec: a pending residual update read without the rms_norm prologue");
            if (a.residual_acc != nullptr && (swiglu || norm || a.n_mats != 1 || a.residual[0] == nullptr))
                fail_message("gpu matvec: a pending residual update folded by a launch that is not one plain matrix with a residual");
            if (swiglu) {
                if constexpr (tight_fits) {
                    const auto tight = matvec1_kernel<T, true, true, UN, NH1, 2, true>;
                    if ((a.fit & kMatvec1FitSwigluTight) && half_fits && groups <= resident(tight)) {
                        go(tight);
                        return;
                    }
                }
                go(matvec1_kernel<T, true, true, U0, NH, 1, true>);
            } else if (norm) {
                go(matvec1_kernel<T, false, true, U0, NH, 1, true>);
            } else {
                go(matvec1_kernel<T, false, false, U0, NH, 1, true>);
            }
            return;
        }
    } else if (a.n_tok > NT || a.norm_acc != nullptr || a.residual_acc != nullptr) {
        fail_message("gpu matvec: a few-token launch of more tokens than its instance or with a pending residual update");
    }
    if (swiglu) {
        if (norm) {
            // (the tight instance fits 64 registers without spills for these types; ptxas spills
            // 56-92 bytes for Q5_0, Q5_1, Q4_K and Q6_K)
            if constexpr (tight_fits) {
                const auto tight = matvec1_kernel<T, true, true, UN, NH1, 2, false, NT>;
                if ((a.fit & kMatvec1FitSwigluTight) && half_fits && groups <= resident(tight)) {
                    go(tight);
                    return;
                }
            }
            go(matvec1_kernel<T, true, true, U0, NH, 1, false, NT>);
        } else {
            go(matvec1_kernel<T, true, false, U0, NH, 1, false, NT>);
        }
    } else if (norm) {
        if ((a.fit & kMatvec1FitNorm) && one_fits) go(matvec1_kernel<T, false, true, 1, NH1, 1, false, NT>);
        else go(matvec1_kernel<T, false, true, U0, NH, 1, false, NT>);
    } else if ((a.fit & kMatvec1FitPlain) && one_fits) {
        go(matvec1_kernel<T, false, false, 1, NH, 1, false, NT>);
    } else {
        if constexpr (NT == 1) {
            // The wide kernel (MatvecArgs::wide) by shape: where a lane's share needs more than one
            // batch but fits two, and every row group gets a resident block.
            const bool wide = a.wide == kMatvec1WideAll || (a.wide == kMatvec1WideShape && units > int64_t{U0} * a.lanes_per_row &&
                                              units <= int64_t{2 * U0} * a.lanes_per_row &&
                                              groups <= resident(matvec1_kernel<T, false, false, 2 * U0>));
            if (wide) {
                go(matvec1_kernel<T, false, false, 2 * U0>);
                return;
            }
        }
        if constexpr (T == TensorType::Q6_K) {
            if (a.wide != kMatvec1WideOff && a.total_rows >= kMatvec1Q6kTallRows) {
                go(matvec1_kernel<T, false, false, kMatvec1Q6kTallUnits, NH, 1, false, NT>);
                return;
            }
        }
        go(matvec1_kernel<T, false, false, U0, NH, 1, false, NT>);
    }
}

// One token (NT = 1), two, three or four: an instance per token count (the accumulators and the x
// stages of exactly the launch's tokens; three tokens on the four-token instance ran 2.7 % slower on
// the 7b, docs/server_notes.md).
template <TensorType T>
void launch_matvec1_type(Launcher& l, const MatvecArgs& a) {
    static_assert(kMatvec1MaxTokens == 4, "an instance per token count up to kMatvec1MaxTokens");
    if (a.n_tok <= 1) launch_matvec1_nt<T, 1>(l, a);
    else if (a.n_tok == 2) launch_matvec1_nt<T, 2>(l, a);
    else if (a.n_tok == 3) launch_matvec1_nt<T, 3>(l, a);
    else launch_matvec1_nt<T, 4>(l, a);
}

}  // namespace rf::gpu
