#include "backend/gpu/dequant.cuh"
#include "backend/gpu/quant_dot.cuh"

#include <string>
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

// Weights per block of the device type (Q5_K arrives as Q5_1: device_type()).
template <TensorType T>
constexpr int dequant_qk() {
    return T == TensorType::F32 || T == TensorType::F16 || T == TensorType::BF16 ? 1
           : (T == TensorType::Q2_K || T == TensorType::Q3_K || T == TensorType::Q4_K || T == TensorType::Q6_K) ? 256
                                                                                                               : 32;
}

// Calls put(i, w) for the 32 weights of slice s (elements 32 s .. 32 s + 31, i from 0) of block `blk`
// (block index within the matrix) of a quantized type; the 32-weight types have the one slice 0.
template <TensorType T, typename F>
__device__ __forceinline__ void dequant_slice(const QMatrix& m, int64_t blk, int s, F&& put) {
    static_assert(dequant_qk<T>() >= 32, "quantized types only");
    if constexpr (T == TensorType::Q4_0 || T == TensorType::Q4_1) {
        const uint8_t* qs = m.plane[1] + blk * 16;
        float d, mn;
        if constexpr (T == TensorType::Q4_0) {
            d = half_to_float(load_u16(m.plane[0] + blk * 2));
            mn = -8.0f * d;
        } else {
            const float2 dm = half2_bits_to_float2(load_u32(m.plane[0] + blk * 4));
            d = dm.x;
            mn = dm.y;
        }
        for (int j = 0; j < 16; ++j) {
            put(j, d * (qs[j] & 0xF) + mn);
            put(j + 16, d * (qs[j] >> 4) + mn);
        }
    } else if constexpr (T == TensorType::Q5_0 || T == TensorType::Q5_1) {
        const uint8_t* qs = m.plane[2] + blk * 16;
        const uint32_t qh = load_u32(m.plane[1] + blk * 4);
        float d, mn;
        if constexpr (T == TensorType::Q5_0) {
            d = half_to_float(load_u16(m.plane[0] + blk * 2));
            mn = -16.0f * d;
        } else {
            const float2 dm = half2_bits_to_float2(load_u32(m.plane[0] + blk * 4));
            d = dm.x;
            mn = dm.y;
        }
        for (int j = 0; j < 16; ++j) {
            const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            put(j, d * ((qs[j] & 0xF) | h0) + mn);
            put(j + 16, d * ((qs[j] >> 4) | h1) + mn);
        }
    } else if constexpr (T == TensorType::Q4_K) {
        // K units (gpu_weight_layout.h): blk is a super-block, unit s its sub-block of 32
        const float2 dm = half2_bits_to_float2(load_u32(m.plane[0] + blk * 4));
        const int64_t unit = blk * 8 + s;
        int scale, mn;
        k_unit_scale_min(load_u16(m.plane[1] + unit * 2), scale, mn);
        const float d = dm.x * static_cast<float>(scale), mnv = dm.y * static_cast<float>(mn);
        const uint8_t* qs = m.plane[2] + unit * 16;
        for (int e = 0; e < 16; ++e) {
            put(e, d * static_cast<float>(qs[e] & 0xF) - mnv);
            put(e + 16, d * static_cast<float>(qs[e] >> 4) - mnv);
        }
    } else if constexpr (T == TensorType::Q8_0) {
        const int8_t* qs = reinterpret_cast<const int8_t*>(m.plane[1] + blk * 32);
        const float d = half_to_float(load_u16(m.plane[0] + blk * 2));
        for (int j = 0; j < 32; ++j) put(j, d * qs[j]);
    } else if constexpr (T == TensorType::Q2_K) {
        // slice s = 4 n + j: elements 128 n + 32 j + 16 q + l
        const int n = s / 4, j = s % 4;
        const uint8_t* sc = m.plane[0] + blk * 16;
        const uint8_t* qs = m.plane[1] + blk * 64;
        const float2 dm = half2_bits_to_float2(load_u32(m.plane[2] + blk * 4));
        for (int q = 0; q < 2; ++q) {
            const int sv = sc[8 * n + 2 * j + q];
            const float dl = dm.x * (sv & 0xF), ml = dm.y * (sv >> 4);
            for (int l = 0; l < 16; ++l) put(16 * q + l, dl * ((qs[32 * n + 16 * q + l] >> (2 * j)) & 3) - ml);
        }
    } else if constexpr (T == TensorType::Q3_K) {
        // slice s = 4 n + j: elements 128 n + 32 j + 16 q + l
        const int n = s / 4, j = s % 4;
        const uint8_t* hm = m.plane[0] + blk * 32;
        const uint8_t* qs = m.plane[1] + blk * 64;
        const uint32_t sc[3] = {load_u32(m.plane[2] + blk * 12), load_u32(m.plane[2] + blk * 12 + 4),
                                load_u32(m.plane[2] + blk * 12 + 8)};
        const float d = half_to_float(load_u16(m.plane[3] + blk * 2));
        for (int q = 0; q < 2; ++q) {
            const float dl = d * QDot<TensorType::Q3_K>::scale(sc, 8 * n + 2 * j + q);
            for (int l = 0; l < 16; ++l) {
                const int lo = (qs[32 * n + 16 * q + l] >> (2 * j)) & 3;
                const int hi = (hm[16 * q + l] >> (4 * n + j)) & 1;
                put(16 * q + l, dl * (lo - (hi ? 0 : 4)));
            }
        }
    } else if constexpr (T == TensorType::Q6_K) {
        // slice s = 4 n + k: elements 128 n + 32 k + l, quant k of the four a (ql, qh) pair holds
        const int n = s / 4, k = s % 4;
        const uint8_t* ql = m.plane[0] + blk * 128;
        const uint8_t* qh = m.plane[1] + blk * 64;
        const int8_t* sc = reinterpret_cast<const int8_t*>(m.plane[2] + blk * 16);
        const float d = half_to_float(load_u16(m.plane[3] + blk * 2));
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int h = (qh[32 * n + l] >> (2 * k)) & 3;
            const int b = ql[64 * n + l + (k & 1) * 32];
            const int q = ((k < 2 ? b & 0xF : b >> 4) | (h << 4)) - 32;
            put(l, d * sc[8 * n + is + 2 * k] * q);
        }
    }
}

