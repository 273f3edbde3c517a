// Decode attention on the matrix units (attention.cuh: AttnArgs::mma). Same split-K contract as
// the register kernel in attention.cu: block (split, KV head [x q-head group], token) attends
// over its chunk of positions and writes the chunk's (max, sum) and unnormalised sum of V for
// each q head of the group; the combine kernel merges the chunks.
//
// The group's q heads (<= 8) are the rows of the m16n8k16 products (padded to 16; rows past the
// group are zeros and never written). K and V rows of a tile of 64 positions are copied through a
// shared-memory ring of a.mma (2..4) stages (cp.async, rows padded to D + 8 halfs), the next
// tiles in flight while the current one is used; warp w takes positions [16 w, 16 w + 16) of each tile:
// S = Q K^T (16 x 16, head_dim / 16 k-steps), online softmax in registers (base 2), O += P V
// (P from the S fragments, V through ldmatrix.trans). At the end the four warps' (max, sum, O) are
// merged in shared memory. A block whose chunk is one tile (short contexts; AttnArgs::one_tile), or
// 2 .. STAGES tiles all copied before the wait (AttnArgs::chunk_softmax), instead takes one max per
// row over its warps, writes P to shared memory and lets warp w multiply it by V's columns
// [w D / 4, (w + 1) D / 4): no merge at the end (block_softmax) (H100, same call, queued us per
// step: 0.5b q4_0 430.5 -> 421.2, 7b q4_0 1934 -> 1909, q4_K 2080 -> 2051, q8_0 2986 -> 2957). q and the probabilities are rounded to f16 as in the flash prefill
// kernel (flash_attn_prefill.cuh); f16 KV only, head dims 64 and 128, NVIDIA sm_80+.
#include <string>
#include <type_traits>

#include "backend/gpu/attention.cuh"
#include "backend/gpu/attention_decode_common.cuh"
#include "backend/gpu/gemm_mma.cuh"
#include "backend/gpu/kv_block_index.cuh"  // (no divisions: the chunk-softmax instances 14 - 70 fewer registers)
#include "backend/gpu/rope_device.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kRows = 16;  // mma rows: the group's q heads, padded
constexpr int kBC = 64;    // positions per tile (16 per warp)
static_assert(kAttnMaxHeadsPerBlock <= kRows, "a block's q heads fit the mma rows");
static_assert(kAttnTile % kBC == 0, "long-context chunks are whole tiles");

template <int D, int STAGES>
struct DecodeMmaShape {
    static constexpr int LDS = D + 8;  // halfs per shared row (16-byte pad: conflict-free ldmatrix)
    static constexpr size_t q_elems = static_cast<size_t>(kRows) * LDS;
    static constexpr size_t kv_elems = static_cast<size_t>(kBC) * LDS;  // one stage of K (or V)
    static constexpr size_t smem_bytes = (q_elems + 2 * STAGES * kv_elems) * 2;
    // the warps' O for the final merge reuse the K/V stages: [kWarps][kRows][RS] floats
    // rows of the merge area padded by 8 floats: the fragment stores of one warp (rows g, columns
    // 2c) spread over all banks instead of 8 rows on one bank group
    static constexpr int RS = D + 8;
    static_assert(static_cast<size_t>(kWarps) * kRows * RS * 4 <= 2 * STAGES * kv_elems * 2, "merge area fits the stages");
    // One softmax per block over NT tiles (one-tile chunks: NT = 1; the chunk softmax of the WS
    // instances: NT = STAGES): P, kRows x ldp<NT> halfs, in q's area where it fits (always for one
    // tile; head dim 128 with a ring of 2), else after the V stages.
    template <int NT>
    static constexpr int ldp() { return NT * kBC + 8; }
    template <int NT>
    static constexpr bool p_in_q() { return static_cast<size_t>(kRows) * ldp<NT>() <= q_elems; }
    static constexpr size_t smem_bytes_ws = smem_bytes + (p_in_q<STAGES>() ? 0 : static_cast<size_t>(kRows) * ldp<STAGES>() * 2);
};

#if RF_DEVICE_MMA
// A tile's copy: thread t copies 16-byte column t % CPR of rows t / CPR, + STEP, ... (N rows).
template <int D>
struct TileCopy {
    static constexpr int CPR = D / 8;
    static constexpr int STEP = kThreads / CPR;
    static constexpr int N = kBC / STEP;
};

