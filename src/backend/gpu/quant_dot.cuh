// Per-type pieces of the quantized matrix-vector products: a row of a weight is processed in
// "units" (32 weights for the legacy types and Q4_K, 64 for Q2_K, Q3_K, Q6_K), each loaded
// from the planar layout (gpu_weight_layout.h) with 16-byte loads and dotted with the q8_1
// activation (int8 quants + per-32 (d, d * sum)) by 4-way int8 dot products.
//
// Activation layout: xq int8 [cols] and xds float2 [cols / 32] per token; element e of the row is
// xq[e], its block scale xds[e / 32].x and the block's d * sum(q) xds[e / 32].y.
//
// Q4_K arrives as K units (gpu_weight_layout.h): a Q4_1 unit whose d and m come from the
// super-block's (d, dmin) and the unit's 6-bit scale and min; Q5_K arrives as Q5_1 (device_type()).
// For each type T: QDot<T>::kUnitsPerBlock, W (the unit's weight data), load_w(m, blk, j) with
// m's planes starting at the row (blk: block of the row, j: unit of the block), and the unit's
// contribution to the row's dot product: either XU (its activation in registers), load_xu(xq, xds,
// blk, j) and dot_xu(w, xu, j) -> float (the legacy types, Q4_K, Q6_K), or dot(w, xq, xds, blk, j)
// -> float (Q2_K, Q3_K).
#pragma once

#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

template <TensorType T>
struct QDot;

__device__ __forceinline__ int byte_of(const uint32_t* w, int k) { return (w[k >> 2] >> (8 * (k & 3))) & 0xff; }

// Bit i of the low 4 bits of v moved to bit 4 of byte i.
__device__ __forceinline__ int spread_bit4(uint32_t v) {
    return static_cast<int>(((v & 1u) << 4) | ((v & 2u) << 11) | ((v & 4u) << 18) | ((v & 8u) << 25));
}

// Sum of q_i * x_i over a 32-weight unit of 4-bit quants in the Q4_0 / Q4_1 order (weight i < 16 in
// the low nibble of byte i, weight i + 16 in its high nibble) against the unit's q8_1 quants a
// (x_0..15) and b (x_16..31). On NVIDIA the high nibbles stay in place (16 h as unsigned bytes,
// dp4a.u32.s32) and their sum is divided by 16 at the end (exact: a multiple of 16): one instruction
// less per word and two chains of 4 instead of one of 8; the same integer.
__device__ __forceinline__ int dot_nibbles(const int4& qs, const int4& a, const int4& b) {
#if defined(ROCMFORGE_WITH_HIP)
    int s = 0;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int q = int4_get(qs, j);
        s = dp4a(q & 0x0F0F0F0F, int4_get(a, j), s);
        s = dp4a((q >> 4) & 0x0F0F0F0F, int4_get(b, j), s);
    }
    return s;
#else
    int lo = 0, hi = 0;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int q = int4_get(qs, j);
        lo = dp4a(q & 0x0F0F0F0F, int4_get(a, j), lo);
        asm("dp4a.u32.s32 %0, %1, %2, %3;" : "=r"(hi) : "r"(q & static_cast<int>(0xF0F0F0F0u)), "r"(int4_get(b, j)), "r"(hi));
    }
    return lo + (hi >> 4);
#endif
}

// ---- legacy types: one unit = one block of 32 --------------------------------------------------
//
// Their dot products (and Q4_K's and Q6_K's) take the unit's activation in registers (XU: X32, the
// unit's q8_1 block, for these; load_xu, dot_xu), so that a kernel can issue the x loads of several
// units before the first dot product.

struct X32 {
    int4 a, b;  // the block's 32 int8 activations
    float2 ds;  // its (d, d * sum)
};

__device__ __forceinline__ X32 load_x32(const int8_t* xq, const float2* xds, int blk_in_row) {
    return {load16(xq + blk_in_row * 32), load16(xq + blk_in_row * 32 + 16), xds[blk_in_row]};
}

// A legacy type's unit is its block, whose activation is one q8_1 block of x.
struct BlockUnit {
    static constexpr int kUnitsPerBlock = 1;
    using XU = X32;
    static __device__ __forceinline__ XU load_xu(const int8_t* xq, const float2* xds, int blk_in_row, int) {
        return load_x32(xq, xds, blk_in_row);
    }
};