// Calls put(i, w_i) for the qk weights of block `blk` (block index within the matrix).
template <TensorType T, typename F>
__device__ __forceinline__ void dequant_block(const QMatrix& m, int64_t blk, F&& put) {
    if constexpr (T == TensorType::F32) {
        put(0, reinterpret_cast<const float*>(m.plane[0])[blk]);
    } else if constexpr (T == TensorType::F16) {
        put(0, half_to_float(reinterpret_cast<const uint16_t*>(m.plane[0])[blk]));
    } else if constexpr (T == TensorType::BF16) {
        put(0, bf16_bits_to_float(reinterpret_cast<const uint16_t*>(m.plane[0])[blk]));
    } else {
        for (int s = 0; s < dequant_qk<T>() / 32; ++s) dequant_slice<T>(m, blk, s, [&](int i, float v) { put(32 * s + i, v); });
    }
}

// One thread per 32 weights of a row (per weight of the float types): the slice dequantized into
// registers, then stored as float4s. (One thread per block was ~11 us for a 3584-wide Q6_K row on the
// H100: 256 weights one after another, each store ordering the byte loads after it.)
template <TensorType T>
__global__ void embed_kernel(const QMatrix m, const int32_t* __restrict__ ids, float* __restrict__ out) {
    RF_STEP_TRACE_SCOPE(Embed, m.cols);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    constexpr int qk = dequant_qk<T>();
    constexpr int S = qk == 1 ? 1 : 32;  // weights per thread
    const int64_t t = blockIdx.y;
    const int64_t u = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;  // slice of the row
    if (u * S >= m.cols) return;
    const int64_t row = ids[t];
    float* o = out + t * m.cols + u * S;
    if (row < 0 || row >= m.rows) {  // an id the host did not check (a device-fed token): NaN, never a fault
        for (int i = 0; i < S; ++i) o[i] = NAN;
        return;
    }
    if constexpr (qk == 1) {
        dequant_block<T>(m, row * m.blocks_per_row + u, [&](int, float v) { o[0] = v; });
    } else {
        float v[32];
        dequant_slice<T>(m, row * m.blocks_per_row + u / (qk / 32), static_cast<int>(u % (qk / 32)),
                         [&](int i, float w) { v[i] = w; });
        // (rows of 32-weight slices, activations 16-byte aligned: o is)
#pragma unroll
        for (int k = 0; k < 8; ++k) reinterpret_cast<float4*>(o)[k] = make_float4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]);
    }
}