// The block ids of this thread's rows of the tile at k0 in block table bt (entries past the
// sequence's blocks are within the table's stride: zeros, never used). All of them are loaded
// before any copy is issued: a cp.async is ordered after every earlier memory access, so a
// block-id load between two copies costs a round trip each (8 per tile at head_dim 128).
template <int D>
__device__ __forceinline__ void tile_block_ids(const AttnArgs& a, const int32_t* bt, int k0, int32_t (&ids)[TileCopy<D>::N]) {
    using C = TileCopy<D>;
    const KvBlockIndex bi(a.block_size);
    const int r0 = static_cast<int>(threadIdx.x) / C::CPR;
#pragma unroll
    for (int j = 0; j < C::N; ++j) ids[j] = bt[min(bi.block(k0 + r0 + j * C::STEP), a.bt_stride - 1)];
}

// Positions [k0, k0 + kBC) of KV head kvh into one stage, from the rows' block ids; rows at or
// past `end` are zeros (never read from the pools: a garbage V row would turn 0 * NaN into NaN in P V).
template <int D>
__device__ __forceinline__ void copy_tile_rows(const AttnArgs& a, const int32_t (&ids)[TileCopy<D>::N], int kvh, int k0,
                                               int end, uint16_t* sk, uint16_t* sv) {
    using C = TileCopy<D>;
    constexpr int LDS = D + 8;
    const KvBlockIndex bi(a.block_size);
    const int col = (static_cast<int>(threadIdx.x) % C::CPR) * 8;
    const int r0 = static_cast<int>(threadIdx.x) / C::CPR;
#pragma unroll
    for (int j = 0; j < C::N; ++j) {
        const int r = r0 + j * C::STEP;
        const int p = k0 + r;
        uint16_t* dk = sk + r * LDS + col;
        uint16_t* dv = sv + r * LDS + col;
        if (p < end) {
            const int64_t elem = ((static_cast<int64_t>(ids[j]) * a.n_kv_head + kvh) * a.block_size + bi.row(p)) * D + col;
            cp_async16(smem_addr(dk), static_cast<const uint16_t*>(a.k) + elem);
            cp_async16(smem_addr(dv), static_cast<const uint16_t*>(a.v) + elem);
        } else {
            *reinterpret_cast<uint4*>(dk) = make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4*>(dv) = make_uint4(0, 0, 0, 0);
        }
    }
}

template <int D>
__device__ __forceinline__ void copy_tile(const AttnArgs& a, const int32_t* bt, int kvh, int k0, int end, uint16_t* sk,
                                          uint16_t* sv) {
    int32_t ids[TileCopy<D>::N];
    tile_block_ids<D>(a, bt, k0, ids);
    copy_tile_rows<D>(a, ids, kvh, k0, end, sk, sv);
}
#endif

// S = Q K^T (16 x 16) of a warp's 16 positions p0 .. p0 + 15, their K rows from sk (D + 8 halfs apart);
// positions at or past end (the chunk's or the context's) -inf.
template <int D>
__device__ __forceinline__ void warp_scores(const uint16_t* sk, const uint32_t (&qf)[D / 16][4], int p0, int end, float (&s)[2][4]) {
    constexpr int LDS = D + 8;
    const int lane = static_cast<int>(threadIdx.x) % 32, c = lane % 4;
#pragma unroll
    for (int n = 0; n < 2; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t b[4];
        ldmatrix_x4(b, smem_addr(sk + (lane % 8 + (lane / 16) * 8) * LDS + kk * 16 + ((lane / 8) % 2) * 8));
        mma_16816<false>(s[0], qf[kk], b);
        mma_16816<false>(s[1], qf[kk], b + 2);
    }
    if (p0 + 16 > end) {
#pragma unroll
        for (int n = 0; n < 2; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                if (p0 + n * 8 + 2 * c + (e & 1) >= end) s[n][e] = -INFINITY;
    }
}

// o += P V for 16 positions: P one A fragment (16 rows x 16 positions), V the positions' rows from sv
// (D + 8 halfs apart), NT n tiles of 8 columns from sv's first column (NT even).
template <int D, int NT>
__device__ __forceinline__ void warp_pv(const uint16_t* sv, const uint32_t (&p)[4], float (&o)[NT][4]) {
    constexpr int LDS = D + 8;
    const int lane = static_cast<int>(threadIdx.x) % 32;
#pragma unroll
    for (int n = 0; n < NT; n += 2) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, smem_addr(sv + (lane % 8 + ((lane / 8) % 2) * 8) * LDS + n * 8 + (lane / 16) * 8));
        mma_16816<false>(o[n], p, b);
        mma_16816<false>(o[n + 1], p, b + 2);
    }
}

