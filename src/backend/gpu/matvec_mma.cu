// Batched decode's matrix products (2-16 tokens) on the int8 matrix units, for Q4_0, Q8_0 and Q4_K
// (K units) weights: the weights' codes go through shared memory into int8 mma operands (Q4_0: a
// word's nibbles unpacked and re-centred, two instructions per 4 weights; Q4_K: unpacked, 0..15, each
// unit's min subtracted with the token's d * sum), the tokens' q8_1
// activations are the n operand (one or two tiles of 8 tokens), and each 32-weight block's int32 sums are scaled by the
// block's d and the token's d. The same sums as the matvec's dp4a kernels (exact integers per
// block), the float accumulation in another order.
//
// mma.sync.m16n8k32.row.col.s32.s8.s8.s32 per warp and block of 32 weights: A = 16 weight rows x
// 32, B = 32 x 8 tokens, C = 16 x 8. Lane (g = lane / 4, t = lane % 4) holds A's rows g and g + 8
// at columns 4t..4t+3 (regs 0, 1) and 16+4t.. (regs 2, 3); B's token g at rows 4t.. and 16+4t..;
// C's rows g, g + 8 at tokens 2t, 2t + 1.
//
// Block: W warps (4, or 8 for Q4_0 where the row tiles are few: launch_mma) over W / KS tiles of 16
// rows (SwiGLU: 16 gate rows and the same 16 up rows), KS warps per tile each a slice of the row's blocks, streamed
// through its own two shared-memory stages of 8 blocks (16-byte asynchronous copies of the rows'
// codes and f16 scales, the tokens' codes and scales; rows of a block count that is not a multiple
// of 8 read their scales directly); the slices' partial sums meet in shared memory and warp 0 writes
// the epilogue (bias, residual add, SwiGLU) as the matvec kernel does. (A tile's warps meet only
// where KS > 1.)
#include <algorithm>

#include "backend/gpu/gemm_mma.cuh"
#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/matvec.cuh"