template <TensorType T>
__global__ void dequant_rows_kernel(const QMatrix m, int64_t row0, int64_t n_rows, void* out, int32_t to_bf16) {
    RF_PDL_ENTRY();
    const int64_t r = blockIdx.y;
    const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (b >= m.blocks_per_row || r >= n_rows) return;
    const int64_t qk = m.cols / m.blocks_per_row;
    uint16_t* o = static_cast<uint16_t*>(out) + r * m.cols + b * qk;
    dequant_block<T>(m, (row0 + r) * m.blocks_per_row + b, [&](int i, float v) {
        o[i] = to_bf16 ? f32_to_bf16(v) : float_to_half_bits(v);
    });
}

struct RepackArgs {
    uint8_t* dst[kMaxPlanes];
    const uint8_t* raw;
    int64_t n_blocks;
    int64_t blk0;
    int32_t field_offset[kMaxPlanes];
    int32_t field_bytes[kMaxPlanes];
    int32_t block_bytes;
    int32_t n_planes;
};

__global__ void repack_kernel(const RepackArgs a) {
    RF_PDL_ENTRY();
    const int64_t b = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (b >= a.n_blocks) return;
    const uint8_t* src = a.raw + b * a.block_bytes;
    for (int p = 0; p < a.n_planes; ++p) {
        uint8_t* d = a.dst[p] + (a.blk0 + b) * a.field_bytes[p];
        for (int i = 0; i < a.field_bytes[p]; ++i) d[i] = src[a.field_offset[p] + i];
    }
}

// One thread per (super-block, sub-block j of 32) (gpu_weight_layout.h):
//   Q4_K -> K units: p0 = dm plane, p1 = sm plane, p2 = qs plane (thread j == 0 writes dm and sm);
//   Q5_K -> Q5_1 blocks: p0 = dm plane (the folded f16 d, m), p1 = qh plane, p2 = qs plane.
// Whole-word stores only: byte stores of a register's low byte wrote 0 on sm_90 (seen on H100 with
// nvcc 13.0 when this kernel stored folded f16 scales byte by byte).
template <bool Q5>
__global__ void transcode_k_kernel(const uint8_t* __restrict__ raw, int64_t n_super, int64_t super0, uint8_t* p0,
                                   uint8_t* p1, uint8_t* p2) {
    RF_PDL_ENTRY();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n_super * 8) return;
    const int64_t sb = i / 8;
    const int s = static_cast<int>(i % 8);
    const uint8_t* b = raw + sb * (Q5 ? 176 : 144);
    const KSuperBlockScales k = k_unit_scales(b);
    const int64_t unit = (super0 + sb) * 8 + s;  // 32-weight unit (Q5_1 block) index in the matrix
    if constexpr (Q5) {
        int scale, mn;
        k_unit_scale_min(k.sm[s], scale, mn);
        const float2 dm = half2_bits_to_float2(k.dm);
        const uint16_t dd = float_to_half_bits(dm.x * static_cast<float>(scale));
        const uint16_t mm = float_to_half_bits(-dm.y * static_cast<float>(mn));
        *reinterpret_cast<uint32_t*>(p0 + unit * 4) = static_cast<uint32_t>(dd) | (static_cast<uint32_t>(mm) << 16);
    } else if (s == 0) {
        uint32_t w[4];
        for (int q = 0; q < 4; ++q) w[q] = static_cast<uint32_t>(k.sm[2 * q]) | (static_cast<uint32_t>(k.sm[2 * q + 1]) << 16);
        *reinterpret_cast<uint32_t*>(p0 + (super0 + sb) * 4) = k.dm;
        *reinterpret_cast<uint4*>(p1 + (super0 + sb) * 16) = make_uint4(w[0], w[1], w[2], w[3]);
    }
    const uint8_t* qs = b + (Q5 ? 48 : 16) + 32 * (s / 2);
    const uint8_t* qh = b + 16;
    uint8_t nib[32];
    uint32_t h = 0;
    for (int l = 0; l < 32; ++l) {
        nib[l] = (s % 2 ? qs[l] >> 4 : qs[l]) & 0xF;
        if (Q5) h |= static_cast<uint32_t>((qh[l] >> s) & 1) << l;
    }
    if (Q5) *reinterpret_cast<uint32_t*>(p1 + unit * 4) = h;
    uint32_t packed[4];
    for (int q = 0; q < 4; ++q) {
        packed[q] = 0;
        for (int e = 0; e < 4; ++e)
            packed[q] |= static_cast<uint32_t>(nib[4 * q + e] | (nib[4 * q + e + 16] << 4)) << (8 * e);
    }
    *reinterpret_cast<uint4*>(p2 + unit * 16) = make_uint4(packed[0], packed[1], packed[2], packed[3]);
}

