// The matrix-vector kernel skeleton shared by the quantized and the float weight types (see
// matvec.cuh for the work split). A Policy gives the unit loads and dot products:
//   using W;                                    the registers of one weight unit
//   static int64_t units(const QMatrix&)        units per row
//   static W load(const QMatrix&, row, unit)
//   static float dot(const W&, const MatvecArgs&, token, unit)
// Only included by the .cu files that instantiate it.
#pragma once

#include "backend/gpu/matvec.cuh"
#include "backend/gpu/quant_dot.cuh"

namespace rf::gpu {

template <TensorType T>
struct QuantPolicy {
    using D = QDot<T>;
    using W = typename D::W;
    static __device__ __forceinline__ int64_t units(const QMatrix& m) { return m.blocks_per_row * D::kUnitsPerBlock; }
    static __device__ __forceinline__ W load(const QMatrix& m, int64_t row, int64_t u) {
        return D::load_w(m, row * m.blocks_per_row + u / D::kUnitsPerBlock, static_cast<int>(u % D::kUnitsPerBlock));
    }
    static __device__ __forceinline__ float dot(const W& w, const MatvecArgs& a, int tok, int64_t u) {
        const int8_t* xq = static_cast<const int8_t*>(a.x) + tok * a.x_stride;
        const float2* xds = a.xds + tok * (a.x_stride / 32);
        return D::dot(w, xq, xds, u / D::kUnitsPerBlock, static_cast<int>(u % D::kUnitsPerBlock));
    }
};

// Float weights, 8 elements per unit (VEC: rows and x 16-byte aligned, cols % 8 == 0) or 1.
template <TensorType T, bool VEC>
struct FloatPolicy {
    static constexpr int kElems = VEC ? 8 : 1;
    struct W {
        float v[kElems];
    };
    static __device__ __forceinline__ int64_t units(const QMatrix& m) { return m.cols / kElems; }
    static __device__ __forceinline__ W load(const QMatrix& m, int64_t row, int64_t u) {
        W w;
        const int64_t e = row * m.cols + u * kElems;
        if constexpr (T == TensorType::F32) {
            const float* p = reinterpret_cast<const float*>(m.plane[0]) + e;
            if constexpr (VEC) {
                const int4 a = load16_stream(p), b = load16_stream(p + 4);
                w.v[0] = __int_as_float(a.x), w.v[1] = __int_as_float(a.y), w.v[2] = __int_as_float(a.z), w.v[3] = __int_as_float(a.w);
                w.v[4] = __int_as_float(b.x), w.v[5] = __int_as_float(b.y), w.v[6] = __int_as_float(b.z), w.v[7] = __int_as_float(b.w);
            } else {
                w.v[0] = *p;
            }
        } else {
            const uint16_t* p = reinterpret_cast<const uint16_t*>(m.plane[0]) + e;
            if constexpr (VEC) {
                const int4 a = load16_stream(p);
#pragma unroll
                for (int k = 0; k < 4; ++k) {
                    const uint32_t pair = static_cast<uint32_t>(int4_get(a, k));
                    if constexpr (T == TensorType::F16) {
                        const float2 f = half2_bits_to_float2(pair);
                        w.v[2 * k] = f.x, w.v[2 * k + 1] = f.y;
                    } else {
                        w.v[2 * k] = bf16_bits_to_float(static_cast<uint16_t>(pair & 0xffffu));
                        w.v[2 * k + 1] = bf16_bits_to_float(static_cast<uint16_t>(pair >> 16));
                    }
                }
            } else {
                w.v[0] = T == TensorType::F16 ? half_to_float(*p) : bf16_bits_to_float(*p);
            }
        }
        return w;
    }
    static __device__ __forceinline__ float dot(const W& w, const MatvecArgs& a, int tok, int64_t u) {
        const float* x = static_cast<const float*>(a.x) + tok * a.x_stride + u * kElems;
        float s = 0.0f;
        if constexpr (VEC) {
            const float4 x0 = *reinterpret_cast<const float4*>(x), x1 = *reinterpret_cast<const float4*>(x + 4);
            s = w.v[0] * x0.x + w.v[1] * x0.y + w.v[2] * x0.z + w.v[3] * x0.w + w.v[4] * x1.x + w.v[5] * x1.y +
                w.v[6] * x1.z + w.v[7] * x1.w;
        } else {
            s = w.v[0] * x[0];
        }
        return s;
    }
};

__device__ __forceinline__ const QMatrix& mat_of(const MatvecArgs& a, int i) { return i == 0 ? a.m[0] : i == 1 ? a.m[1] : a.m[2]; }

// R rows per row set; SWIGLU: the row set is R gate rows + the same R up rows; TT tokens.
template <typename Policy, int R, int TT, bool SWIGLU>
__global__ void __launch_bounds__(kMatvecThreads) matvec_kernel(const MatvecArgs a) {
    RF_PDL_ENTRY();
    constexpr int NR = SWIGLU ? 2 * R : R;
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int warp = threadIdx.x / RF_WARP_SIZE;
    const int wpr = a.warps_per_row;
    const int sets_per_block = static_cast<int>(blockDim.x / RF_WARP_SIZE) / wpr;
    const int set = warp / wpr, sub = warp % wpr;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * sets_per_block + set) * R;
    const int tok0 = static_cast<int>(blockIdx.y) * TT;