namespace rf::gpu {
namespace {

constexpr int kMmaWarps = 4;      // warps per block, by default
constexpr int kMmaWideWarps = 8;  // ... where the launch has fewer than two row tiles per SM
constexpr int kMmaMaxTokens = 16;  // two n = 8 tiles
constexpr int kMmaChunk = 8;       // 32-weight blocks per stage

#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
#define RF_MMA_S8 1
#else
#define RF_MMA_S8 0
#endif

[[maybe_unused]] __device__ __forceinline__ void mma_s8_16x8x32(int (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if RF_MMA_S8
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    (void)c, (void)a, (void)b0, (void)b1;  // (compiled out: see matvec_mma_kernel)
#endif
}

// Four 4-bit codes (one byte's nibble each, code - 8) as signed bytes.
[[maybe_unused]] __device__ __forceinline__ uint32_t centred_nibbles(uint32_t v) {
#if RF_MMA_S8
    return __vsub4(v & 0x0F0F0F0Fu, 0x08080808u);
#else
    return v;
#endif
}

// One weight row's planes and where its result goes: its codes (qs), each 32-weight block's f16 scale
// (Q4_0, Q8_0: d) or 6-bit scale and min word (Q4_K's K units: sm), and Q4_K's super-block (d, dmin).
struct MmaRow {
    const uint8_t* qs;
    const uint8_t* d;
    const uint8_t* dm;
    int mat;
    int64_t lrow;
    bool ok;
};

// 32-weight blocks (Q4_K: K units) per super-block of the device layout.
template <TensorType T>
constexpr int mma_units_per_block() {
    return T == TensorType::Q4_K ? 8 : 1;
}

template <TensorType T>
[[maybe_unused]] __device__ __forceinline__ MmaRow mma_row(const MatvecArgs& a, int64_t g, int fixed_mat, int64_t qs_bytes) {
    MmaRow r;
    r.ok = g < a.total_rows;
    const int64_t gg = r.ok ? g : 0;
    if (fixed_mat >= 0) {
        r.mat = fixed_mat;
        r.lrow = gg;
    } else {
        r.mat = gg < a.row_end[0] ? 0 : (gg < a.row_end[1] ? 1 : 2);
        r.lrow = gg - (r.mat == 0 ? 0 : a.row_end[r.mat - 1]);
    }
    const QMatrix& m = r.mat == 0 ? a.m[0] : r.mat == 1 ? a.m[1] : a.m[2];
    const int64_t units = m.blocks_per_row * mma_units_per_block<T>();
    if constexpr (T == TensorType::Q4_K) {  // planes dm, sm, qs (gpu_weight_layout.h)
        r.qs = m.plane[2] + r.lrow * units * qs_bytes;
        r.d = m.plane[1] + r.lrow * units * 2;
        r.dm = m.plane[0] + r.lrow * m.blocks_per_row * 4;
    } else {  // planes d, qs
        r.qs = m.plane[1] + r.lrow * units * qs_bytes;
        r.d = m.plane[0] + r.lrow * units * 2;
        r.dm = nullptr;
    }
    return r;
}

// Shared memory of one warp's stage: the A rows (padded by 16 bytes: rows g = 0..7 then fall in
// different banks), the tokens' q8_1 codes (padded likewise), their (d, d * sum) pairs, and the
// rows' f16 scales (NT x 16 rows x 8 blocks).
template <TensorType T, int NT, int NN>
struct MmaStage {
    static constexpr int TOK = 8 * NN;  // tokens of the launch's tiles
    static constexpr int QB = T == TensorType::Q8_0 ? 32 : 16;  // code bytes per 32-weight block
    static constexpr int ROWB = kMmaChunk * QB + 16;
    static constexpr int XROW = kMmaChunk * 32 + 16;
    static constexpr int A_BYTES = NT * 16 * ROWB;
    static constexpr int X_BYTES = TOK * XROW;
    static constexpr int DX_BYTES = TOK * kMmaChunk * 8;
    static constexpr int D_BYTES = NT * 16 * kMmaChunk * 2;
    static constexpr int BYTES = A_BYTES + X_BYTES + DX_BYTES + D_BYTES;
};

// NN: n-tiles of 8 tokens (1: up to 8 tokens, 2: up to 16); W: warps per block; KS: warps per row
// tile (each a slice of the tile's blocks), so W / KS row tiles per block.
template <TensorType T, bool SWIGLU, int NN, int W, int KS>
__global__ void __launch_bounds__(W * 32) matvec_mma_kernel(const MatvecArgs a) {
    static_assert(W % KS == 0, "warps per block: a multiple of the warps per row tile");
#if RF_MMA_S8  // (elsewhere, HIP and NVIDIA before sm_80, an empty kernel: the dispatch table never picks it there)
    constexpr int NT = SWIGLU ? 2 : 1;  // tiles: the rows (plain), or gate and up rows
    using S = MmaStage<T, NT, NN>;
    constexpr int QB = S::QB;
    extern __shared__ __align__(16) uint8_t smem[];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int g = lane / 4, t = lane % 4;
    constexpr int RT = W / KS;  // row tiles per block
    const int tile = warp / KS, ks = warp % KS;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * RT + tile) * 16;
    // this lane's rows (g, g + 8) for the epilogue and the scales; the copies take rows by piece
    MmaRow lo[NT], hi[NT];
#pragma unroll
    for (int k = 0; k < NT; ++k) {
        lo[k] = mma_row<T>(a, row0 + g, SWIGLU ? k : -1, QB);
        hi[k] = mma_row<T>(a, row0 + g + 8, SWIGLU ? k : -1, QB);
    }
    const int64_t n_blocks = a.m[0].blocks_per_row * mma_units_per_block<T>();  // 32-weight blocks per row
    const int64_t xs = a.x_stride / 32;
    uint8_t* const stage0 = smem + static_cast<size_t>(warp) * 2 * S::BYTES;

    RF_PDL_ENTRY();
    // chunks of kMmaChunk blocks; warp ks of a tile takes a contiguous range of them
    const int64_t n_chunks = (n_blocks + kMmaChunk - 1) / kMmaChunk;
    const int64_t per_warp = (n_chunks + KS - 1) / KS;
    // the rows' scales by the stages' copies where each chunk's 8 scales of a row are 16 aligned bytes
    const bool d_staged = n_blocks % kMmaChunk == 0;
    const int64_t c_begin = ks * per_warp, c_end = min(n_chunks, c_begin + per_warp);

    // Each lane's pieces of a stage are the same for every chunk: their sources (at chunk 0), computed
    // once (per piece per chunk the row lookup had cost more instructions than the mma work).
    constexpr int PIECES_PER_ROW = kMmaChunk * QB / 16;  // a row's 16-byte pieces of codes per chunk
    constexpr int APL = 16 * PIECES_PER_ROW / 32;        // A pieces per lane and tile
    constexpr int XP = kMmaChunk * 32 / 16;              // a token's pieces of codes per chunk
    constexpr int XPL = S::TOK * XP / 32;                // X pieces per lane
    constexpr int DP = kMmaChunk * 8 / 16;               // a token's pieces of (d, d * sum) per chunk
    static_assert(32 % PIECES_PER_ROW == 0 && 32 % XP == 0, "a lane's pieces sit at one offset in their rows");
    const int aq = lane % PIECES_PER_ROW, xq = lane % XP;
    const uint8_t* a_src[NT][APL];
#pragma unroll
    for (int k = 0; k < NT; ++k)
#pragma unroll
        for (int i = 0; i < APL; ++i) a_src[k][i] = mma_row<T>(a, row0 + (lane + 32 * i) / PIECES_PER_ROW, SWIGLU ? k : -1, QB).qs + aq * 16;
    const int8_t* x_src[XPL];
    bool x_ok[XPL];
#pragma unroll
    for (int i = 0; i < XPL; ++i) {
        const int tok = (lane + 32 * i) / XP;
        x_ok[i] = tok < a.n_tok;
        x_src[i] = static_cast<const int8_t*>(a.x) + static_cast<int64_t>(x_ok[i] ? tok : 0) * a.x_stride + xq * 16;
    }
    const uint8_t* d_src = d_staged && lane < NT * 16 ? mma_row<T>(a, row0 + lane % 16, SWIGLU ? lane / 16 : -1, QB).d : nullptr;

    auto issue = [&](int64_t c, uint8_t* st) {
        const int64_t b0 = c * kMmaChunk;
        const int64_t valid = min(static_cast<int64_t>(kMmaChunk), n_blocks - b0);  // blocks of this chunk
        // A: NT x 16 rows x kMmaChunk * QB bytes in 16-byte pieces
        const bool a_ok = (aq * 16) / QB < valid;
#pragma unroll
        for (int k = 0; k < NT; ++k)
#pragma unroll
            for (int i = 0; i < APL; ++i) {
                const int r = (lane + 32 * i) / PIECES_PER_ROW;
                cp_async16(smem_addr(st + k * 16 * S::ROWB + r * S::ROWB + aq * 16), a_src[k][i] + b0 * QB, a_ok ? 16 : 0);
            }
        // X: the tokens x kMmaChunk * 32 bytes
        const bool xv = (xq * 16) / 32 < valid;
#pragma unroll
        for (int i = 0; i < XPL; ++i) {
            const int tok = (lane + 32 * i) / XP;
            const bool ok = x_ok[i] && xv;
            cp_async16(smem_addr(st + S::A_BYTES + tok * S::XROW + xq * 16), ok ? x_src[i] + b0 * 32 : a.x, ok ? 16 : 0);
        }
        // D: NT x 16 rows x kMmaChunk f16 scales, a row's 16 bytes per lane (a chunk is whole here)
        if (d_src != nullptr)
            cp_async16(smem_addr(st + S::A_BYTES + S::X_BYTES + S::DX_BYTES + lane * kMmaChunk * 2), d_src + b0 * 2);
        // DX: the tokens x kMmaChunk float2 (16 bytes = 2 blocks)
        for (int p = lane; p < S::TOK * DP; p += 32) {
            const int tok = p / DP, q = p % DP;
            const bool ok = tok < a.n_tok && 2 * q < valid;
            const float2* src = a.xds + static_cast<int64_t>(ok ? tok : 0) * xs + b0 + 2 * q;
            cp_async16(smem_addr(st + S::A_BYTES + S::X_BYTES + tok * kMmaChunk * 8 + q * 16), ok ? src : a.xds,
                       ok ? (2 * q + 1 < valid ? 16 : 8) : 0);
        }
        cp_async_commit();
    };

    float acc[NT][NN][4];
#pragma unroll
    for (int k = 0; k < NT; ++k)
#pragma unroll
        for (int n = 0; n < NN; ++n) acc[k][n][0] = acc[k][n][1] = acc[k][n][2] = acc[k][n][3] = 0.0f;
    if (c_begin < c_end) issue(c_begin, stage0);
    for (int64_t c = c_begin; c < c_end; ++c) {
        uint8_t* st = stage0 + ((c - c_begin) & 1) * S::BYTES;
        if (c + 1 < c_end) {
            issue(c + 1, stage0 + ((c + 1 - c_begin) & 1) * S::BYTES);
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncwarp();
        const int64_t b0 = c * kMmaChunk;
        const int valid = static_cast<int>(min(static_cast<int64_t>(kMmaChunk), n_blocks - b0));
        const uint8_t* xs_s = st + S::A_BYTES;
        const float* dx_s = reinterpret_cast<const float*>(st + S::A_BYTES + S::X_BYTES);
        const uint16_t* d_s = reinterpret_cast<const uint16_t*>(st + S::A_BYTES + S::X_BYTES + S::DX_BYTES);
        // Q4_K: the chunk is one super-block; its (d, dmin) for the lane's rows
        float2 sb_lo[NT], sb_hi[NT];
        if constexpr (T == TensorType::Q4_K) {
#pragma unroll
            for (int k = 0; k < NT; ++k) {
                sb_lo[k] = half2_bits_to_float2(load_u32(lo[k].dm + c * 4));
                sb_hi[k] = half2_bits_to_float2(load_u32(hi[k].dm + c * 4));
            }
        }
#pragma unroll
        for (int j = 0; j < kMmaChunk; ++j) {
            if (j >= valid) break;
            // B of each n-tile: token 8n + g; the C columns' tokens 8n + 2t, 8n + 2t + 1 and their d
            uint32_t bw0[NN], bw1[NN];
            float xa[NN], xb[NN], sa[NN], sb[NN];  // the tokens' d and (Q4_K) d * sum
#pragma unroll
            for (int n = 0; n < NN; ++n) {
                bw0[n] = *reinterpret_cast<const uint32_t*>(xs_s + (8 * n + g) * S::XROW + j * 32 + 4 * t);
                bw1[n] = *reinterpret_cast<const uint32_t*>(xs_s + (8 * n + g) * S::XROW + j * 32 + 16 + 4 * t);
                xa[n] = dx_s[((8 * n + 2 * t) * kMmaChunk + j) * 2];
                xb[n] = dx_s[((8 * n + 2 * t + 1) * kMmaChunk + j) * 2];
                if constexpr (T == TensorType::Q4_K) {
                    sa[n] = dx_s[((8 * n + 2 * t) * kMmaChunk + j) * 2 + 1];
                    sb[n] = dx_s[((8 * n + 2 * t + 1) * kMmaChunk + j) * 2 + 1];
                }
            }
#pragma unroll
            for (int k = 0; k < NT; ++k) {
                const uint8_t* as = st + k * 16 * S::ROWB + j * QB + 4 * t;
                uint32_t w[4];
                if constexpr (T == TensorType::Q4_0) {
                    const uint32_t wl = *reinterpret_cast<const uint32_t*>(as + g * S::ROWB);
                    const uint32_t wh = *reinterpret_cast<const uint32_t*>(as + (g + 8) * S::ROWB);
                    w[0] = centred_nibbles(wl);
                    w[1] = centred_nibbles(wh);
                    w[2] = centred_nibbles(wl >> 4);
                    w[3] = centred_nibbles(wh >> 4);
                } else if constexpr (T == TensorType::Q4_K) {  // codes 0..15, the min subtracted below
                    const uint32_t wl = *reinterpret_cast<const uint32_t*>(as + g * S::ROWB);
                    const uint32_t wh = *reinterpret_cast<const uint32_t*>(as + (g + 8) * S::ROWB);
                    w[0] = wl & 0x0F0F0F0Fu;
                    w[1] = wh & 0x0F0F0F0Fu;
                    w[2] = (wl >> 4) & 0x0F0F0F0Fu;
                    w[3] = (wh >> 4) & 0x0F0F0F0Fu;
                } else {
                    w[0] = *reinterpret_cast<const uint32_t*>(as + g * S::ROWB);
                    w[1] = *reinterpret_cast<const uint32_t*>(as + (g + 8) * S::ROWB);
                    w[2] = *reinterpret_cast<const uint32_t*>(as + g * S::ROWB + 16);
                    w[3] = *reinterpret_cast<const uint32_t*>(as + (g + 8) * S::ROWB + 16);
                }
                if constexpr (T == TensorType::Q4_K) {
                    // unit j: weight = d * scale_j * q - dmin * min_j; with x = dx * xq the block's sum is
                    // d * scale_j * dx * sum(q * xq) - dmin * min_j * (dx * sum(xq)) (QDot<Q4_K>'s)
                    int sc_lo, mn_lo, sc_hi, mn_hi;
                    k_unit_scale_min(d_s[(k * 16 + g) * kMmaChunk + j], sc_lo, mn_lo);
                    k_unit_scale_min(d_s[(k * 16 + g + 8) * kMmaChunk + j], sc_hi, mn_hi);
                    const float d_lo = sb_lo[k].x * static_cast<float>(sc_lo), m_lo = sb_lo[k].y * static_cast<float>(mn_lo);
                    const float d_hi = sb_hi[k].x * static_cast<float>(sc_hi), m_hi = sb_hi[k].y * static_cast<float>(mn_hi);
#pragma unroll
                    for (int n = 0; n < NN; ++n) {
                        int cc[4] = {0, 0, 0, 0};
                        mma_s8_16x8x32(cc, w, bw0[n], bw1[n]);
                        acc[k][n][0] += d_lo * xa[n] * static_cast<float>(cc[0]) - m_lo * sa[n];
                        acc[k][n][1] += d_lo * xb[n] * static_cast<float>(cc[1]) - m_lo * sb[n];
                        acc[k][n][2] += d_hi * xa[n] * static_cast<float>(cc[2]) - m_hi * sa[n];
                        acc[k][n][3] += d_hi * xb[n] * static_cast<float>(cc[3]) - m_hi * sb[n];
                    }
                } else {
                    const float d_lo = half_to_float(d_staged ? d_s[(k * 16 + g) * kMmaChunk + j]
                                                              : static_cast<uint16_t>(load_u16(lo[k].d + (b0 + j) * 2)));
                    const float d_hi = half_to_float(d_staged ? d_s[(k * 16 + g + 8) * kMmaChunk + j]
                                                              : static_cast<uint16_t>(load_u16(hi[k].d + (b0 + j) * 2)));
#pragma unroll
                    for (int n = 0; n < NN; ++n) {
                        int cc[4] = {0, 0, 0, 0};
                        mma_s8_16x8x32(cc, w, bw0[n], bw1[n]);
                        acc[k][n][0] += static_cast<float>(cc[0]) * (d_lo * xa[n]);
                        acc[k][n][1] += static_cast<float>(cc[1]) * (d_lo * xb[n]);
                        acc[k][n][2] += static_cast<float>(cc[2]) * (d_hi * xa[n]);
                        acc[k][n][3] += static_cast<float>(cc[3]) * (d_hi * xb[n]);
                    }
                }
            }
        }
        __syncwarp();  // (the stage is refilled two chunks later)
    }

    // a tile's slices summed in warp order by its first warp (the stages are free: reuse their memory)
    if constexpr (KS > 1) {
        __syncthreads();
        float* part = reinterpret_cast<float*>(smem);  // [W][NT * NN * 4][32]
        constexpr int V = NT * NN * 4;
#pragma unroll
        for (int k = 0; k < NT; ++k)
#pragma unroll
            for (int n = 0; n < NN; ++n)
#pragma unroll
                for (int i = 0; i < 4; ++i) part[(warp * V + (k * NN + n) * 4 + i) * 32 + lane] = acc[k][n][i];
        __syncthreads();
        if (ks != 0) return;
#pragma unroll
        for (int k = 0; k < NT; ++k)
#pragma unroll
            for (int n = 0; n < NN; ++n)
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    float sum = part[(warp * V + (k * NN + n) * 4 + i) * 32 + lane];
                    for (int w = 1; w < KS; ++w) sum += part[((warp + w) * V + (k * NN + n) * 4 + i) * 32 + lane];
                    acc[k][n][i] = sum;
                }
    }
    // C position i of n-tile n: row lo (i < 2) or hi, token 8n + 2t (even i) or 8n + 2t + 1
#pragma unroll
    for (int n = 0; n < NN; ++n)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int tok = 8 * n + 2 * t + (i & 1);
            if (tok >= a.n_tok) continue;
            const MmaRow& r = i < 2 ? lo[0] : hi[0];
            if (!r.ok) continue;
            if constexpr (SWIGLU) {
                float gv = acc[0][n][i], uv = acc[1][n][i];
                if (a.bias[0]) gv += a.bias[0][r.lrow];
                if (a.bias[1]) uv += a.bias[1][r.lrow];
                a.y[0][tok * a.ldy[0] + r.lrow] = gv;
                a.y[1][tok * a.ldy[1] + r.lrow] = uv;
                a.y[2][tok * a.ldy[2] + r.lrow] = silu(gv) * uv;
            } else {
                const int mi = r.mat;
                float v = acc[0][n][i];
                const float* bias = mi == 0 ? a.bias[0] : mi == 1 ? a.bias[1] : a.bias[2];
                float* y = mi == 0 ? a.y[0] : mi == 1 ? a.y[1] : a.y[2];
                float* res = mi == 0 ? a.residual[0] : mi == 1 ? a.residual[1] : a.residual[2];
                const int64_t ld = mi == 0 ? a.ldy[0] : mi == 1 ? a.ldy[1] : a.ldy[2];
                if (bias) v += bias[r.lrow];
                y[tok * ld + r.lrow] = v;
                if (res) res[tok * ld + r.lrow] += v;
            }
        }
#else
    (void)a;
#endif
}

template <TensorType T, bool SWIGLU, int NN, int W, int KS>
void launch_mma_warps(Launcher& l, const MatvecArgs& a) {
    constexpr int NT = SWIGLU ? 2 : 1;
    using S = MmaStage<T, NT, NN>;
    const size_t smem = std::max<size_t>(static_cast<size_t>(W) * 2 * S::BYTES, static_cast<size_t>(W) * NT * NN * 4 * 32 * sizeof(float));
    const int64_t tiles = ceil_div(a.total_rows, 16);
    l.launch_large_smem(matvec_mma_kernel<T, SWIGLU, NN, W, KS>, dim3(ceil_div(tiles, W / KS)), dim3(W * 32), smem, a);
}

// The device's SMs (one device per process).
int mma_device_sms() {
    static const int n = [] {
        int dev = 0, n_sm = 0;
        RF_GPU_CALL(cudaGetDevice(&dev));
        RF_GPU_CALL(cudaDeviceGetAttribute(&n_sm, cudaDevAttrMultiProcessorCount, dev));
        return std::max(1, n_sm);
    }();
    return n;
}

// Warps per block (W) and per row tile (KS): a.mma_warps / a.mma_split where set, else by shape
// (H100, rocmforge_gpu_bench matvecn; docs/server_notes.md). W = 8 where the row tiles are fewer than
// the SMs (the 0.5b's 896-row down projection at 16 tokens: 9.39 vs 10.99 us) and for Q4_0 where they
// are fewer than two per SM with one n-tile (the 7b down projection, 224 tiles of 592 blocks, at 8
// tokens: 28.7 vs 31.9 us); 4 keeps more warps per SM elsewhere (Q8_0's stages: one 8-warp block per
// SM; the 7b q4_0 3584 x 3584 at 16 tokens 13.3 vs 16.0). SwiGLU launches keep W = 4 (their two
// tiles' stages: Q8_0 at 16 tokens would need 234 KB with 8) and at 9-16 tokens take two warps per
// tile (two tiles per block: q8_0 gate / up 79.2 vs 91.2 us). Otherwise KS = W (one tile per block:
// fewer warps per tile were slower on every other shape).
template <TensorType T, bool SWIGLU, int NN>
void launch_mma(Launcher& l, const MatvecArgs& a) {
    int w = a.mma_warps;
    const int64_t tiles = ceil_div(a.total_rows, 16), n_sm = mma_device_sms();
    if (w == 0)
        w = tiles < n_sm || (T != TensorType::Q8_0 && tiles < 2 * n_sm && NN == 1) ? kMmaWideWarps : kMmaWarps;
    if (w != kMmaWarps && w != kMmaWideWarps) fail_message("gpu matvec: int8-mma warps per block must be 4 or 8");
    if (SWIGLU) w = kMmaWarps;
    int ks = a.mma_split > 0 ? std::min(a.mma_split, w) : SWIGLU && NN == 2 ? 2 : w;
    if (ks == 1) w = kMmaWarps;  // (4 tiles of one warp each: the 8-warp block's would be the same)
    if (w == kMmaWideWarps) {
        if constexpr (!SWIGLU) {
            if (ks == 8) launch_mma_warps<T, SWIGLU, NN, 8, 8>(l, a);
            else if (ks == 4) launch_mma_warps<T, SWIGLU, NN, 8, 4>(l, a);
            else if (ks == 2) launch_mma_warps<T, SWIGLU, NN, 8, 2>(l, a);
            else fail_message("gpu matvec: int8-mma warps per row tile must be 2, 4 or 8 with 8 warps per block");
        }
        return;
    }
    if (ks == 4) launch_mma_warps<T, SWIGLU, NN, 4, 4>(l, a);
    else if (ks == 2) launch_mma_warps<T, SWIGLU, NN, 4, 2>(l, a);
    else if (ks == 1) launch_mma_warps<T, SWIGLU, NN, 4, 1>(l, a);
    else fail_message("gpu matvec: int8-mma warps per row tile must be 1, 2 or 4 with 4 warps per block");
}

template <TensorType T>
void launch_mma_type(Launcher& l, const MatvecArgs& a) {
    const bool swiglu = a.epilogue == static_cast<int32_t>(MatvecEpilogue::SwiGlu);
    if (a.n_tok > 8) {
        if (swiglu) launch_mma<T, true, 2>(l, a);
        else launch_mma<T, false, 2>(l, a);
    } else {
        if (swiglu) launch_mma<T, true, 1>(l, a);
        else launch_mma<T, false, 1>(l, a);
    }
}

}  // namespace

bool matvec_mma_supports(TensorType type, int64_t n_tok, int64_t cols) {
    const TensorType t = device_type(type);
    // (cols % 64: the tokens' (d, d * sum) rows stay 16-byte aligned for the asynchronous copies)
    return (t == TensorType::Q4_0 || t == TensorType::Q8_0 || t == TensorType::Q4_K) && n_tok >= 2 &&
           n_tok <= kMmaMaxTokens && cols % 64 == 0;
}

void launch_matvec_mma(Launcher& l, TensorType type, const MatvecArgs& a) {
    type = device_type(type);
    if (type == TensorType::Q4_0) {
        launch_mma_type<TensorType::Q4_0>(l, a);
    } else if (type == TensorType::Q8_0) {
        launch_mma_type<TensorType::Q8_0>(l, a);
    } else if (type == TensorType::Q4_K) {
        launch_mma_type<TensorType::Q4_K>(l, a);
    } else {
        fail_message(std::string("gpu matvec: no int8-mma kernel for weight type ") + type_name(type));
    }
}

}  // namespace rf::gpu