__global__ void convert_f32_kernel(const float* __restrict__ x, int64_t n, uint16_t* __restrict__ out, int32_t to_bf16) {
    RF_PDL_ENTRY();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = to_bf16 ? f32_to_bf16(x[i]) : float_to_half_bits(x[i]);
}

template <template <TensorType> class K, typename... Args>
void launch_typed(Launcher& l, TensorType type, dim3 grid, dim3 block, Args&&... args) {
    switch (type) {
#define RF_CASE(T) \
    case TensorType::T: l.launch(K<TensorType::T>::fn, grid, block, 0, args...); return;
        RF_CASE(F32) RF_CASE(F16) RF_CASE(BF16) RF_CASE(Q4_0) RF_CASE(Q4_1) RF_CASE(Q5_0) RF_CASE(Q5_1) RF_CASE(Q8_0)
        RF_CASE(Q2_K) RF_CASE(Q3_K) RF_CASE(Q4_K) RF_CASE(Q6_K)
#undef RF_CASE
        default: fail_message(std::string("gpu: no dequantization kernel for weight type ") + type_name(type));
    }
}

template <TensorType T>
struct EmbedK {
    static constexpr auto fn = embed_kernel<T>;
};
template <TensorType T>
struct DequantRowsK {
    static constexpr auto fn = dequant_rows_kernel<T>;
};

}  // namespace

void launch_repack(Launcher& l, TensorType type, const uint8_t* raw, int64_t n_blocks, int64_t blk0, uint8_t* dst_mat,
                   int64_t rows, int64_t cols) {
    const BlockFormat f = block_format(type);
    const MatrixLayout lay = matrix_layout(type, rows, cols);
    RepackArgs a = zeroed<RepackArgs>();
    for (int p = 0; p < f.n_planes; ++p) {
        a.dst[p] = dst_mat + lay.plane_offset[p];
        a.field_offset[p] = f.fields[p].offset;
        a.field_bytes[p] = f.fields[p].bytes;
    }
    a.raw = raw;
    a.n_blocks = n_blocks;
    a.blk0 = blk0;
    a.block_bytes = f.block_bytes;
    a.n_planes = f.n_planes;
    l.launch(repack_kernel, dim3(ceil_div(n_blocks, 256)), dim3(256), 0, a);
}

void launch_transcode_k(Launcher& l, TensorType type, const uint8_t* raw, int64_t n_super, int64_t super0,
                        uint8_t* dst_mat, int64_t rows, int64_t cols) {
    const MatrixLayout lay = matrix_layout(type, rows, cols);
    const dim3 grid(ceil_div(n_super * 8, 256));
    if (type == TensorType::Q4_K)
        l.launch(transcode_k_kernel<false>, grid, dim3(256), 0, raw, n_super, super0, dst_mat + lay.plane_offset[0],
                 dst_mat + lay.plane_offset[1], dst_mat + lay.plane_offset[2]);
    else if (type == TensorType::Q5_K)
        l.launch(transcode_k_kernel<true>, grid, dim3(256), 0, raw, n_super, super0, dst_mat + lay.plane_offset[0],
                 dst_mat + lay.plane_offset[1], dst_mat + lay.plane_offset[2]);
    else
        fail_message(std::string("gpu: no transcoding for weight type ") + type_name(type));
}

void launch_embed(Launcher& l, TensorType type, const QMatrix& m, const int32_t* ids, int64_t n_tok, float* out) {
    type = device_type(type);
    const int64_t slices = m.blocks_per_row * (block_size(type) == 1 ? 1 : block_size(type) / 32);  // threads per row
    launch_typed<EmbedK>(l, type, dim3(ceil_div(slices, 64), static_cast<unsigned>(n_tok)), dim3(64), m, ids, out);
}

void launch_dequant_rows(Launcher& l, TensorType type, const QMatrix& m, int64_t row0, int64_t n_rows, void* out,
                         bool to_bf16) {
    type = device_type(type);
    launch_typed<DequantRowsK>(l, type, dim3(ceil_div(m.blocks_per_row, 64), static_cast<unsigned>(n_rows)), dim3(64), m,
                               row0, n_rows, out, static_cast<int32_t>(to_bf16));
}

void launch_convert_f32(Launcher& l, const float* x, int64_t n, void* out, bool to_bf16) {
    l.launch(convert_f32_kernel, dim3(ceil_div(n, 256)), dim3(256), 0, x, n, static_cast<uint16_t*>(out),
             static_cast<int32_t>(to_bf16));
}

}  // namespace rf::gpu
