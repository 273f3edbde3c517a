#include "backend/gpu/attention.cuh"

#include <string>

#include "backend/gpu/attention_combine.cuh"
#include "backend/gpu/attention_decode_common.cuh"
#include "backend/gpu/rope_device.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

constexpr int kThreads = 128;

template <KvCodec C>
__device__ __forceinline__ void load8(const void* base, int64_t elem, float out[8]) {
    if constexpr (C == KvCodec::F16) {
        const int4 r = load16(static_cast<const uint16_t*>(base) + elem);
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const float2 f = half2_bits_to_float2(static_cast<uint32_t>(int4_get(r, k)));
            out[2 * k] = f.x;
            out[2 * k + 1] = f.y;
        }
    } else {
        const float4 a = *reinterpret_cast<const float4*>(static_cast<const float*>(base) + elem);
        const float4 b = *reinterpret_cast<const float4*>(static_cast<const float*>(base) + elem + 4);
        out[0] = a.x, out[1] = a.y, out[2] = a.z, out[3] = a.w, out[4] = b.x, out[5] = b.y, out[6] = b.z, out[7] = b.w;
    }
}

// ROPE: rope + KV store folded in (attention.cuh).
// SHORT: every chunk fits one scores pass of the split layout (chunk <= short_chunk_limit(D)).
template <int D, KvCodec C, bool ROPE, bool SHORT>
__global__ void __launch_bounds__(kThreads) attention_kernel(const AttnArgs a, int8_t* xq, float2* xds) {
    RF_STEP_TRACE_SCOPE(AttnFma, a.n_splits);
    constexpr int H = kAttnMaxHeadsPerBlock;
    constexpr int T = kAttnTile;
    static_assert(T == kThreads, "tile positions = threads (partial-tile fill, softmax and P.V loops)");
    constexpr int DV = 8;                       // dims per thread in P.V (one 16-byte f16 load)
    constexpr int TPR = D / DV;                 // threads per V row: 8, 16, 32
    constexpr int PGV = kThreads / TPR;         // position groups in P.V: 16, 8, 4
    constexpr int NW = kThreads / RF_WARP_SIZE;
    static_assert(TPR <= RF_WARP_SIZE && D % 32 == 0, "head_dim 64, 128 or 256");
    constexpr int TPP = D / 32;                 // threads per position in the scores: 2, 4, 8
    constexpr int PPP = kThreads / TPP;         // positions of a short chunk's scores pass: 64, 32, 16
    static_assert(!SHORT || PPP <= T, "a short chunk is one scores pass");
    constexpr int kScoreGroups = 4;             // 8-dim groups per thread (32 dims)
    // q_s [H][D] and p_s [H][T] while the tiles run; then red [NW][H][D] (per-warp P.V sums)
    constexpr int kSmemFloats = (H * D + H * T > NW * H * D) ? H * D + H * T : NW * H * D;
    __shared__ __align__(16) float smem[kSmemFloats];
    float (*q_s)[D] = reinterpret_cast<float (*)[D]>(smem);
    float (*p_s)[T] = reinterpret_cast<float (*)[T]>(smem + H * D);
    float (*red)[H][D] = reinterpret_cast<float (*)[H][D]>(smem);
    __shared__ int64_t row_s[T];
    __shared__ float m_s[H], l_s[H], corr_s[H];
    __shared__ float cs_s[ROPE ? D / 2 : 1], sn_s[ROPE ? D / 2 : 1];

    const int tid = threadIdx.x, lane = tid % RF_WARP_SIZE, warp = tid / RF_WARP_SIZE;
    static_assert(H == kAttnMaxHeadsPerBlock, "decode_block's head groups");
    const DecodeBlock blk = decode_block(a);
    const int t = blk.t, kvh = blk.kvh, split = blk.split, h0 = blk.h0, nh = blk.nh;
    const int n_ctx = blk.n_ctx, begin = blk.begin, end = blk.end;
    const int32_t* bt = blk.bt;
    const size_t pidx0 = (static_cast<size_t>(t) * a.n_head + h0) * a.n_splits + split;
    // (the step data above and the angles come from the step buffer: read before the wait)
    if constexpr (ROPE) {
        for (int i = tid; i < a.rope.n_rot / 2; i += kThreads) rope_angle(a.rope, n_ctx - 1, i, cs_s[i], sn_s[i]);
        __syncthreads();
    }
    // K and V rows of the tile at `from` into L2 (one position per thread). (Prefetching the
    // next tile while one runs made 32K contexts slower: 7b 4204 -> 4367 us per step.)
    auto prefetch_tile = [&](int from) {
        const int p = from + tid;
        if (p < end) {
            const int64_t blk = bt[p / a.block_size];
            const int64_t row = (blk * a.n_kv_head + kvh) * a.block_size + p % a.block_size;
            constexpr int kRowBytes = D * (C == KvCodec::F16 ? 2 : 4);
            const auto* kr = static_cast<const uint8_t*>(a.k) + row * kRowBytes;
            const auto* vr = static_cast<const uint8_t*>(a.v) + row * kRowBytes;
#pragma unroll
            for (int o = 0; o < kRowBytes; o += 128) {
                prefetch_l2(kr + o);
                prefetch_l2(vr + o);
            }
        }
    };
    // The first tile while the previous kernel ends: earlier steps wrote those rows (the token's
    // own row, stored below, is only fetched: its write lands in L2).
    if (a.prefetch_kv) prefetch_tile(begin);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();

    // The block holding the token (ROPE) loads the token's k and v with q: one memory round trip.
    TokenKvLoads<D, kThreads> token_kv;
    if constexpr (ROPE) token_kv.load(a, t, kvh, n_ctx, begin, end);
    // q of the group's heads, times the scale (ROPE: rotated; qr keeps the rotated values); every
    // load first (with its rope partner), then the rotation
    constexpr int QPT = (H * D + kThreads - 1) / kThreads;
    float qr[QPT], qp[ROPE ? QPT : 1];
#pragma unroll
    for (int k = 0; k < QPT; ++k) {
        const int i = tid + k * kThreads;
        if (i < nh * D) {
            const int d = i % D;
            const float* qh = a.q + t * a.q_stride + static_cast<int64_t>(h0 + i / D) * D;
            qr[k] = qh[d];
            if constexpr (ROPE) qp[k] = qh[rope_partner(d, a.rope.n_rot, a.rope.neox != 0)];
        }
    }
#pragma unroll
    for (int k = 0; k < QPT; ++k) {
        const int i = tid + k * kThreads;
        if (i < nh * D) {
            const int g = i / D, d = i % D;
            if constexpr (ROPE) qr[k] = rope_rotate_loaded(qr[k], qp[k], d, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s);
            q_s[g][d] = qr[k] * a.scale;
        }
    }
    if (tid < H) {
        m_s[tid] = -INFINITY;
        l_s[tid] = 0.0f;
    }
    if constexpr (ROPE) {
        // The block whose chunk holds the token's position: the token's k of this KV head rotated
        // (written back in place) and stored with v into the slot, before the tiles read them.
        token_kv.template store<C>(a, kvh, cs_s, sn_s);
        if (a.n_splits == 1) {  // the group's only block reads q: write the rotated q back
            __syncthreads();
#pragma unroll
            for (int k = 0; k < QPT; ++k) {
                const int i = tid + k * kThreads;
                if (i < nh * D) a.q_rot[t * a.q_stride + static_cast<int64_t>(h0 + i / D) * D + i % D] = qr[k];
            }
        }
    }
    float acc[H][DV];
#pragma unroll
    for (int g = 0; g < H; ++g)
#pragma unroll
        for (int e = 0; e < DV; ++e) acc[g][e] = 0.0f;
    __syncthreads();

    const int sub = tid % TPP, pslot = tid / TPP;  // scores: lane in the position, position in the pass
    const int pg = tid / TPR;         // position group of this thread (P.V)
    const int dim0 = (tid % TPR) * DV;  // its first dim

    // (an empty chunk, past the token's context, runs no tile and leaves max -inf, sum 0)
    for (int tile = begin; tile < end; tile += T) {
        const int n_valid = min(T, end - tile);
        if constexpr (SHORT) {
            // A short chunk (decode at short contexts): TPP consecutive threads per position, each
            // 32 of its dims (8-dim groups strided by TPP: coalesced 16-byte K loads, q reads on
            // distinct banks), all heads of the group, a thread's loads issued together: one
            // round trip for the chunk (one thread per position took 4 on head_dim 128).
            const int i = pslot;
            const int p = tile + i;
            float s[H];
#pragma unroll
            for (int g = 0; g < H; ++g) s[g] = 0.0f;
            if (i < n_valid) {
                const int64_t blk = bt[p / a.block_size];
                const int64_t row = (blk * a.n_kv_head + kvh) * a.block_size + p % a.block_size;
                if (sub == 0) row_s[i] = row;
                float kv[kScoreGroups][8];
#pragma unroll
                for (int c = 0; c < kScoreGroups; ++c) load8<C>(a.k, row * D + (c * TPP + sub) * 8, kv[c]);
#pragma unroll
                for (int c = 0; c < kScoreGroups; ++c) {
                    const int d0 = (c * TPP + sub) * 8;
#pragma unroll
                    for (int g = 0; g < H; ++g) {
                        if (g < nh) {
#pragma unroll
                            for (int e = 0; e < 8; ++e) s[g] += q_s[g][d0 + e] * kv[c][e];
                        }
                    }
                }
            }
#pragma unroll
            for (int off = 1; off < TPP; off <<= 1)
#pragma unroll
                for (int g = 0; g < H; ++g) s[g] += rf_shfl_xor(s[g], off);
            if (sub == 0 && i < n_valid) {
#pragma unroll
                for (int g = 0; g < H; ++g) p_s[g][i] = s[g];
            }
            for (int j = n_valid + tid; j < T; j += kThreads) {  // the rest of the tile
                row_s[j] = -1;
#pragma unroll
                for (int g = 0; g < H; ++g) p_s[g][j] = -INFINITY;
            }
        } else {
            // Longer chunks: one position per thread (its row's loads 4 at a time), faster there
            // than the split layout in passes (32K context: 4066 vs 4204 us per 7b step).
            const int p = tile + tid;
            if (p < end) {
                const int64_t blk = bt[p / a.block_size];
                const int64_t row = (blk * a.n_kv_head + kvh) * a.block_size + p % a.block_size;
                row_s[tid] = row;
                float s[H];
#pragma unroll
                for (int g = 0; g < H; ++g) s[g] = 0.0f;
#pragma unroll 4
                for (int c = 0; c < D; c += 8) {
                    float kv[8];
                    load8<C>(a.k, row * D + c, kv);
#pragma unroll
                    for (int g = 0; g < H; ++g) {
                        if (g < nh) {
#pragma unroll
                            for (int e = 0; e < 8; ++e) s[g] += q_s[g][c + e] * kv[e];
                        }
                    }
                }
#pragma unroll
                for (int g = 0; g < H; ++g) p_s[g][tid] = s[g];
            } else {
                row_s[tid] = -1;
#pragma unroll
                for (int g = 0; g < H; ++g) p_s[g][tid] = -INFINITY;
            }
        }
        __syncthreads();

        // Online softmax: one warp per head.
        for (int g = warp; g < nh; g += NW) {
            float mx = -INFINITY;
            for (int i = lane; i < T; i += RF_WARP_SIZE) mx = fmaxf(mx, p_s[g][i]);
            mx = rf_warp_max(mx);
            const float m_old = m_s[g];
            const float m_new = fmaxf(m_old, mx);
            float sum = 0.0f;
            for (int i = lane; i < T; i += RF_WARP_SIZE) {
                const float e = __expf(p_s[g][i] - m_new);
                p_s[g][i] = e;
                sum += e;
            }
            sum = rf_warp_sum(sum);
            if (lane == 0) {
                const float corr = __expf(m_old - m_new);
                l_s[g] = l_s[g] * corr + sum;
                m_s[g] = m_new;
                corr_s[g] = corr;
            }
        }
        __syncthreads();

        // P.V: positions pg, pg + PGV, ... of the tile, 4 rows' 16-byte loads in flight.
#pragma unroll
        for (int g = 0; g < H; ++g) {
            const float corr = g < nh ? corr_s[g] : 0.0f;
#pragma unroll
            for (int e = 0; e < DV; ++e) acc[g][e] *= corr;
        }
        for (int i0 = pg; i0 < n_valid; i0 += 4 * PGV) {
            float vd[4][DV];
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int i = i0 + j * PGV;
                if (i < n_valid) load8<C>(a.v, row_s[i] * D + dim0, vd[j]);
            }
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int i = i0 + j * PGV;
                if (i < n_valid) {
#pragma unroll
                    for (int g = 0; g < H; ++g) {
                        if (g < nh) {
                            const float pr = p_s[g][i];
#pragma unroll
                            for (int e = 0; e < DV; ++e) acc[g][e] += pr * vd[j][e];
                        }
                    }
                }
            }
        }
        __syncthreads();
    }

    // Sum the position groups: inside the warp by shuffles, then over the warps in shared memory.
