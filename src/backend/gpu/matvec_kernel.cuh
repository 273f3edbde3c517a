// The matrix-vector kernel skeleton shared by the quantized and the float weight types (see
// matvec.cuh for the work split). A Policy gives the unit loads and dot products, with the row
// and token pointers computed once outside the unit loop (ncu showed the kernel issue-bound on
// per-unit 64-bit address arithmetic otherwise):
//   Row row(const QMatrix&, row)      the row's plane pointers
//   X x(const MatvecArgs&, token)     the token's activation pointers
//   int units(const QMatrix&)         units per row
//   W load(const Row&, unit)          the unit's weight registers
//   float dot(const W&, const X&, unit)
// Only included by the .cu files that instantiate it.
#pragma once

#include "backend/gpu/matvec.cuh"
#include "backend/gpu/quant_dot.cuh"
#include "backend/gpu/weight_stream.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {

template <TensorType T>
struct QuantPolicy {
    using D = QDot<T>;
    static constexpr bool kQuantized = true;
    static constexpr TensorType kType = T;
    static_assert(D::kUnitsPerBlock == units_per_block(T), "units per block: quant_dot.cuh vs gpu_weight_layout.h");
    // Whole one-token rows before the PDL wait (kMatvecEarlyWhole) for the 4- and 5-bit
    // units (16-20 bytes): H100 7b step q4_K -4 us, q4_0 -6; q8_0 (34-byte units) +20 us.
    static constexpr bool kWholeRows = T == TensorType::Q4_0 || T == TensorType::Q4_1 || T == TensorType::Q5_0 ||
                                       T == TensorType::Q5_1 || T == TensorType::Q4_K;
    // Long one-token rows three units per loop iteration (kMatvecEarlyTriple): Q4_0 (the 7b
    // down projection: step 1908 -> 1894 us); Q4_1 (then the Q4_K layout) was 1.7 us slower, q8_0 unchanged.
    static constexpr bool kTripleRows = T == TensorType::Q4_0;
    // Types whose dot product takes the unit's activation in registers (QDot::XU, load_xu, dot_xu),
    // so that a kernel can load x for several units before their dot products.
    static constexpr bool kHasXU = requires { typename D::XU; };
    using W = typename D::W;
    struct Row {
        QMatrix m;  // planes moved to the row's first block
    };
    struct X {
        const int8_t* q;
        const float2* ds;
    };
    static __device__ __forceinline__ Row row(const QMatrix& m, int64_t r) {
        const BlockFormat f = block_format(T);
        Row out{m};
#pragma unroll
        for (int p = 0; p < kMaxPlanes; ++p)
            if (p < f.n_planes) out.m.plane[p] += r * m.blocks_per_row * f.fields[p].bytes;
        return out;
    }
    static __device__ __forceinline__ X x(const MatvecArgs& a, int tok) {
        return {static_cast<const int8_t*>(a.x) + tok * a.x_stride, a.xds + tok * (a.x_stride / 32)};
    }
    static RF_HOST_DEVICE int units(const QMatrix& m) { return static_cast<int>(m.blocks_per_row) * D::kUnitsPerBlock; }
    static __device__ __forceinline__ W load(const Row& r, int u) {
        return D::load_w(r.m, u / D::kUnitsPerBlock, u % D::kUnitsPerBlock);
    }
    static __device__ __forceinline__ float dot(const W& w, const X& x, int u) {
        if constexpr (kHasXU) return D::dot_xu(w, load_xu(x, u), u % D::kUnitsPerBlock);
        else return D::dot(w, x.q, x.ds, u / D::kUnitsPerBlock, u % D::kUnitsPerBlock);
    }
    // (kHasXU) the activation of unit u, and the dot product with it
    static __device__ __forceinline__ auto load_xu(const X& x, int u) {
        return D::load_xu(x.q, x.ds, u / D::kUnitsPerBlock, u % D::kUnitsPerBlock);
    }
    template <typename XU>
    static __device__ __forceinline__ float dot_xu(const W& w, const XU& xu, int u) {
        return D::dot_xu(w, xu, u % D::kUnitsPerBlock);
    }
};