    // Which matrix and row each of the NR dot products uses.
    int mi[NR];
    int64_t lrow[NR];
    bool ok[NR];
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
    }
    const int64_t n_units = Policy::units(a.m[0]);  // all matrices of a launch share cols

    float acc[NR][TT];
#pragma unroll
    for (int rr = 0; rr < NR; ++rr)
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[rr][t] = 0.0f;

    const int64_t stride = static_cast<int64_t>(wpr) * RF_WARP_SIZE;
    // DEPTH units per iteration: all their weight loads are issued before the first is used, so
    // that each warp keeps DEPTH x NR x 16+ bytes per lane in flight (the kernel is latency-bound
    // otherwise: ncu showed ~1 eligible warp per scheduler with 2 units in flight).
    constexpr int DEPTH = NR * sizeof(typename Policy::W) <= 64 ? 4 : 2;
    int64_t u = lane + static_cast<int64_t>(sub) * RF_WARP_SIZE;
    for (; u + (DEPTH - 1) * stride < n_units; u += DEPTH * stride) {
        typename Policy::W w[DEPTH][NR];
#pragma unroll
        for (int b = 0; b < DEPTH; ++b)
#pragma unroll
            for (int rr = 0; rr < NR; ++rr)
                if (ok[rr]) w[b][rr] = Policy::load(mat_of(a, mi[rr]), lrow[rr], u + b * stride);
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            if (tok0 + t >= a.n_tok) break;
#pragma unroll
            for (int rr = 0; rr < NR; ++rr) {
                if (!ok[rr]) continue;
                float s = 0.0f;
#pragma unroll
                for (int b = 0; b < DEPTH; ++b) s += Policy::dot(w[b][rr], a, tok0 + t, u + b * stride);
                acc[rr][t] += s;
            }
        }
    }
    for (; u < n_units; u += stride) {
        typename Policy::W w0[NR];
#pragma unroll
        for (int rr = 0; rr < NR; ++rr)
            if (ok[rr]) w0[rr] = Policy::load(mat_of(a, mi[rr]), lrow[rr], u);
#pragma unroll
        for (int t = 0; t < TT; ++t) {
            if (tok0 + t >= a.n_tok) break;
#pragma unroll
            for (int rr = 0; rr < NR; ++rr)
                if (ok[rr]) acc[rr][t] += Policy::dot(w0[rr], a, tok0 + t, u);
        }
    }

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
    const int tt = a.n_tok == 1 ? 1 : 8;
    const int sets_per_block = (kMatvecThreads / 32) / a.warps_per_row;  // host assumes 32-lane warps
    const dim3 grid(ceil_div(a.total_rows, sets_per_block), ceil_div(a.n_tok, tt));
    const dim3 block(kMatvecThreads);
    (void)c;
    if (swiglu) {
        if (tt == 1) l.launch(matvec_kernel<Policy, 1, 1, true>, grid, block, 0, a);
        else l.launch(matvec_kernel<Policy, 1, 8, true>, grid, block, 0, a);
    } else if (tt > 1) {
        l.launch(matvec_kernel<Policy, 1, 8, false>, grid, block, 0, a);
    } else {
        l.launch(matvec_kernel<Policy, 1, 1, false>, grid, block, 0, a);
    }
}

}  // namespace rf::gpu