// STAGES: tiles in the shared-memory ring (STAGES - 1 in flight while one is used).
// WS (AttnArgs::chunk_softmax; launched where every chunk is at most STAGES tiles): every tile of the
// chunk is copied before the programmatic-dependent wait, and the block takes one softmax over all of
// them, as a one-tile block does over its tile: no per-warp (max, sum, O) merge at the end.
template <int D, bool ROPE, int STAGES, bool WS = false>
__global__ void __launch_bounds__(kThreads) attention_decode_mma_kernel(const AttnArgs a) {
    RF_STEP_TRACE_SCOPE(AttnMma, a.n_splits);
#if RF_DEVICE_MMA
    using S = DecodeMmaShape<D, STAGES>;
    constexpr int LDS = S::LDS;
    constexpr int KQ = D / 16;  // k steps of S = Q K^T
    constexpr int NO = D / 8;   // n tiles of O
    constexpr float kLog2e = 1.4426950408889634f, kLn2 = 0.6931471805599453f;
    extern __shared__ __align__(16) uint8_t smem_raw[];
    uint16_t* s_q = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* s_k = s_q + S::q_elems;            // [STAGES][kBC][LDS]
    uint16_t* s_v = s_k + STAGES * S::kv_elems;  // [STAGES][kBC][LDS]
    __shared__ float cs_s[ROPE ? D / 2 : 1], sn_s[ROPE ? D / 2 : 1];
    __shared__ float m_w[kWarps][kRows], l_w[kWarps][kRows];

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, c = lane % 4;
    const DecodeBlock blk = decode_block(a);
    const int t = blk.t, kvh = blk.kvh, split = blk.split, h0 = blk.h0, nh = blk.nh;
    const int n_ctx = blk.n_ctx, begin = blk.begin, end = blk.end;
    const int32_t* bt = blk.bt;
    const TraceStamps trace(a.trace, static_cast<int>(blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z)));
    trace.timer(0);
    trace.clock(1);
    const bool early_kv = ROPE && a.early_kv != 0;
    // early_kv (below): the first tiles' block ids, loaded before the angles are computed so that
    // their round trip overlaps that arithmetic; from sequence 0's row, which is the step's one
    // sequence when the rope is folded in (one token), checked once token_seq has arrived
    constexpr int PRE = WS ? STAGES : STAGES - 1;  // tiles copied first (before the wait with early_kv)
    int32_t ids[PRE][TileCopy<D>::N];  // the block ids of the first tiles' rows (this thread's)
    auto first_ids = [&](const int32_t* table) {
#pragma unroll
        for (int j = 0; j < PRE; ++j) tile_block_ids<D>(a, table, begin + j * kBC, ids[j]);
    };
    if (early_kv) first_ids(a.block_tables);
    if constexpr (ROPE) {  // angles from the step buffer: before the wait
        for (int i = tid; i < a.rope.n_rot / 2; i += kThreads) rope_angle(a.rope, n_ctx - 1, i, cs_s[i], sn_s[i]);
        __syncthreads();
    }
    // Tile j lives in stage j % STAGES; tiles j + 1 .. j + STAGES - 1 are in flight while it is
    // used (one commit group per tile slot, empty past the last tile, so the wait count is fixed).
    // With the rope folded in (one token per step) every row but the token's own was written by an
    // earlier step, and every kernel before the previous one has completed when this one starts
    // (each waits before it lets the next one launch): the first tiles are copied before the
    // programmatic-dependent wait, their block-table and KV round trips overlapping the previous
    // kernel, and the token's row (zero-filled here) is written from registers after the wait.
    const int n_tiles = end > begin ? (end - begin + kBC - 1) / kBC : 0;
    // the first tiles' copies from ids (rows at or past copy_end zero-filled), a commit group each
    auto first_copies = [&](int copy_end) {
#pragma unroll
        for (int j = 0; j < PRE; ++j) {
            if (j < n_tiles)
                copy_tile_rows<D>(a, ids[j], kvh, begin + j * kBC, copy_end, s_k + j * S::kv_elems, s_v + j * S::kv_elems);
            cp_async_commit();
        }
    };
    if (early_kv) {
        if (bt != a.block_tables) first_ids(bt);  // not sequence 0 after all
        first_copies(min(end, n_ctx - 1));
    }
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    trace.clock(2);
    trace.timer(7);

    // With the rope folded in, the block holding the token loads the token's k and v first: their
    // loads and q's make one memory round trip (it is the block the combine waits for last).
    TokenKvLoads<D, kThreads> token_kv;
    if constexpr (ROPE) token_kv.load(a, t, kvh, n_ctx, begin, end);

    // q rows: head h0 + r (rotated with ROPE), times scale * log2(e), as f16; rows >= nh zero.
    // Each thread takes 8-element groups: as two 16-byte loads (and its partner group's two) where
    // q's rows are 16-byte aligned and the groups rotate as wholes (rope_groups8), the rotation
    // branching per group; else element by element. (The per-element partner indices and branches
    // were ~170 instructions before the first load was issued.)
    const bool vec = reinterpret_cast<uintptr_t>(a.q) % 16 == 0 && a.q_stride % 4 == 0 && (!ROPE || rope_groups8(a.rope.n_rot));
    const float sc = a.scale * kLog2e;
    for (int i = tid; i < kRows * (D / 8); i += kThreads) {
        const int r = i / (D / 8), cc = (i % (D / 8)) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < nh) {
            const float* qh = a.q + t * a.q_stride + static_cast<int64_t>(h0 + r) * D;
            float x[8], p[8];  // every load first (one round trip), then the rotation
            if (vec) {
                load8_f32(qh + cc, x);
                if constexpr (ROPE) load8_f32(qh + rope_partner_group8(cc, a.rope.n_rot, a.rope.neox != 0), p);
            } else {
#pragma unroll
                for (int e = 0; e < 8; ++e) {
                    x[e] = qh[cc + e];
                    if constexpr (ROPE) p[e] = qh[rope_partner(cc + e, a.rope.n_rot, a.rope.neox != 0)];
                }
            }
            if (i == 0) {
                float landed = x[0] + x[7];
                if constexpr (ROPE) landed += p[0] + p[7];
                trace.clock_after(8, landed);
            }
            if constexpr (ROPE) {
                if (vec) {
                    rope_rotate8(x, p, cc, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s);
                } else {
#pragma unroll
                    for (int e = 0; e < 8; ++e)
                        x[e] = rope_rotate_loaded(x[e], p[e], cc + e, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s);
                }
            }
            v = make_uint4(pack2<false>(x[0] * sc, x[1] * sc), pack2<false>(x[2] * sc, x[3] * sc),
                           pack2<false>(x[4] * sc, x[5] * sc), pack2<false>(x[6] * sc, x[7] * sc));
        }
        *reinterpret_cast<uint4*>(s_q + r * LDS + cc) = v;
    }
    if constexpr (ROPE) {
        const int local = n_ctx - 1 - begin;  // the token's row in this chunk, if it holds it
        const bool early = early_kv && local >= 0 && n_ctx - 1 < end && local / kBC < PRE;
        const size_t at = static_cast<size_t>(local / kBC) * S::kv_elems + static_cast<size_t>(local % kBC) * LDS;
        token_kv.template store<KvCodec::F16>(a, kvh, cs_s, sn_s, early ? s_k + at : nullptr, early ? s_v + at : nullptr);
    }
    __syncthreads();

    uint32_t qf[KQ][4];