// Float weights, 8 elements per unit (VEC: rows and x 16-byte aligned, cols % 8 == 0) or 1.
// F16 / BF16 units keep the raw bits until the dot product: a conversion right after the load
// would make the lane wait for the load there (the quantized types' scales likewise, quant_dot.cuh).
template <TensorType T, bool VEC>
struct FloatPolicy {
    static constexpr bool kQuantized = false;
    static constexpr TensorType kType = T;
    static constexpr bool kHasXU = false;
    static constexpr bool kWholeRows = false;
    static constexpr bool kTripleRows = false;
    static constexpr int kElems = VEC ? 8 : 1;
    static constexpr bool kF32 = T == TensorType::F32;
    struct W {
        int4 raw[kF32 && VEC ? 2 : 1];  // F32: 8 floats (VEC) or one in raw[0].x; F16 / BF16: 8 or 1 halves
    };
    struct Row {
        const uint8_t* p;  // the row's first element
    };
    struct X {
        const float* p;
    };
    static constexpr int kElemBytes = kF32 ? 4 : 2;
    static __device__ __forceinline__ Row row(const QMatrix& m, int64_t r) { return {m.plane[0] + r * m.cols * kElemBytes}; }
    static __device__ __forceinline__ X x(const MatvecArgs& a, int tok) {
        return {static_cast<const float*>(a.x) + tok * a.x_stride};
    }
    static RF_HOST_DEVICE int units(const QMatrix& m) { return static_cast<int>(m.cols / kElems); }
    static __device__ __forceinline__ W load(const Row& r, int u) {
        W w;
        const uint8_t* p = r.p + static_cast<size_t>(u) * kElems * kElemBytes;
        if constexpr (VEC) {
            w.raw[0] = load16_stream(p);
            if constexpr (kF32) w.raw[1] = load16_stream(p + 16);
        } else {
            w.raw[0].x = kF32 ? static_cast<int>(load_u32(p)) : static_cast<int>(load_u16(p));
        }
        return w;
    }
    // element i of the unit as f32
    static __device__ __forceinline__ float elem(const W& w, int i) {
        if constexpr (kF32) return __int_as_float(int4_get(w.raw[i / 4], i % 4));
        const uint32_t pair = static_cast<uint32_t>(int4_get(w.raw[0], i / 2));
        const uint16_t h = static_cast<uint16_t>(i % 2 == 0 ? pair & 0xffffu : pair >> 16);
        return T == TensorType::F16 ? half_to_float(h) : bf16_bits_to_float(h);
    }
    static __device__ __forceinline__ float dot(const W& w, const X& xp, int u) {
        const float* x = xp.p + u * kElems;
        if constexpr (VEC) {
            const float4 x0 = *reinterpret_cast<const float4*>(x), x1 = *reinterpret_cast<const float4*>(x + 4);
            return elem(w, 0) * x0.x + elem(w, 1) * x0.y + elem(w, 2) * x0.z + elem(w, 3) * x0.w + elem(w, 4) * x1.x +
                   elem(w, 5) * x1.y + elem(w, 6) * x1.z + elem(w, 7) * x1.w;
        } else {
            return elem(w, 0) * x[0];
        }
    }
};

__device__ __forceinline__ const QMatrix& mat_of(const MatvecArgs& a, int i) { return i == 0 ? a.m[0] : i == 1 ? a.m[1] : a.m[2]; }

// Units a lane holds at once when its whole share of a row is loaded before the
// programmatic-dependent-launch wait (kMatvecEarlyWhole; one token, rows of at most
// kMatvecWholeRowUnits x the row's lanes units: the 7b q/k/v and wo rows of 112 units).
constexpr int kMatvecWholeRowUnits = 4;