template <>
struct QDot<TensorType::Q4_0> : BlockUnit {
    struct W {
        int4 qs;
        uint32_t d;  // f16 bits: converted where used (a conversion at the load would wait for it)
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int) {
        return {load16_stream(m.plane[1] + blk * 16), load_u16(m.plane[0] + blk * 2)};
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const X32& x, int) {
        const int4 a = x.a, b = x.b;
        const float2 ds = x.ds;
        const int s = dot_nibbles(w.qs, a, b);
        return scaled(w.d, ds, s);
    }
    // The unit's contribution from its f16 scale bits d, x's (d, d * sum) and sum(q_i * x_i) over the
    // 4-bit quants q_i (stored + 8).
    static __device__ __forceinline__ float scaled(uint32_t d, float2 ds, int s) {
        return half_to_float(static_cast<uint16_t>(d)) * (ds.x * static_cast<float>(s) - 8.0f * ds.y);
    }
};

template <>
struct QDot<TensorType::Q4_1> : BlockUnit {
    struct W {
        int4 qs;
        uint32_t dm;  // half2 bits (d, m): converted where used
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int) {
        return {load16_stream(m.plane[1] + blk * 16), load_u32(m.plane[0] + blk * 4)};
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const X32& x, int) {
        const int4 a = x.a, b = x.b;
        const float2 ds = x.ds;
        const int s = dot_nibbles(w.qs, a, b);
        const float2 dm = half2_bits_to_float2(w.dm);
        return dm.x * ds.x * static_cast<float>(s) + dm.y * ds.y;
    }
};

template <>
struct QDot<TensorType::Q5_0> : BlockUnit {
    struct W {
        int4 qs;
        uint32_t qh;
        uint32_t d;  // f16 bits: converted where used (a conversion at the load would wait for it)
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int) {
        return {load16_stream(m.plane[2] + blk * 16), load_u32(m.plane[1] + blk * 4),
                load_u16(m.plane[0] + blk * 2)};
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const X32& x, int) {
        const int4 a = x.a, b = x.b;
        const float2 ds = x.ds;
        int s = 0;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int q = int4_get(w.qs, j);
            s = dp4a((q & 0x0F0F0F0F) | spread_bit4(w.qh >> (4 * j)), int4_get(a, j), s);
            s = dp4a(((q >> 4) & 0x0F0F0F0F) | spread_bit4(w.qh >> (16 + 4 * j)), int4_get(b, j), s);
        }
        return half_to_float(static_cast<uint16_t>(w.d)) * (ds.x * static_cast<float>(s) - 16.0f * ds.y);
    }
};

template <>
struct QDot<TensorType::Q5_1> : BlockUnit {
    struct W {
        int4 qs;
        uint32_t qh;
        uint32_t dm;  // half2 bits (d, m): converted where used
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int) {
        return {load16_stream(m.plane[2] + blk * 16), load_u32(m.plane[1] + blk * 4),
                load_u32(m.plane[0] + blk * 4)};
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const X32& x, int) {
        const int4 a = x.a, b = x.b;
        const float2 ds = x.ds;
        int s = 0;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int q = int4_get(w.qs, j);
            s = dp4a((q & 0x0F0F0F0F) | spread_bit4(w.qh >> (4 * j)), int4_get(a, j), s);
            s = dp4a(((q >> 4) & 0x0F0F0F0F) | spread_bit4(w.qh >> (16 + 4 * j)), int4_get(b, j), s);
        }
        const float2 dm = half2_bits_to_float2(w.dm);
        return dm.x * ds.x * static_cast<float>(s) + dm.y * ds.y;
    }
};

template <>
struct QDot<TensorType::Q8_0> : BlockUnit {
    struct W {
        int4 q0, q1;
        uint32_t d;  // f16 bits: converted where used (a conversion at the load would wait for it)
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int) {
        return {load16_stream(m.plane[1] + blk * 32), load16_stream(m.plane[1] + blk * 32 + 16),
                load_u16(m.plane[0] + blk * 2)};
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const X32& x, int) {
        const int4 a = x.a, b = x.b;
        int s = 0;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            s = dp4a(int4_get(w.q0, j), int4_get(a, j), s);
            s = dp4a(int4_get(w.q1, j), int4_get(b, j), s);
        }
        return half_to_float(static_cast<uint16_t>(w.d)) * x.ds.x * static_cast<float>(s);
    }
};

// ---- Q4_K as K units: 8 units of 32 per super-block (gpu_weight_layout.h) ----------------------

// The words unit j reads (gpu_weight_layout.h): the super-block's (d, dmin) and its own scale / min
// word, kept raw until the dot product (a conversion at the load would wait for it).
struct KUnitScales {
    uint32_t dm, sm;
    static __device__ __forceinline__ KUnitScales load(const QMatrix& m, int blk, int j) {
        return {load_u32(m.plane[0] + blk * 4), load_u16(m.plane[1] + (blk * 8 + j) * 2)};
    }
    // (d_K * scale_j, dmin_K * min_j)
    __device__ __forceinline__ float2 unit_dm() const {
        int scale, mn;
        k_unit_scale_min(sm, scale, mn);
        const float2 f = half2_bits_to_float2(dm);
        return make_float2(f.x * static_cast<float>(scale), f.y * static_cast<float>(mn));
    }
};