#pragma unroll
    for (int kk = 0; kk < KQ; ++kk) ldmatrix_x4(qf[kk], smem_addr(s_q + (lane % 16) * LDS + kk * 16 + (lane / 16) * 8));
    float o[NO][4];
#pragma unroll
    for (int n = 0; n < NO; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.0f, l_hi = 0.0f;  // rows g and g + 8

    trace.clock(3);
    RF_STEP_TRACE_MARK(0);  // q staged (rotated), the token's row stored
    if (!early_kv) {  // (without the rope folded in the previous kernel stored this step's rows)
        first_ids(bt);
        first_copies(end);
    }
    const size_t pidx0 = (static_cast<size_t>(t) * a.n_head + h0) * a.n_splits + split;
    // One softmax for the block over the NT tiles of its chunk (n_tiles <= NT), each copied into stage
    // j: warp w scores positions [16 w, 16 w + 16) of every tile, the block takes one max per row over
    // its warps (shared memory), P = 2^(S - M) for all of them goes to shared memory as f16, and warp w
    // multiplies it by V's columns [w D / 4, (w + 1) D / 4) over every tile: its O columns are final,
    // no per-warp (max, sum, O) merge at the end. One-tile chunks (NT = 1, a.one_tile) and the chunk
    // softmax (NT = STAGES, the WS instances: every tile copied before the wait).
    auto block_softmax = [&](auto tiles) {
        constexpr int NT = decltype(tiles)::value;
        cp_async_wait<0>();
        __syncthreads();
        float s[NT][2][4];
        float mx_lo = -INFINITY, mx_hi = -INFINITY;
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            const int p0 = begin + j * kBC + warp * 16;
            if (j < n_tiles && p0 < end) {
                warp_scores<D>(s_k + j * S::kv_elems + warp * 16 * LDS, qf, p0, end, s[j]);
            } else {
#pragma unroll
                for (int n = 0; n < 2; ++n) s[j][n][0] = s[j][n][1] = s[j][n][2] = s[j][n][3] = -INFINITY;
            }
            mx_lo = fmaxf(mx_lo, fmaxf(fmaxf(s[j][0][0], s[j][0][1]), fmaxf(s[j][1][0], s[j][1][1])));
            mx_hi = fmaxf(mx_hi, fmaxf(fmaxf(s[j][0][2], s[j][0][3]), fmaxf(s[j][1][2], s[j][1][3])));
        }
#pragma unroll
        for (int m = 1; m <= 2; m <<= 1) {
            mx_lo = fmaxf(mx_lo, rf_shfl_xor(mx_lo, m));
            mx_hi = fmaxf(mx_hi, rf_shfl_xor(mx_hi, m));
        }
        if (c == 0) {
            m_w[warp][g] = mx_lo;
            m_w[warp][g + 8] = mx_hi;
        }
        __syncthreads();
        float M_lo = -INFINITY, M_hi = -INFINITY;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            M_lo = fmaxf(M_lo, m_w[w][g]);
            M_hi = fmaxf(M_hi, m_w[w][g + 8]);
        }
        const float mu_lo = M_lo == -INFINITY ? 0.0f : M_lo, mu_hi = M_hi == -INFINITY ? 0.0f : M_hi;
        constexpr int LDP = S::template ldp<NT>();
        static_assert(NT > 1 || S::template p_in_q<1>(), "one tile's P fits q's area");
        uint16_t* s_p = S::template p_in_q<NT>() ? s_q : s_v + STAGES * S::kv_elems;  // (q is in registers now)
        float sum_lo = 0.0f, sum_hi = 0.0f;