// R rows per row set; SWIGLU: the row set is R gate rows + the same R up rows; TT tokens.
// WHOLE: every unit of the lane's share of its row loaded before the wait (no loop; the host
// checks units <= kMatvecWholeRowUnits x lanes per row), so that after the wait only x's round
// trip, the dot products and the reduction remain on the kernel's critical path.
// TRIPLE (one token, long rows): three units per loop iteration instead of two (sums in another
// order than the two-unit loop's).
template <typename Policy, int R, int TT, bool SWIGLU, bool WHOLE = false, bool TRIPLE = false>
__global__ void __launch_bounds__(kMatvecThreads) matvec_kernel(const MatvecArgs a) {
    RF_STEP_TRACE_SCOPE(Matvec, a.total_rows);
    constexpr int NR = SWIGLU ? 2 * R : R;
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int warp = threadIdx.x / RF_WARP_SIZE;
    const int wpr = a.warps_per_row;
    const int sets_per_block = static_cast<int>(blockDim.x / RF_WARP_SIZE) / wpr;
    const int set = warp / wpr, sub = warp % wpr;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * sets_per_block + set) * R;
    const int tok0 = static_cast<int>(blockIdx.y) * TT;

    // Which matrix and row each of the NR dot products uses, and that row's pointers.
    int mi[NR];
    int64_t lrow[NR];
    bool ok[NR];
    typename Policy::Row rp[NR];
#pragma unroll
    for (int rr = 0; rr < NR; ++rr) {
        int64_t g = row0 + (SWIGLU ? rr % R : rr);
        ok[rr] = g < a.total_rows;
        if (SWIGLU) {
            mi[rr] = rr < R ? 0 : 1;
            lrow[rr] = g;
        } else {
            mi[rr] = g < a.row_end[0] ? 0 : (g < a.row_end[1] ? 1 : 2);
            lrow[rr] = g - (mi[rr] == 0 ? 0 : a.row_end[mi[rr] - 1]);
        }
        rp[rr] = Policy::row(mat_of(a, mi[rr]), ok[rr] ? lrow[rr] : 0);
    }
    typename Policy::X xp[TT];
#pragma unroll
    for (int t = 0; t < TT; ++t) xp[t] = Policy::x(a, tok0 + t < a.n_tok ? tok0 + t : tok0);
    const int n_units = Policy::units(a.m[0]);  // all matrices of a launch share cols

    float acc[NR][TT];
