// How the GPU backend stores a weight matrix in device memory ("planar" layout), shared by the
// host (upload / repack) and the kernels.
//
// GGUF blocks interleave small fields (f16 scales) with the packed quants, so a block's quants
// are rarely 16-byte aligned (Q4_0: 18-byte blocks). The GPU backend splits every block into its
// fields and stores each field of all blocks of a matrix contiguously ("planes"), block-major
// ([row][block of the row]), each plane starting 256-byte aligned:
//
//   matrix m of a weight:  base + m * mat_stride
//     plane 0: field 0 of block (row 0, blk 0), (row 0, blk 1), ..., (rows-1, nb-1)
//     plane 1: field 1 of every block, same order
//     ...
//
// so a lane loads the 16-byte quants of consecutive blocks with coalesced 16-byte loads.
// Field offsets refer to the GGUF block structs of formats/quant_blocks.h (the one definition).
// Plain types (F32, F16, BF16) keep GGUF's row-major layout: one plane of 1-element "blocks".
// Only whole matrices are valid sub-views of a GPU weight (not row ranges).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/half.h"
#include "formats/quant/quant_common.h"
#include "formats/quant_blocks.h"
#include "formats/tensor_type.h"

namespace rf::gpu {

constexpr int kMaxPlanes = 4;
constexpr size_t kPlaneAlign = 256;

struct PlaneField {
    uint16_t offset;  // byte offset of the field inside the GGUF block
    uint16_t bytes;   // field size
};

struct BlockFormat {
    int qk = 0;            // weights per block
    int block_bytes = 0;   // GGUF block size
    int n_planes = 0;
    PlaneField fields[kMaxPlanes] = {};
};

// Plane order per type (kernels index planes by these positions).
//   q4_0: d, qs            q4_1: dm, qs            q5_0: d, qh, qs        q5_1: dm, qh, qs
//   q8_0: d, qs            q2_K: scales, qs, dm    q3_K: hmask, qs, scales, d
//   q4_K: dm, sm, qs       q5_K: as q5_1           q6_K: ql, qh, scales, d
// (q4_K / q5_K: transcoded at upload, see device_type() below; q4_K's field offsets are not GGUF
// offsets).
RF_HOST_DEVICE inline BlockFormat block_format(TensorType t) {
    BlockFormat f;
    switch (t) {
        case TensorType::F32: f = {1, 4, 1, {{0, 4}}}; break;
        case TensorType::F16: f = {1, 2, 1, {{0, 2}}}; break;
        case TensorType::BF16: f = {1, 2, 1, {{0, 2}}}; break;
        case TensorType::Q4_0: f = {QK4_0, 18, 2, {{0, 2}, {2, 16}}}; break;
        case TensorType::Q4_1: f = {QK4_1, 20, 2, {{0, 4}, {4, 16}}}; break;
        case TensorType::Q5_0: f = {QK5_0, 22, 3, {{0, 2}, {2, 4}, {6, 16}}}; break;
        case TensorType::Q5_1: f = {QK5_1, 24, 3, {{0, 4}, {4, 4}, {8, 16}}}; break;
        case TensorType::Q8_0: f = {QK8_0, 34, 2, {{0, 2}, {2, 32}}}; break;
        case TensorType::Q2_K: f = {QK_K, 84, 3, {{0, 16}, {16, 64}, {80, 4}}}; break;
        case TensorType::Q3_K: f = {QK_K, 110, 4, {{0, 32}, {32, 64}, {96, 12}, {108, 2}}}; break;
        case TensorType::Q4_K: f = {QK_K, 144, 3, {{0, 4}, {0, 16}, {0, 128}}}; break;
        case TensorType::Q5_K: f = {QK_K, 176, 4, {{0, 4}, {4, 12}, {16, 32}, {48, 128}}}; break;  // GGUF's (stored as Q5_1)
        case TensorType::Q6_K: f = {QK_K, 210, 4, {{0, 128}, {128, 64}, {192, 16}, {208, 2}}}; break;
        default: break;  // n_planes == 0: not a weight type of the GPU backend
    }
    return f;
}

RF_HOST_DEVICE inline size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

// Q4_K is transcoded at upload into "K units": 32-weight units that the Q4_1 dot product can take,
// at 4.625 bits per weight (GGUF: 4.5):
//   dm plane, 4 bytes per super-block: f16 d, f16 dmin (as in GGUF).
//   sm plane, 2 bytes per unit j (sub-block of 32): scale_j | min_j << 6 (6 bits each).
//   qs plane, 16 bytes per unit: byte i = weight 32j + i (low nibble) | weight 32j + 16 + i (high
//     nibble) (Q4_1's order).
// Weight 32j + i = d * scale_j * q - dmin * min_j, as in GGUF. Until 2026-11-26 Q4_K was stored as
// Q4_1 blocks with folded f16 scales (5.0 bits per weight); the same step on H100 is within +-1 %
// either way (docs/gpu_notes.md, tenth pass), K units take 7.5 % less memory and keep the scales exact.
// GGUF's own 16-byte header per super-block (a unit reading a word and two bytes of it, or the whole
// header) cost registers and was slower (branch exp/k-units-header).
// Q5_K stays transcoded into Q5_1 blocks (6.0 bits per weight, the sub-block scale and min folded
// into f16 d = f16(d_K * sc), m = f16(-dmin_K * mn), relative rounding <= 2^-11): as K units (5.625
// bits) its kernels took one register more per unit and the 7b q5_K step was 7 % slower (the
// one-token SwiGLU kernel spilled).
RF_HOST_DEVICE inline TensorType device_type(TensorType t) { return t == TensorType::Q5_K ? TensorType::Q5_1 : t; }
RF_HOST_DEVICE inline bool transcoded_at_upload(TensorType t) { return t == TensorType::Q4_K || t == TensorType::Q5_K; }

// 32-weight (or 64-weight: Q2_K, Q3_K, Q6_K) units of work per block of a device type.
RF_HOST_DEVICE constexpr int units_per_block(TensorType t) {
    switch (t) {
        case TensorType::Q4_K: return 8;
        case TensorType::Q2_K: case TensorType::Q3_K: case TensorType::Q6_K: return 4;
        default: return 1;
    }
}

// The K-unit scales of a GGUF Q4_K / Q5_K super-block b (its first 16 bytes: f16 d, f16 dmin, 12
// bytes of packed 6-bit scales and mins, formats/quant_blocks.h): the dm word and sm[j].
struct KSuperBlockScales {
    uint32_t dm;
    uint16_t sm[8];
};
RF_HOST_DEVICE inline KSuperBlockScales k_unit_scales(const uint8_t* b) {
    KSuperBlockScales s{static_cast<uint32_t>(b[0] | (b[1] << 8)) | (static_cast<uint32_t>(b[2] | (b[3] << 8)) << 16), {}};
    for (int j = 0; j < 8; ++j) {
        uint8_t scale = 0, min = 0;
        quant::unpack_scale_min_k4(j, b + 4, &scale, &min);  // GGUF's scales[12] follow d, dmin
        s.sm[j] = static_cast<uint16_t>(scale | (min << 6));
    }
    return s;
}

// Unit j's 6-bit scale and min from its sm word.
RF_HOST_DEVICE inline void k_unit_scale_min(uint32_t sm, int& scale, int& min) {
    scale = static_cast<int>(sm & 63u);
    min = static_cast<int>((sm >> 6) & 63u);
}

// Device layout of one matrix of `rows` x `cols` of GGUF type t (stored as device_type(t)).
struct MatrixLayout {
    int64_t blocks_per_row = 0;
    size_t plane_offset[kMaxPlanes] = {};
    size_t mat_stride = 0;  // bytes from one matrix to the next (a multiple of kPlaneAlign)
};

RF_HOST_DEVICE inline MatrixLayout matrix_layout(TensorType t, int64_t rows, int64_t cols) {
    const BlockFormat f = block_format(device_type(t));
    MatrixLayout l;
    l.blocks_per_row = f.qk > 0 ? cols / f.qk : 0;
    const size_t n_blocks = static_cast<size_t>(l.blocks_per_row) * static_cast<size_t>(rows);
    size_t off = 0;
    for (int p = 0; p < f.n_planes; ++p) {
        l.plane_offset[p] = off;
        off = align_up(off + n_blocks * f.fields[p].bytes, kPlaneAlign);
    }
    l.mat_stride = off;
    return l;
}

// Plane pointers of one matrix, what the kernels take.
struct QMatrix {
    const uint8_t* plane[kMaxPlanes] = {};
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t blocks_per_row = 0;
};

inline QMatrix qmatrix(TensorType t, const void* base, int64_t rows, int64_t cols, int64_t mat = 0) {
    const MatrixLayout l = matrix_layout(t, rows, cols);
    const auto* m = static_cast<const uint8_t*>(base) + static_cast<size_t>(mat) * l.mat_stride;
    QMatrix q;
    const BlockFormat f = block_format(device_type(t));
    for (int p = 0; p < f.n_planes; ++p) q.plane[p] = m + l.plane_offset[p];
    q.rows = rows;
    q.cols = cols;
    q.blocks_per_row = l.blocks_per_row;
    return q;
}

}  // namespace rf::gpu