template <>
struct QDot<TensorType::Q4_K> {
    static constexpr int kUnitsPerBlock = 8;
    using XU = X32;  // a K unit is one q8_1 block of x
    static __device__ __forceinline__ XU load_xu(const int8_t* xq, const float2* xds, int blk_in_row, int j) {
        return load_x32(xq, xds, blk_in_row * 8 + j);
    }
    struct W {
        int4 qs;
        KUnitScales sc;
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int j) {
        return {load16_stream(m.plane[2] + (blk * 8 + j) * 16), KUnitScales::load(m, blk, j)};
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const X32& x, int) {
        const int s = dot_nibbles(w.qs, x.a, x.b);
        const float2 dm = w.sc.unit_dm();
        return dm.x * x.ds.x * static_cast<float>(s) - dm.y * x.ds.y;
    }
};

// ---- Q2_K, Q3_K, Q6_K: 4 units of 64 weights per super-block of 256 ----------------------------

// Q2_K / Q3_K / Q6_K unit u (0..3) = (half h = u / 2, quarter q = u % 2): elements
// 128h + 32g + 16q + i (g = 0..3, i = 0..15), sub-blocks (16 weights) 8h + 2g + q.
__device__ __forceinline__ void load_x_k16(const int8_t* xq, const float2* xds, int blk_in_row, int u, int4 x[4],
                                           float d[4]) {
    const int h = u >> 1, q = u & 1;
#pragma unroll
    for (int g = 0; g < 4; ++g) {
        x[g] = load16(xq + blk_in_row * 256 + 128 * h + 32 * g + 16 * q);
        d[g] = xds[blk_in_row * 8 + 4 * h + g].x;
    }
}

template <>
struct QDot<TensorType::Q2_K> {
    static constexpr int kUnitsPerBlock = 4;
    struct W {
        int4 qs;
        uint32_t sc[2];  // scales[8h .. 8h + 7]
        uint32_t dm;  // half2 bits (d, m): converted where used
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int u) {
        const int h = u >> 1, q = u & 1;
        W w;
        w.qs = load16_stream(m.plane[1] + blk * 64 + 32 * h + 16 * q);
        const uint2 s = *reinterpret_cast<const uint2*>(m.plane[0] + blk * 16 + 8 * h);
        w.sc[0] = s.x;
        w.sc[1] = s.y;
        w.dm = load_u32(m.plane[2] + blk * 4);
        return w;
    }
    static __device__ __forceinline__ float dot(const W& w, const int8_t* xq, const float2* xds, int blk_in_row, int u) {
        int4 x[4];
        float d[4];
        load_x_k16(xq, xds, blk_in_row, u, x, d);
        const int q = u & 1;
        float acc_sc = 0.0f, acc_min = 0.0f;
#pragma unroll
        for (int g = 0; g < 4; ++g) {
            int s = 0, xs = 0;
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                s = dp4a((int4_get(w.qs, k) >> (2 * g)) & 0x03030303, int4_get(x[g], k), s);
                xs = dp4a(0x01010101, int4_get(x[g], k), xs);
            }
            const int sb = byte_of(w.sc, 2 * g + q);
            acc_sc += d[g] * static_cast<float>((sb & 0xF) * s);
            acc_min += d[g] * static_cast<float>((sb >> 4) * xs);
        }
        const float2 dm = half2_bits_to_float2(w.dm);
        return dm.x * acc_sc - dm.y * acc_min;
    }
};