#pragma unroll
        for (int j = 0; j < NT; ++j) {
#pragma unroll
            for (int n = 0; n < 2; ++n) {
                const float e0 = fast_exp2(s[j][n][0] - mu_lo), e1 = fast_exp2(s[j][n][1] - mu_lo);
                const float e2 = fast_exp2(s[j][n][2] - mu_hi), e3 = fast_exp2(s[j][n][3] - mu_hi);
                sum_lo += e0 + e1;
                sum_hi += e2 + e3;
                const int col = j * kBC + warp * 16 + n * 8 + 2 * c;
                *reinterpret_cast<uint32_t*>(s_p + g * LDP + col) = pack2<false>(e0, e1);
                *reinterpret_cast<uint32_t*>(s_p + (g + 8) * LDP + col) = pack2<false>(e2, e3);
            }
        }
#pragma unroll
        for (int m = 1; m <= 2; m <<= 1) {
            sum_lo += rf_shfl_xor(sum_lo, m);
            sum_hi += rf_shfl_xor(sum_hi, m);
        }
        if (c == 0) {
            l_w[warp][g] = sum_lo;
            l_w[warp][g + 8] = sum_hi;
        }
        __syncthreads();
        constexpr int NW = D / 4 / 8;  // n tiles of a warp's O columns
        const int d0 = warp * (D / 4);
        float ow[NW][4];