#pragma unroll
    for (int rr = 0; rr < NR; ++rr)
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[rr][t] = 0.0f;

    const int stride = wpr * RF_WARP_SIZE;
    if constexpr (WHOLE) {
        constexpr int UW = kMatvecWholeRowUnits;
        typename Policy::W w[UW][NR];
        const int u0 = lane + sub * RF_WARP_SIZE;
#pragma unroll
        for (int k = 0; k < UW; ++k)
#pragma unroll
            for (int rr = 0; rr < NR; ++rr)
                if (ok[rr] && u0 + k * stride < n_units) w[k][rr] = Policy::load(rp[rr], u0 + k * stride);
        RF_PDL_ENTRY();
        RF_STEP_TRACE_WAIT();
        bool hoisted = false;
        if constexpr (Policy::kHasXU && TT == 1 && !SWIGLU) {
            if (a.x_hoist) {
                hoisted = true;
                // every x load first, then the dot products in the loop's order (the same bits):
                // one round trip of x instead of one per pair behind its bounds check. (Written out
                // beside the loop below: one pair loop taking the unit's dot product as a lambda
                // measured slower on the H100, 7b q5_1 step 2665 -> 2695 us, q4_0 1986 -> 1991.)
                decltype(Policy::load_xu(xp[0], 0)) xr[UW];
#pragma unroll
                for (int k = 0; k < UW; ++k)
                    if (u0 + k * stride < n_units) xr[k] = Policy::load_xu(xp[0], u0 + k * stride);
#pragma unroll
                for (int k = 0; k < UW; k += 2) {
                    const int u = u0 + k * stride;
                    if (u >= n_units) break;
                    const bool pair = u + stride < n_units;
#pragma unroll
                    for (int rr = 0; rr < NR; ++rr) {
                        if (!ok[rr]) continue;
                        if (pair)
                            acc[rr][0] += Policy::dot_xu(w[k][rr], xr[k], u) + Policy::dot_xu(w[k + 1][rr], xr[k + 1], u + stride);
                        else acc[rr][0] += Policy::dot_xu(w[k][rr], xr[k], u);
                    }
                }
            }
        }
        // Summed in the loop's order (pairs of units, then a last single one): the same bits.
#pragma unroll
        for (int k = 0; k < UW && !hoisted; k += 2) {
            const int u = u0 + k * stride;
            if (u >= n_units) break;
            const bool pair = u + stride < n_units;
#pragma unroll
            for (int t = 0; t < TT; ++t) {
                if (tok0 + t >= a.n_tok) break;
#pragma unroll
                for (int rr = 0; rr < NR; ++rr) {
                    if (!ok[rr]) continue;
                    if (pair) acc[rr][t] += Policy::dot(w[k][rr], xp[t], u) + Policy::dot(w[k + 1][rr], xp[t], u + stride);
                    else acc[rr][t] += Policy::dot(w[k][rr], xp[t], u);
                }
            }
        }
    } else if constexpr (TRIPLE) {
        int u = lane + sub * RF_WARP_SIZE;
        typename Policy::W w0[NR], w1[NR], w2[NR];
        // units k in [k0, k1) of the three at `at`
        auto load3_part = [&](int at, int k0, int k1) {
#pragma unroll
            for (int rr = 0; rr < NR; ++rr) {
                if (ok[rr]) {
                    if (k0 <= 0 && 0 < k1 && at < n_units) w0[rr] = Policy::load(rp[rr], at);
                    if (k0 <= 1 && 1 < k1 && at + stride < n_units) w1[rr] = Policy::load(rp[rr], at + stride);
                    if (k0 <= 2 && 2 < k1 && at + 2 * stride < n_units) w2[rr] = Policy::load(rp[rr], at + 2 * stride);
                }
            }
        };
        auto load3 = [&](int at) { load3_part(at, 0, 3); };
        const bool early = (a.early_loads & kMatvecEarlyFirst) != 0;
        const int ke = (a.early_loads & kMatvecEarlyOne) ? 1 : 3;
        if (early) load3_part(u, 0, ke);
        RF_PDL_ENTRY();
        RF_STEP_TRACE_WAIT();
        if (!early) load3(u);
        else if (ke < 3) load3_part(u, ke, 3);
        for (; u + 2 * stride < n_units; u += 3 * stride) {
#pragma unroll
            for (int rr = 0; rr < NR; ++rr)
                if (ok[rr])
                    acc[rr][0] += Policy::dot(w0[rr], xp[0], u) + Policy::dot(w1[rr], xp[0], u + stride) +
                                  Policy::dot(w2[rr], xp[0], u + 2 * stride);
            load3(u + 3 * stride);
        }
#pragma unroll
        for (int rr = 0; rr < NR; ++rr) {
            if (!ok[rr]) continue;
            if (u + stride < n_units) acc[rr][0] += Policy::dot(w0[rr], xp[0], u) + Policy::dot(w1[rr], xp[0], u + stride);
            else if (u < n_units) acc[rr][0] += Policy::dot(w0[rr], xp[0], u);
        }
    } else {
        // Two units per iteration: both units' weight loads are issued before the first is used.
        // (Four was slower on H100: more registers, lower occupancy; docs/gpu_notes.md.) With
        // kMatvecEarlyFirst the first two units (with kMatvecEarlyOne the first one) are loaded before
        // the programmatic-dependent-launch wait (weights never depend on an earlier kernel): they
        // arrive while the previous kernel ends. (One unit: 7b q4_0 step -21 us, q8_0 -42; more weights
        // requested before the wait delay the previous kernel's last loads and its completion.)
        int u = lane + sub * RF_WARP_SIZE;
        typename Policy::W w0[NR], w1[NR];
        // Several tokens: each token's x units loaded once for all NR rows (SwiGLU: gate and up), the
        // sums as in the per-row dot products below (the same bits). H100, two binaries alternated:
        // 7b q4_0 batched decode x3 705 / 710 -> 801 / 810 tok/s, x2 645 / 674 -> 684 / 685.
        constexpr bool kShareX = Policy::kHasXU && TT > 1;
        auto load2_part = [&](int at, int k0, int k1) {
#pragma unroll
            for (int rr = 0; rr < NR; ++rr) {
                if (ok[rr]) {
                    if (k0 <= 0 && 0 < k1 && at < n_units) w0[rr] = Policy::load(rp[rr], at);
                    if (k0 <= 1 && 1 < k1 && at + stride < n_units) w1[rr] = Policy::load(rp[rr], at + stride);
                }
            }
        };
        auto load2 = [&](int at) { load2_part(at, 0, 2); };
        const bool early = (a.early_loads & kMatvecEarlyFirst) != 0;
        const bool one = (a.early_loads & kMatvecEarlyOne) != 0;
        if (early) load2_part(u, 0, one ? 1 : 2);
        RF_PDL_ENTRY();
        RF_STEP_TRACE_WAIT();
        if (!early) load2(u);
        else if (one) load2_part(u, 1, 2);
        for (; u + stride < n_units; u += 2 * stride) {
#pragma unroll
            for (int t = 0; t < TT; ++t) {
                if (tok0 + t >= a.n_tok) break;
                if constexpr (kShareX) {
                    const auto x0 = Policy::load_xu(xp[t], u);
                    const auto x1 = Policy::load_xu(xp[t], u + stride);
#pragma unroll
                    for (int rr = 0; rr < NR; ++rr)
                        if (ok[rr]) acc[rr][t] += Policy::dot_xu(w0[rr], x0, u) + Policy::dot_xu(w1[rr], x1, u + stride);
                } else {
#pragma unroll
                    for (int rr = 0; rr < NR; ++rr)
                        if (ok[rr]) acc[rr][t] += Policy::dot(w0[rr], xp[t], u) + Policy::dot(w1[rr], xp[t], u + stride);
                }
            }
            load2(u + 2 * stride);
        }
        if (u < n_units) {
#pragma unroll
            for (int t = 0; t < TT; ++t) {
                if (tok0 + t >= a.n_tok) break;
                if constexpr (kShareX) {
                    const auto x0 = Policy::load_xu(xp[t], u);
#pragma unroll
                    for (int rr = 0; rr < NR; ++rr)
                        if (ok[rr]) acc[rr][t] += Policy::dot_xu(w0[rr], x0, u);
                } else {
#pragma unroll
                    for (int rr = 0; rr < NR; ++rr)
                        if (ok[rr]) acc[rr][t] += Policy::dot(w0[rr], xp[t], u);
                }
            }
        }
    }

    RF_STEP_TRACE_MARK(0);  // dot products done
    // Reduce over the lanes, then over the warps of the row set.