template <>
struct QDot<TensorType::Q3_K> {
    static constexpr int kUnitsPerBlock = 4;
    struct W {
        int4 qs, hm;
        uint32_t sc[3];
        uint32_t d;  // f16 bits: converted where used (a conversion at the load would wait for it)
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int u) {
        const int h = u >> 1, q = u & 1;
        W w;
        w.qs = load16_stream(m.plane[1] + blk * 64 + 32 * h + 16 * q);
        w.hm = load16_stream(m.plane[0] + blk * 32 + 16 * q);
        const uint8_t* s = m.plane[2] + blk * 12;
        w.sc[0] = load_u32(s);
        w.sc[1] = load_u32(s + 4);
        w.sc[2] = load_u32(s + 8);
        w.d = load_u16(m.plane[3] + blk * 2);
        return w;
    }
    // Signed 6-bit scale of sub-block is (0..15).
    static __device__ __forceinline__ int scale(const uint32_t* sc, int is) {
        const int low = is < 8 ? byte_of(sc, is) & 0xF : byte_of(sc, is - 8) >> 4;
        const int high = (byte_of(sc, 8 + (is & 3)) >> (2 * (is >> 2))) & 3;
        return (low | (high << 4)) - 32;
    }
    static __device__ __forceinline__ float dot(const W& w, const int8_t* xq, const float2* xds, int blk_in_row, int u) {
        int4 x[4];
        float d[4];
        load_x_k16(xq, xds, blk_in_row, u, x, d);
        const int h = u >> 1, q = u & 1;
        float acc = 0.0f;
#pragma unroll
        for (int g = 0; g < 4; ++g) {
            int s = 0, xs = 0;
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                const int v = ((int4_get(w.qs, k) >> (2 * g)) & 0x03030303) |
                              (((int4_get(w.hm, k) >> (4 * h + g)) & 0x01010101) << 2);
                s = dp4a(v, int4_get(x[g], k), s);
                xs = dp4a(0x01010101, int4_get(x[g], k), xs);
            }
            acc += d[g] * static_cast<float>(scale(w.sc, 8 * h + 2 * g + q) * (s - 4 * xs));
        }
        return half_to_float(static_cast<uint16_t>(w.d)) * acc;
    }
};

template <>
struct QDot<TensorType::Q6_K> {
    static constexpr int kUnitsPerBlock = 4;
    struct XU {  // the unit's 4 x 16 activations and their blocks' scales (load_x_k16)
        int4 x[4];
        float d[4];
    };
    static __device__ __forceinline__ XU load_xu(const int8_t* xq, const float2* xds, int blk_in_row, int u) {
        XU v;
        load_x_k16(xq, xds, blk_in_row, u, v.x, v.d);
        return v;
    }
    struct W {
        int4 la, lb, qh;
        uint32_t sc[2];  // scales[8h .. 8h + 7] (int8)
        uint32_t d;  // f16 bits: converted where used (a conversion at the load would wait for it)
    };
    static __device__ __forceinline__ W load_w(const QMatrix& m, int blk, int u) {
        const int h = u >> 1, q = u & 1;
        W w;
        w.la = load16_stream(m.plane[0] + blk * 128 + 64 * h + 16 * q);
        w.lb = load16_stream(m.plane[0] + blk * 128 + 64 * h + 32 + 16 * q);
        w.qh = load16_stream(m.plane[1] + blk * 64 + 32 * h + 16 * q);
        const uint2 s = *reinterpret_cast<const uint2*>(m.plane[2] + blk * 16 + 8 * h);
        w.sc[0] = s.x;
        w.sc[1] = s.y;
        w.d = load_u16(m.plane[3] + blk * 2);
        return w;
    }
    static __device__ __forceinline__ float dot_xu(const W& w, const XU& xu, int u) {
        const int4* x = xu.x;
        const float* d = xu.d;
        const int q = u & 1;
        int s[4] = {0, 0, 0, 0}, xs[4] = {0, 0, 0, 0};
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int la = int4_get(w.la, k), lb = int4_get(w.lb, k), qh = int4_get(w.qh, k);
            const int v0 = (la & 0x0F0F0F0F) | ((qh & 0x03030303) << 4);
            const int v1 = (lb & 0x0F0F0F0F) | (((qh >> 2) & 0x03030303) << 4);
            const int v2 = ((la >> 4) & 0x0F0F0F0F) | (((qh >> 4) & 0x03030303) << 4);
            const int v3 = ((lb >> 4) & 0x0F0F0F0F) | (((qh >> 6) & 0x03030303) << 4);
            s[0] = dp4a(v0, int4_get(x[0], k), s[0]);
            s[1] = dp4a(v1, int4_get(x[1], k), s[1]);
            s[2] = dp4a(v2, int4_get(x[2], k), s[2]);
            s[3] = dp4a(v3, int4_get(x[3], k), s[3]);
#pragma unroll
            for (int g = 0; g < 4; ++g) xs[g] = dp4a(0x01010101, int4_get(x[g], k), xs[g]);
        }
        float acc = 0.0f;
#pragma unroll
        for (int g = 0; g < 4; ++g) {
            const int sc = static_cast<int8_t>(byte_of(w.sc, q + 2 * g));
            acc += d[g] * static_cast<float>(sc * (s[g] - 32 * xs[g]));
        }
        return half_to_float(static_cast<uint16_t>(w.d)) * acc;
    }
};

}  // namespace rf::gpu