#pragma unroll
        for (int n = 0; n < NW; ++n) ow[n][0] = ow[n][1] = ow[n][2] = ow[n][3] = 0.0f;
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            if (j >= n_tiles) break;  // (uniform over the block; P past the chunk's tiles is never read)
#pragma unroll
            for (int kk = 0; kk < kBC / 16; ++kk) {
                uint32_t pa[4];
                ldmatrix_x4(pa, smem_addr(s_p + (lane % 16) * LDP + j * kBC + kk * 16 + (lane / 16) * 8));
                warp_pv<D>(s_v + j * S::kv_elems + kk * 16 * LDS + d0, pa, ow);
            }
        }
        trace.clock(4);
    RF_STEP_TRACE_MARK(1);  // tiles done (scores, softmax, P.V)
        RF_STEP_TRACE_MARK(1);  // tiles done (scores, softmax, P.V)
        float L_lo = 0.0f, L_hi = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            L_lo += l_w[w][g];
            L_hi += l_w[w][g + 8];
        }
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int r = g + 8 * half;
            if (r >= nh) continue;
            float* out = a.partial_acc + (pidx0 + static_cast<size_t>(r) * a.n_splits) * D + d0 + 2 * c;
#pragma unroll
            for (int n = 0; n < NW; ++n)
                *reinterpret_cast<float2*>(out + n * 8) = make_float2(ow[n][2 * half], ow[n][2 * half + 1]);
            if (warp == 0 && c == 0) {
                const float M = half ? M_hi : M_lo;
                a.partial_ml[pidx0 + static_cast<size_t>(r) * a.n_splits] = make_float2(M == -INFINITY ? M : M * kLn2, half ? L_hi : L_lo);
            }
        }
        trace.clock(5);
        trace.timer(6);
    };
    if constexpr (WS) {
        block_softmax(std::integral_constant<int, STAGES>{});
        return;
    }
    if (a.one_tile != 0 && n_tiles == 1) {
        block_softmax(std::integral_constant<int, 1>{});
        return;
    }
    for (int j = 0; j < n_tiles; ++j) {
        const int stage = j % STAGES;
        const int ahead = j + STAGES - 1;  // its stage was released by the barrier ending tile j - 1
        if (ahead < n_tiles)
            copy_tile<D>(a, bt, kvh, begin + ahead * kBC, end, s_k + (ahead % STAGES) * S::kv_elems,
                         s_v + (ahead % STAGES) * S::kv_elems);
        cp_async_commit();
        cp_async_wait<STAGES - 1>();  // tile j has landed
        __syncthreads();
        const int p0 = begin + j * kBC + warp * 16;  // this warp's first position
        if (p0 < end) {                              // uniform over the warp
            const uint16_t* sv = s_v + stage * S::kv_elems + warp * 16 * LDS;
            float s[2][4];
            warp_scores<D>(s_k + stage * S::kv_elems + warp * 16 * LDS, qf, p0, end, s);
            uint32_t pf[1][4];  // P of the warp's 16 positions: one A fragment
            flash_softmax_step(s, m_lo, m_hi, l_lo, l_hi, o, pf);
            warp_pv<D>(sv, pf[0], o);
        }
        __syncthreads();  // the stage is refilled next iteration (and, after the last, reused below)
    }

    trace.clock(4);
    RF_STEP_TRACE_MARK(1);  // tiles done (scores, softmax, P.V)
    // Merge the warps: row sums over the row's 4 lanes, then (max, sum, O) per warp in shared memory.
#pragma unroll
    for (int m = 1; m <= 2; m <<= 1) {
        l_lo += rf_shfl_xor(l_lo, m);
        l_hi += rf_shfl_xor(l_hi, m);
    }
    if (c == 0) {
        m_w[warp][g] = m_lo;
        m_w[warp][g + 8] = m_hi;
        l_w[warp][g] = l_lo;
        l_w[warp][g + 8] = l_hi;
    }
    float* red = reinterpret_cast<float*>(s_k);  // [kWarps][kRows][S::RS]