#pragma unroll
    for (int rr = 0; rr < NR; ++rr)
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[rr][t] = rf_warp_sum(acc[rr][t]);
    if (wpr > 1) {
        __shared__ float partial[kMatvecThreads / 32][NR][TT];
        if (lane == 0)
#pragma unroll
            for (int rr = 0; rr < NR; ++rr)
#pragma unroll
                for (int t = 0; t < TT; ++t) partial[warp][rr][t] = acc[rr][t];
        __syncthreads();
        if (sub != 0) return;
        for (int s = 1; s < wpr; ++s)
#pragma unroll
            for (int rr = 0; rr < NR; ++rr)
#pragma unroll
                for (int t = 0; t < TT; ++t) acc[rr][t] += partial[warp + s][rr][t];
    }
    if (lane != 0) return;

#pragma unroll
    for (int t = 0; t < TT; ++t) {
        const int tok = tok0 + t;
        if (tok >= a.n_tok) break;
        if (SWIGLU) {
#pragma unroll
            for (int rr = 0; rr < R; ++rr) {
                if (!ok[rr]) continue;
                float g = acc[rr][t], up = acc[rr + R][t];
                if (a.bias[0]) g += a.bias[0][lrow[rr]];
                if (a.bias[1]) up += a.bias[1][lrow[rr]];
                a.y[0][tok * a.ldy[0] + lrow[rr]] = g;
                a.y[1][tok * a.ldy[1] + lrow[rr]] = up;
                a.y[2][tok * a.ldy[2] + lrow[rr]] = silu(g) * up;
            }
        } else {
#pragma unroll
            for (int rr = 0; rr < NR; ++rr) {
                if (!ok[rr]) continue;
                const int i = mi[rr];
                float v = acc[rr][t];
                const float* bias = i == 0 ? a.bias[0] : i == 1 ? a.bias[1] : a.bias[2];
                float* y = i == 0 ? a.y[0] : i == 1 ? a.y[1] : a.y[2];
                float* res = i == 0 ? a.residual[0] : i == 1 ? a.residual[1] : a.residual[2];
                const int64_t ld = i == 0 ? a.ldy[0] : i == 1 ? a.ldy[1] : a.ldy[2];
                if (bias) v += bias[lrow[rr]];
                y[tok * ld + lrow[rr]] = v;
                if (res) res[tok * ld + lrow[rr]] += v;
            }
        }
    }
}

