// One "slice" of a weight row, 32 consecutive weights, loaded from the planar device layout
// (gpu_weight_layout.h) into registers and dequantized there into 16 packed f16 / bf16 pairs:
// the unit of work of the tiled GEMM's weight-tile loader and of the f16 dequantization that
// feeds the vendor GEMM.
//
//   GemmUnit<T>::Raw                               the slice's bytes in registers
//   GemmUnit<T>::load(w, row, slice) -> Raw        slice = k / 32 (K-quants: 8 slices per block)
//   GemmUnit<T>::to_pairs<BF16>(raw, out[16])      out[i] = (w[2i], w[2i + 1]) packed
//
// Element order inside the GGUF blocks (formats/quant_blocks.h, same as dequant.cu):
//   q4/q5 legacy: element j < 16 from the low nibble of qs[j], j >= 16 from the high nibble of
//     qs[j - 16]; q5 adds bit j of qh as bit 4.
//   Q4_K: K units, the legacy q4 order per slice (gpu_weight_layout.h); Q5_K arrives as Q5_1.
//   Q2_K / Q3_K / Q6_K, slice s = 4n + j (n = half of the super-block):
//     Q2_K / Q3_K: element 32s + 16q + l from bits 2j.. of qs[32n + 16q + l] (Q3_K: high bit
//       from bit 4n + j of hmask[16q + l]), scale of sub-block 8n + 2j + q;
//     Q6_K: element 32s + l from nibble j / 2 of ql[64n + 32 (j % 2) + l] and bits 2j.. of
//       qh[32n + l], scale sc[8n + 2j + l / 16].
#pragma once

#include "backend/gpu/gemm_mma.cuh"
#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/gpu/quant_dot.cuh"