#pragma unroll
    for (int n = 0; n < NO; ++n) {
        float* lo = red + (static_cast<size_t>(warp) * kRows + g) * S::RS + n * 8 + 2 * c;
        float* hi = lo + 8 * S::RS;
        *reinterpret_cast<float2*>(lo) = make_float2(o[n][0], o[n][1]);
        *reinterpret_cast<float2*>(hi) = make_float2(o[n][2], o[n][3]);
    }
    __syncthreads();
    // Each thread merges elements tid, tid + kThreads, ... of the group's rows (row = element / D).
    // Head dim 64 (4 elements per thread): unrolled, so that their shared-memory reads and exps
    // overlap (0.5b step 503 -> 485 us); 128 (8): the compiler's loop (unrolled it made the 7b step
    // slower: 1951 -> 1978 us, the slowest block's merge 3342 -> 5354 cycles; a loop of one element
    // per iteration: 2584 / 3923 cycles).
    auto merge = [&](int r, int d) {
        float M = -INFINITY;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) M = fmaxf(M, m_w[w][r]);
        float acc = 0.0f, l = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) {
            const float mw = m_w[w][r];
            const float f = mw == -INFINITY ? 0.0f : fast_exp2(mw - M);
            acc += f * red[(static_cast<size_t>(w) * kRows + r) * S::RS + d];
            l += f * l_w[w][r];
        }
        a.partial_acc[(pidx0 + static_cast<size_t>(r) * a.n_splits) * D + d] = acc;
        // the register kernel's convention: the max in natural-log units (the combine takes e^(m - M))
        if (d == 0) a.partial_ml[pidx0 + static_cast<size_t>(r) * a.n_splits] = make_float2(M == -INFINITY ? M : M * kLn2, l);
    };
    constexpr int KE = kAttnMaxHeadsPerBlock * D / kThreads;  // elements per thread
    static_assert(kAttnMaxHeadsPerBlock * D % kThreads == 0, "whole rows per pass");
    if constexpr (KE <= 4) {
#pragma unroll
        for (int k = 0; k < KE; ++k) {
            const int i = tid + k * kThreads;
            if (i / D < nh) merge(i / D, i % D);
        }
    } else {
        for (int i = tid; i < nh * D; i += kThreads) merge(i / D, i % D);
    }
    trace.clock(5);
    trace.timer(6);
#else
    (void)a;
#endif
}

template <int D, bool ROPE, int STAGES>
void launch_d(Launcher& l, const AttnArgs& a) {
    const dim3 grid(static_cast<unsigned>(a.n_splits), static_cast<unsigned>(a.n_kv_head * a.n_qsub),
                    static_cast<unsigned>(a.n_tok));
    using S = DecodeMmaShape<D, STAGES>;
    // the chunk softmax where every chunk of 2+ tiles fits the ring (one-tile chunks keep their path)
    const int tiles = a.chunk / kBC;
    if (a.chunk_softmax != 0 && a.one_tile != 0 && tiles >= 2 && tiles <= STAGES)
        l.launch_large_smem(attention_decode_mma_kernel<D, ROPE, STAGES, true>, grid, dim3(kThreads), S::smem_bytes_ws, a);
    else
        l.launch_large_smem(attention_decode_mma_kernel<D, ROPE, STAGES>, grid, dim3(kThreads), S::smem_bytes, a);
}

template <int D, int STAGES>
void launch_rope(Launcher& l, const AttnArgs& a) {
    if (a.rope_fused) launch_d<D, true, STAGES>(l, a);
    else launch_d<D, false, STAGES>(l, a);
}

template <int D>
void launch_stages(Launcher& l, const AttnArgs& a) {
    switch (a.mma) {
        case 3: launch_rope<D, 3>(l, a); break;
        case 4: launch_rope<D, 4>(l, a); break;
        default: launch_rope<D, 2>(l, a); break;
    }
}

}  // namespace

bool attention_mma_supported(int head_dim, KvCodec codec) {
#if defined(ROCMFORGE_WITH_HIP)
    (void)head_dim;
    (void)codec;
    return false;
#else
    return codec == KvCodec::F16 && (head_dim == 64 || head_dim == 128);
#endif
}

void launch_attention_decode_mma(Launcher& l, const AttnArgs& a, int head_dim) {
    if (a.n_splits < 2 || a.chunk % kBC != 0 || a.mma < 2 || a.mma > 4)
        fail_message("gpu attention (matrix units): " + std::to_string(a.n_splits) + " splits of " + std::to_string(a.chunk) +
                     " positions, " + std::to_string(a.mma) + " stages (needs 2+ splits of whole 64-position tiles, 2..4 stages)");
    switch (head_dim) {
        case 64: launch_stages<64>(l, a); break;
        case 128: launch_stages<128>(l, a); break;
        default: fail_message("gpu attention (matrix units): head_dim " + std::to_string(head_dim) + " (64 or 128)");
    }
}

}  // namespace rf::gpu