#pragma unroll
    for (int off = TPR; off < RF_WARP_SIZE; off <<= 1)
#pragma unroll
        for (int g = 0; g < H; ++g)
#pragma unroll
            for (int e = 0; e < DV; ++e) acc[g][e] += rf_shfl_xor(acc[g][e], off);
    if (lane < TPR) {
#pragma unroll
        for (int g = 0; g < H; ++g)
            if (g < nh)
#pragma unroll
                for (int e = 0; e < DV; ++e) red[warp][g][dim0 + e] = acc[g][e];
    }
    __syncthreads();

    // Whole warps take 32 consecutive dims of one head (D % 32 == 0, kThreads % 32 == 0).
    const bool split_k = a.n_splits > 1;
    for (int i = tid; i < nh * D; i += kThreads) {
        const int g = i / D, d = i % D;
        float v = 0.0f;
#pragma unroll
        for (int w = 0; w < NW; ++w) v += red[w][g][d];
        if (split_k) {
            a.partial_acc[(pidx0 + static_cast<size_t>(g) * a.n_splits) * D + d] = v;
        } else {
            const float o = v / l_s[g];
            const int64_t e = static_cast<int64_t>(h0 + g) * D + d;
            a.out[t * a.out_stride + e] = o;
            if (xq != nullptr) quantize_q8_1_warp(o, t * a.out_stride + e, xq, xds);
        }
    }
    if (split_k && tid < nh) a.partial_ml[pidx0 + static_cast<size_t>(tid) * a.n_splits] = make_float2(m_s[tid], l_s[tid]);
}