template <typename Policy>
void launch_matvec_policy(Launcher& l, const MatvecArgs& a, const MatvecConfig& c) {
    const bool swiglu = a.epilogue == static_cast<int32_t>(MatvecEpilogue::SwiGlu);
    // Tokens per block: the fewest of 1 / 2 / 4 / 8 that hold the launch's tokens (batched decode
    // of 2-4 sequences: the 8-token instance's accumulators and x pointers cost registers and
    // occupancy for nothing), 8 at a time above that.
    const int tt = a.n_tok == 1 ? 1 : a.n_tok == 2 ? 2 : a.n_tok <= 4 ? 4 : 8;
    const int sets_per_block = (kMatvecThreads / 32) / a.warps_per_row;  // host assumes 32-lane warps
    const dim3 grid(ceil_div(a.total_rows, sets_per_block), ceil_div(a.n_tok, tt));
    const dim3 block(kMatvecThreads);
    (void)c;
    auto go = [&](auto kernel) {
        if constexpr (Policy::kQuantized) {
            if (launch_streamed_instead(l, kernel, Policy::kType, a)) return;  // profiling substitute
        }
        l.launch(kernel, grid, block, 0, a);
    };
    // a short one-token row: at most kMatvecWholeRowUnits units per lane (the whole row can be held;
    // kMatvecTripleLong keeps the three-unit loop off it)
    const bool short_row = Policy::units(a.m[0]) <= kMatvecWholeRowUnits * a.warps_per_row * 32;
    if (swiglu) {
        if (tt == 1) go(matvec_kernel<Policy, 1, 1, true>);
        else if (tt == 2) go(matvec_kernel<Policy, 1, 2, true>);
        else if (tt == 4) go(matvec_kernel<Policy, 1, 4, true>);
        else go(matvec_kernel<Policy, 1, 8, true>);
    } else if (tt == 2) {
        go(matvec_kernel<Policy, 1, 2, false>);
    } else if (tt == 4) {
        go(matvec_kernel<Policy, 1, 4, false>);
    } else if (tt > 1) {
        go(matvec_kernel<Policy, 1, 8, false>);
    } else if (Policy::kWholeRows && (a.early_loads & kMatvecEarlyWhole) && short_row) {
        go(matvec_kernel<Policy, 1, 1, false, Policy::kWholeRows>);
    } else if (Policy::kTripleRows && (a.early_loads & kMatvecEarlyTriple) &&
               (!(a.early_loads & kMatvecTripleLong) || !short_row)) {
        go(matvec_kernel<Policy, 1, 1, false, false, Policy::kTripleRows>);
    } else {
        go(matvec_kernel<Policy, 1, 1, false>);
    }
}

}  // namespace rf::gpu