namespace rf::gpu {

template <TensorType T>
struct GemmUnit;

// Packs 32 floats (computed by f(i)) into 16 pairs.
template <bool BF16, typename F>
__device__ __forceinline__ void pack_slice(uint32_t out[16], F&& f) {
#pragma unroll
    for (int i = 0; i < 16; ++i) out[i] = pack2<BF16>(f(2 * i), f(2 * i + 1));
}

__device__ __forceinline__ int nib_lo(const int4& q, int j) { return (int4_get(q, j >> 2) >> (8 * (j & 3))) & 0xF; }
__device__ __forceinline__ int nib_hi(const int4& q, int j) { return (int4_get(q, j >> 2) >> (8 * (j & 3) + 4)) & 0xF; }
__device__ __forceinline__ int byte_at(const int4& q, int j) { return (int4_get(q, j >> 2) >> (8 * (j & 3))) & 0xFF; }

template <>
struct GemmUnit<TensorType::Q4_0> {
    struct Raw {
        int4 qs;
        uint32_t d;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice;
        return {load16(m.plane[1] + blk * 16), load_u16(m.plane[0] + blk * 2)};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float d = half_to_float(static_cast<uint16_t>(r.d));
        pack_slice<BF16>(out, [&](int i) {
            const int q = i < 16 ? nib_lo(r.qs, i) : nib_hi(r.qs, i - 16);
            return d * static_cast<float>(q - 8);
        });
    }
};

template <>
struct GemmUnit<TensorType::Q4_1> {
    struct Raw {
        int4 qs;
        uint32_t dm;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice;
        return {load16(m.plane[1] + blk * 16), load_u32(m.plane[0] + blk * 4)};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float2 dm = half2_bits_to_float2(r.dm);
        pack_slice<BF16>(out, [&](int i) {
            const int q = i < 16 ? nib_lo(r.qs, i) : nib_hi(r.qs, i - 16);
            return fmaf(dm.x, static_cast<float>(q), dm.y);
        });
    }
};

template <>
struct GemmUnit<TensorType::Q5_0> {
    struct Raw {
        int4 qs;
        uint32_t qh, d;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice;
        return {load16(m.plane[2] + blk * 16), load_u32(m.plane[1] + blk * 4), load_u16(m.plane[0] + blk * 2)};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float d = half_to_float(static_cast<uint16_t>(r.d));
        pack_slice<BF16>(out, [&](int i) {
            const int lo = i < 16 ? nib_lo(r.qs, i) : nib_hi(r.qs, i - 16);
            const int q = lo | static_cast<int>(((r.qh >> i) & 1u) << 4);
            return d * static_cast<float>(q - 16);
        });
    }
};

template <>
struct GemmUnit<TensorType::Q5_1> {
    struct Raw {
        int4 qs;
        uint32_t qh, dm;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice;
        return {load16(m.plane[2] + blk * 16), load_u32(m.plane[1] + blk * 4), load_u32(m.plane[0] + blk * 4)};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float2 dm = half2_bits_to_float2(r.dm);
        pack_slice<BF16>(out, [&](int i) {
            const int lo = i < 16 ? nib_lo(r.qs, i) : nib_hi(r.qs, i - 16);
            const int q = lo | static_cast<int>(((r.qh >> i) & 1u) << 4);
            return fmaf(dm.x, static_cast<float>(q), dm.y);
        });
    }
};

// Q4_K as K units (gpu_weight_layout.h): slice s of super-block blk is unit 8 blk + s, the Q4_1
// quant layout with d = d_K * scale_s, m = -dmin_K * min_s.
template <>
struct GemmUnit<TensorType::Q4_K> {
    struct Raw {
        int4 qs;
        uint32_t dm, sm;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t unit = row * m.blocks_per_row * 8 + slice;
        return {load16(m.plane[2] + unit * 16), load_u32(m.plane[0] + unit / 8 * 4), load_u16(m.plane[1] + unit * 2)};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float2 dm = half2_bits_to_float2(r.dm);
        int scale, mn;
        k_unit_scale_min(r.sm, scale, mn);
        const float d = dm.x * static_cast<float>(scale), m = -dm.y * static_cast<float>(mn);
        pack_slice<BF16>(out, [&](int i) {
            const int q = i < 16 ? nib_lo(r.qs, i) : nib_hi(r.qs, i - 16);
            return fmaf(d, static_cast<float>(q), m);
        });
    }
};

template <>
struct GemmUnit<TensorType::Q8_0> {
    struct Raw {
        int4 q0, q1;
        uint32_t d;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice;
        return {load16(m.plane[1] + blk * 32), load16(m.plane[1] + blk * 32 + 16), load_u16(m.plane[0] + blk * 2)};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float d = half_to_float(static_cast<uint16_t>(r.d));
        pack_slice<BF16>(out, [&](int i) {
            const int b = i < 16 ? byte_at(r.q0, i) : byte_at(r.q1, i - 16);
            return d * static_cast<float>(static_cast<int8_t>(b));
        });
    }
};

template <>
struct GemmUnit<TensorType::Q2_K> {
    struct Raw {
        int4 q0, q1;    // qs[32n .. 32n + 32)
        uint32_t sc;    // scale bytes of sub-blocks 8n + 2j, 8n + 2j + 1
        uint32_t dm;
        int32_t j;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice / 8;
        const int s = static_cast<int>(slice % 8), n = s / 4, j = s % 4;
        const uint8_t* qs = m.plane[1] + blk * 64 + 32 * n;
        return {load16(qs), load16(qs + 16), load_u16(m.plane[0] + blk * 16 + 8 * n + 2 * j),
                load_u32(m.plane[2] + blk * 4), j};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float2 dm = half2_bits_to_float2(r.dm);
        float dl[2], ml[2];
#pragma unroll
        for (int q = 0; q < 2; ++q) {
            const int s = (r.sc >> (8 * q)) & 0xFF;
            dl[q] = dm.x * static_cast<float>(s & 0xF);
            ml[q] = dm.y * static_cast<float>(s >> 4);
        }
        pack_slice<BF16>(out, [&](int i) {
            const int q = i >> 4;
            const int b = i < 16 ? byte_at(r.q0, i) : byte_at(r.q1, i - 16);
            return dl[q] * static_cast<float>((b >> (2 * r.j)) & 3) - ml[q];
        });
    }
};

template <>
struct GemmUnit<TensorType::Q3_K> {
    struct Raw {
        int4 q0, q1;    // qs[32n .. 32n + 32)
        int4 h0, h1;    // hmask[0 .. 32)
        int32_t sc0, sc1;  // signed scales of sub-blocks 8n + 2j, 8n + 2j + 1
        uint32_t d;
        int32_t s;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice / 8;
        const int s = static_cast<int>(slice % 8), n = s / 4, j = s % 4;
        const uint8_t* qs = m.plane[1] + blk * 64 + 32 * n;
        const uint8_t* hm = m.plane[0] + blk * 32;
        const uint8_t* scp = m.plane[2] + blk * 12;
        const uint32_t sc[3] = {load_u32(scp), load_u32(scp + 4), load_u32(scp + 8)};
        return {load16(qs), load16(qs + 16), load16(hm), load16(hm + 16),
                QDot<TensorType::Q3_K>::scale(sc, 8 * n + 2 * j), QDot<TensorType::Q3_K>::scale(sc, 8 * n + 2 * j + 1),
                load_u16(m.plane[3] + blk * 2), s};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float d = half_to_float(static_cast<uint16_t>(r.d));
        const float dl[2] = {d * static_cast<float>(r.sc0), d * static_cast<float>(r.sc1)};
        const int n = r.s / 4, j = r.s % 4;
        pack_slice<BF16>(out, [&](int i) {
            const int b = i < 16 ? byte_at(r.q0, i) : byte_at(r.q1, i - 16);
            const int h = i < 16 ? byte_at(r.h0, i) : byte_at(r.h1, i - 16);
            const int lo = (b >> (2 * j)) & 3;
            const int hi = (h >> (4 * n + j)) & 1;
            return dl[i >> 4] * static_cast<float>(lo - (hi ? 0 : 4));
        });
    }
};

template <>
struct GemmUnit<TensorType::Q6_K> {
    struct Raw {
        int4 l0, l1;    // ql[64n + 32 (j % 2) .. + 32)
        int4 h0, h1;    // qh[32n .. 32n + 32)
        uint32_t sc;    // scale bytes sc[8n + 2j], sc[8n + 2j + 1]
        uint32_t d;
        int32_t j;
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const int64_t blk = row * m.blocks_per_row + slice / 8;
        const int s = static_cast<int>(slice % 8), n = s / 4, j = s % 4;
        const uint8_t* ql = m.plane[0] + blk * 128 + 64 * n + 32 * (j % 2);
        const uint8_t* qh = m.plane[1] + blk * 64 + 32 * n;
        return {load16(ql), load16(ql + 16), load16(qh), load16(qh + 16),
                load_u16(m.plane[2] + blk * 16 + 8 * n + 2 * j), load_u16(m.plane[3] + blk * 2), j};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        const float d = half_to_float(static_cast<uint16_t>(r.d));
        const float dl[2] = {d * static_cast<float>(static_cast<int8_t>(r.sc & 0xFF)),
                             d * static_cast<float>(static_cast<int8_t>((r.sc >> 8) & 0xFF))};
        const int shift = 4 * (r.j / 2);
        pack_slice<BF16>(out, [&](int i) {
            const int l = i < 16 ? byte_at(r.l0, i) : byte_at(r.l1, i - 16);
            const int h = i < 16 ? byte_at(r.h0, i) : byte_at(r.h1, i - 16);
            const int q = ((l >> shift) & 0xF) | (((h >> (2 * r.j)) & 3) << 4);
            return dl[i >> 4] * static_cast<float>(q - 32);
        });
    }
};

// F16 / BF16 weights: the 32 values as stored (F16 tiles for F16, BF16 tiles for BF16).
template <TensorType T>
struct GemmUnitFloat {
    struct Raw {
        int4 v[4];
    };
    static __device__ __forceinline__ Raw load(const QMatrix& m, int64_t row, int64_t slice) {
        const uint8_t* p = m.plane[0] + (row * m.cols + slice * 32) * 2;
        return {{load16(p), load16(p + 16), load16(p + 32), load16(p + 48)}};
    }
    template <bool BF16>
    static __device__ __forceinline__ void to_pairs(const Raw& r, uint32_t out[16]) {
        static_assert(BF16 == (T == TensorType::BF16), "float weights keep their own 16-bit type");
#pragma unroll
        for (int i = 0; i < 16; ++i) out[i] = static_cast<uint32_t>(int4_get(r.v[i / 4], i % 4));
    }
};
template <>
struct GemmUnit<TensorType::F16> : GemmUnitFloat<TensorType::F16> {};
template <>
struct GemmUnit<TensorType::BF16> : GemmUnitFloat<TensorType::BF16> {};

}  // namespace rf::gpu