// Merges the chunks of one (token, head): out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s.
// One block of D threads per (head, token); with xq each warp also quantizes its 32 dims;
// with rope folded into the attention it writes the head's rotated q back. D is a template
// argument so that the chunks' partial sums are at constant offsets from one pointer (with a
// runtime head_dim every load's 64-bit address took ~10 instructions, constant reloads included).
template <int D>
__global__ void __launch_bounds__(D) attention_combine_kernel(const AttnArgs a, int8_t* xq, float2* xds) {
    RF_STEP_TRACE_SCOPE(Combine, a.n_splits);
    const int h = blockIdx.x, t = blockIdx.y;
    const int d = threadIdx.x;
    const TraceStamps trace(a.trace ? a.trace + static_cast<size_t>(kAttnTraceBlocks) * kAttnTraceWords : nullptr,
                            static_cast<int>(blockIdx.x + gridDim.x * blockIdx.y));
    trace.timer(0);
    trace.clock(1);
    __shared__ float cs_s[D / 2], sn_s[D / 2];
    const CombineHead<D> head(a, h, t, d);
    float* qh = head.qh;
    const float* pa_d = head.pa_d;   // chunk s's sum of this dim: pa_d[s * D]
    const float2* ml_h = head.ml_h;  // chunk s's (max, sum): ml_h[s]
    const int n_splits = a.n_splits;
    combine_angles(a, a.positions[t], d, D, cs_s, sn_s);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    trace.clock(2);
    trace.timer(7);
    // q's element and its rope partner loaded here, rotated after the partial sums' loads are
    // issued (one memory round trip for all of them)
    const float q_x = a.rope_fused ? qh[d] : 0.0f;
    const float q_p = a.rope_fused ? qh[rope_partner(d, a.rope.n_rot, a.rope.neox != 0)] : 0.0f;
    float o;
    if (n_splits <= kCombineRegSplits) {
        // Few chunks: every (max, sum) pair and this dim's sums in one memory round trip
        // (attention_combine.cuh); the same arithmetic as below.
        CombineChunks ch;
        ch.load<D>(ml_h, pa_d, n_splits);
        const float q_rotated =
            a.rope_fused ? rope_rotate_loaded(q_x, q_p, d, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s) : 0.0f;
        if (a.rope_fused) {
            __syncthreads();  // every read of q is done before the rotated q is written
            qh[d] = q_rotated;
        }
        const float M = ch.max();
        trace.clock_after(8, M + ch.pa[0]);
        o = ch.merge(M);
    } else {
        float num = 0.0f, den = 0.0f;
        __shared__ float w_s[kAttnMaxSplits], l_s[kAttnMaxSplits];
        for (int s = threadIdx.x; s < n_splits; s += D) {
            const float2 ml = ml_h[s];
            w_s[s] = ml.x;
            l_s[s] = ml.y;
        }
        __syncthreads();  // (also: every read of q is done before the rotated q is written)
        if (a.rope_fused) qh[d] = rope_rotate_loaded(q_x, q_p, d, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s);
        float M = -INFINITY;
        for (int s = 0; s < n_splits; ++s) M = fmaxf(M, w_s[s]);
        // chunk s's term, added in chunk order (pa unwritten for empty chunks)
        auto add = [&](int s, float pa) {
            const bool empty = w_s[s] == -INFINITY;
            const float w = empty ? 0.0f : __expf(w_s[s] - M);
            num += empty ? 0.0f : w * pa;
            den += empty ? 0.0f : w * l_s[s];
        };
        // 8 partial sums loaded together per round (a constant trip count: hipcc for gfx1100 could
        // not unroll `#pragma unroll 8` over the runtime count), then the rest one by one
        int s = 0;
        for (; s + 8 <= n_splits; s += 8) {
            float pa[8];
#pragma unroll
            for (int k = 0; k < 8; ++k) pa[k] = pa_d[(s + k) * D];
#pragma unroll
            for (int k = 0; k < 8; ++k) add(s + k, pa[k]);
        }
        for (; s < n_splits; ++s) add(s, pa_d[s * D]);
        o = num / den;
    }
    trace.clock(3);
    trace.clock(4);
    const int64_t e = static_cast<int64_t>(h) * D + d;  // element of the token's row
    a.out[t * a.out_stride + e] = o;
    if (xq != nullptr) quantize_q8_1_warp(o, t * a.out_stride + e, xq, xds);  // (D % 32 == 0)
    trace.clock(5);
    trace.timer(6);
}

__global__ void kv_store_kernel(void* kc, void* vc, int32_t codec, int32_t block_size, int32_t n_kv_head,
                                int32_t head_dim, const float* __restrict__ k, const float* __restrict__ v,
                                const int32_t* __restrict__ slots) {
    RF_STEP_TRACE_SCOPE(RopeKv, 2);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int64_t t = blockIdx.y;
    const int kv_dim = n_kv_head * head_dim;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= kv_dim) return;
    const int32_t slot = slots[t];
    const int64_t blk = slot / block_size, off = slot % block_size;
    const int h = e / head_dim, d = e % head_dim;
    const int64_t dst = ((blk * n_kv_head + h) * block_size + off) * head_dim + d;
    const float kval = k[t * kv_dim + e], vval = v[t * kv_dim + e];
    if (codec == static_cast<int32_t>(KvCodec::F16)) {
        static_cast<uint16_t*>(kc)[dst] = float_to_half_bits(kval);
        static_cast<uint16_t*>(vc)[dst] = float_to_half_bits(vval);
    } else {
        static_cast<float*>(kc)[dst] = kval;
        static_cast<float*>(vc)[dst] = vval;
    }
}

// Chunks up to this many positions take the split scores layout (one pass of head_dim / 32 threads
// per position).
constexpr int short_chunk_limit(int head_dim) { return kThreads * 32 / head_dim; }
static_assert(short_chunk_limit(64) == 64, "attention_short_chunk (attention.cuh) assumes 128 threads");

template <int D, bool ROPE, bool SHORT>
void launch_attention_rs(Launcher& l, const AttnArgs& a, KvCodec codec, int8_t* xq, float2* xds) {
    const dim3 grid(static_cast<unsigned>(a.n_splits), static_cast<unsigned>(a.n_kv_head * a.n_qsub),
                    static_cast<unsigned>(a.n_tok));
    if (codec == KvCodec::F16) l.launch(attention_kernel<D, KvCodec::F16, ROPE, SHORT>, grid, dim3(kThreads), 0, a, xq, xds);
    else l.launch(attention_kernel<D, KvCodec::F32, ROPE, SHORT>, grid, dim3(kThreads), 0, a, xq, xds);
}

template <int D, bool ROPE>
void launch_attention_rd(Launcher& l, const AttnArgs& a, KvCodec codec, int8_t* xq, float2* xds) {
    if (a.chunk <= short_chunk_limit(D)) launch_attention_rs<D, ROPE, true>(l, a, codec, xq, xds);
    else launch_attention_rs<D, ROPE, false>(l, a, codec, xq, xds);
}

template <int D>
void launch_attention_d(Launcher& l, const AttnArgs& a, KvCodec codec, int8_t* xq, float2* xds, const AttnProj* proj) {
    // with one split the attention kernel writes out (and its q8_1) itself
    const bool combine = a.n_splits > 1;
    int8_t* kq = combine ? nullptr : xq;
    float2* kds = combine ? nullptr : xds;
    if (a.mma) launch_attention_decode_mma(l, a, D);
    else if (a.rope_fused) launch_attention_rd<D, true>(l, a, codec, kq, kds);
    else launch_attention_rd<D, false>(l, a, codec, kq, kds);
    if (combine && proj != nullptr)
        launch_attention_combine_proj(l, a, D, *proj);
    else if (combine && a.combine_wide != 0 && a.n_splits > kCombineRegSplits)
        launch_attention_combine_wide(l, a, D, xq, xds);
    else if (combine)
        l.launch(attention_combine_kernel<D>, dim3(static_cast<unsigned>(a.n_head), static_cast<unsigned>(a.n_tok)),
                 dim3(D), 0, a, xq, xds);
}

}  // namespace

bool attention_supports_head_dim(int head_dim) { return head_dim == 64 || head_dim == 128 || head_dim == 256; }

bool attention_can_fuse_rope(int64_t n_tok, int n_qsub, int head_dim, int n_rot) {
    return n_tok == 1 && n_qsub == 1 && attention_supports_head_dim(head_dim) && n_rot > 0 && n_rot % 2 == 0 &&
           n_rot <= head_dim;
}

bool attention_proj_supported(int head_dim, int n_splits, int64_t n_tok, TensorType type, bool combine_wide) {
    const bool legacy = type == TensorType::Q4_0 || type == TensorType::Q4_1 || type == TensorType::Q5_0 ||
                        type == TensorType::Q5_1 || type == TensorType::Q8_0;
    return legacy && (head_dim == 64 || head_dim == 128) && n_tok == 1 && n_splits >= 2 &&
           (n_splits <= kCombineRegSplits || combine_wide);
}

void launch_attention(Launcher& l, const AttnArgs& a, int head_dim, KvCodec codec, int8_t* xq, float2* xds,
                      const AttnProj* proj) {
    if (a.n_splits < 1 || a.n_splits > kAttnMaxSplits)
        fail_message("gpu attention: " + std::to_string(a.n_splits) + " splits (1.." + std::to_string(kAttnMaxSplits) + ")");
    if (a.mma && !attention_mma_supported(head_dim, codec))
        fail_message("gpu attention: no matrix-unit decode kernel for head_dim " + std::to_string(head_dim) +
                     " with this KV codec in this build");
    if (a.rope_fused && !(attention_can_fuse_rope(a.n_tok, a.n_qsub, head_dim, a.rope.n_rot) && a.q_rot == a.q))
        fail_message("gpu attention: rope cannot be folded into this launch (one token, one q-head block per KV head)");
    if (proj != nullptr && !(attention_proj_supported(head_dim, a.n_splits, a.n_tok, proj->type, a.combine_wide != 0) &&
                             proj->w.cols == static_cast<int64_t>(a.n_head) * head_dim))
        fail_message("gpu attention: the output projection cannot be folded into this combine (head_dim " +
                     std::to_string(head_dim) + ", " + std::to_string(a.n_splits) + " splits, " + std::to_string(a.n_tok) +
                     " tokens, " + std::to_string(proj->w.cols) + " columns)");
    switch (head_dim) {
        case 64: launch_attention_d<64>(l, a, codec, xq, xds, proj); break;
        case 128: launch_attention_d<128>(l, a, codec, xq, xds, proj); break;
        case 256: launch_attention_d<256>(l, a, codec, xq, xds, proj); break;
        default: fail_message("gpu attention: head_dim " + std::to_string(head_dim) + " is not supported (64, 128, 256)");
    }
}

void launch_kv_store(Launcher& l, const KvLayerView& layer, const float* k, const float* v, const int32_t* slots,
                     int64_t n_tok) {
    const int kv_dim = layer.n_kv_head * layer.head_dim;
    l.launch(kv_store_kernel, dim3(ceil_div(kv_dim, 128), static_cast<unsigned>(n_tok)), dim3(128), 0, layer.k, layer.v,
             static_cast<int32_t>(layer.codec), layer.block_size, layer.n_kv_head, layer.head_dim, k, v, slots);
}

}  // namespace rf::gpu
