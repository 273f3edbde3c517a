#include "backend/gpu/attention.cuh"

#include <string>

namespace rf::gpu {
namespace {

constexpr int kThreads = 128;
constexpr int kMaxSplits = 256;

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

template <KvCodec C>
__device__ __forceinline__ float load1(const void* base, int64_t elem) {
    if constexpr (C == KvCodec::F16) return half_to_float(static_cast<const uint16_t*>(base)[elem]);
    else return static_cast<const float*>(base)[elem];
}

template <int D, KvCodec C>
__global__ void __launch_bounds__(kThreads) attention_kernel(const AttnArgs a) {
    RF_PDL_ENTRY();
    constexpr int H = kAttnMaxHeadsPerBlock;
    constexpr int T = kAttnTile;
    constexpr int DPT = D >= kThreads ? D / kThreads : 1;  // dims per thread (PV)
    constexpr int PG = D >= kThreads ? 1 : kThreads / D;   // position groups (PV)
    static_assert(PG <= 2, "head_dim >= 64");
    __shared__ float q_s[H][D];
    __shared__ float p_s[H][T];
    __shared__ int64_t row_s[T];
    __shared__ float m_s[H], l_s[H], corr_s[H];

    const int tid = threadIdx.x, lane = tid % RF_WARP_SIZE, warp = tid / RF_WARP_SIZE;
    const int n_warps = kThreads / RF_WARP_SIZE;
    const int t = blockIdx.z;
    const int kvh = blockIdx.y / a.n_qsub, qsub = blockIdx.y % a.n_qsub;
    const int split = blockIdx.x;
    const int h0 = kvh * a.group + qsub * H;
    const int nh = min(H, a.group - qsub * H);
    const int n_ctx = a.positions[t] + 1;
    const int begin = split * a.chunk;
    const int end = min(n_ctx, begin + a.chunk);
    const size_t pidx0 = (static_cast<size_t>(t) * a.n_head + h0) * a.n_splits + split;
    if (begin >= end) {  // this chunk is past the token's context
        if (tid < nh) a.partial_ml[pidx0 + static_cast<size_t>(tid) * a.n_splits] = make_float2(-INFINITY, 0.0f);
        return;
    }
    const int32_t* bt = a.block_tables + static_cast<int64_t>(a.token_seq[t]) * a.bt_stride;

    for (int i = tid; i < nh * D; i += kThreads) {
        const int g = i / D, d = i % D;
        q_s[g][d] = a.q[t * a.q_stride + static_cast<int64_t>(h0 + g) * D + d] * a.scale;
    }
    if (tid < H) {
        m_s[tid] = -INFINITY;
        l_s[tid] = 0.0f;
    }
    float acc[H][DPT];
#pragma unroll
    for (int g = 0; g < H; ++g)
#pragma unroll
        for (int k = 0; k < DPT; ++k) acc[g][k] = 0.0f;
    __syncthreads();

    const int pg = tid / (kThreads / PG);       // position group of this thread (PV)
    const int dim0 = tid % (kThreads / PG);     // first dim of this thread (PV)

    for (int tile = begin; tile < end; tile += T) {
        // Scores: one position per thread, all heads of the group.
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
        __syncthreads();

        // Online softmax: one warp per head.
        for (int g = warp; g < nh; g += n_warps) {
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

        // P.V: thread owns dims dim0 + k * (kThreads / PG), positions pg, pg + PG, ... of the tile;
        // 8 positions at a time so that their V loads are in flight together.
#pragma unroll
        for (int g = 0; g < H; ++g)
#pragma unroll
            for (int k = 0; k < DPT; ++k) acc[g][k] *= g < nh ? corr_s[g] : 0.0f;
        const int n_valid = min(T, end - tile);
        int i = pg;
        for (; i + 7 * PG < n_valid; i += 8 * PG) {
            float vd[8][DPT];
#pragma unroll
            for (int j = 0; j < 8; ++j)
#pragma unroll
                for (int k = 0; k < DPT; ++k) vd[j][k] = load1<C>(a.v, row_s[i + j * PG] * D + dim0 + k * (kThreads / PG));
#pragma unroll
            for (int j = 0; j < 8; ++j)
#pragma unroll
                for (int g = 0; g < H; ++g)
#pragma unroll
                    for (int k = 0; k < DPT; ++k) acc[g][k] += p_s[g][i + j * PG] * vd[j][k];
        }
        for (; i < n_valid; i += PG) {
#pragma unroll
            for (int k = 0; k < DPT; ++k) {
                const float vd = load1<C>(a.v, row_s[i] * D + dim0 + k * (kThreads / PG));
#pragma unroll
                for (int g = 0; g < H; ++g) acc[g][k] += p_s[g][i] * vd;
            }
        }
        __syncthreads();
    }

    if constexpr (PG > 1) {
        // Fold position group 1 into group 0 through q_s (free after the last tile).
        if (pg == 1)
#pragma unroll
            for (int g = 0; g < H; ++g) q_s[g][dim0] = acc[g][0];
        __syncthreads();
        if (pg == 1) return;
#pragma unroll
        for (int g = 0; g < H; ++g) acc[g][0] += q_s[g][dim0];
    }

    for (int g = 0; g < nh; ++g) {
#pragma unroll
        for (int k = 0; k < DPT; ++k) {
            const int d = dim0 + k * (kThreads / PG);
            if (a.n_splits == 1) {
                a.out[t * a.out_stride + static_cast<int64_t>(h0 + g) * D + d] = acc[g][k] / l_s[g];
            } else {
                a.partial_acc[(pidx0 + static_cast<size_t>(g) * a.n_splits) * D + d] = acc[g][k];
            }
        }
        if (a.n_splits > 1 && tid == 0) a.partial_ml[pidx0 + static_cast<size_t>(g) * a.n_splits] = make_float2(m_s[g], l_s[g]);
    }
}

// Merges the chunks of one (token, head): out = sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s.
// One block of head_dim threads per (head, token); with xq each warp also quantizes its 32 dims.
__global__ void attention_combine_kernel(const AttnArgs a, int head_dim, int8_t* xq, float2* xds) {
    RF_PDL_ENTRY();
    const int h = blockIdx.x, t = blockIdx.y;
    const int d = threadIdx.x;
    const size_t base = (static_cast<size_t>(t) * a.n_head + h) * a.n_splits;
    __shared__ float w_s[kMaxSplits], l_s[kMaxSplits];
    for (int s = threadIdx.x; s < a.n_splits; s += blockDim.x) {
        const float2 ml = a.partial_ml[base + s];
        w_s[s] = ml.x;
        l_s[s] = ml.y;
    }
    __syncthreads();
    float M = -INFINITY;
    for (int s = 0; s < a.n_splits; ++s) M = fmaxf(M, w_s[s]);
    float num = 0.0f, den = 0.0f;
#pragma unroll 8
    for (int s = 0; s < a.n_splits; ++s) {
        const float pa = a.partial_acc[(base + s) * head_dim + d];  // unwritten for empty chunks
        const bool empty = w_s[s] == -INFINITY;
        const float w = empty ? 0.0f : __expf(w_s[s] - M);
        num += empty ? 0.0f : w * pa;
        den += empty ? 0.0f : w * l_s[s];
    }
    const float o = num / den;
    const int64_t e = static_cast<int64_t>(h) * head_dim + d;  // element of the token's row
    a.out[t * a.out_stride + e] = o;
    if (xq != nullptr) {
        const int lane = threadIdx.x % RF_WARP_SIZE;
        const float amax = rf_warp_max(fabsf(o));
        const float dq = amax / 127.0f;
        const int q = amax == 0.0f ? 0 : __float2int_rn(o / dq);
        xq[t * a.out_stride + e] = static_cast<int8_t>(q);
        const int sum = rf_warp_sum_int(q);
        if (lane == 0) xds[(t * a.out_stride + e) / 32] = make_float2(dq, dq * static_cast<float>(sum));
    }
}

__global__ void kv_store_kernel(void* kc, void* vc, int32_t codec, int32_t block_size, int32_t n_kv_head,
                                int32_t head_dim, const float* __restrict__ k, const float* __restrict__ v,
                                const int32_t* __restrict__ slots) {
    RF_PDL_ENTRY();
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

template <int D>
void launch_attention_d(Launcher& l, const AttnArgs& a, KvCodec codec, int8_t* xq, float2* xds) {
    const dim3 grid(static_cast<unsigned>(a.n_splits), static_cast<unsigned>(a.n_kv_head * a.n_qsub),
                    static_cast<unsigned>(a.n_tok));
    if (codec == KvCodec::F16) l.launch(attention_kernel<D, KvCodec::F16>, grid, dim3(kThreads), 0, a);
    else l.launch(attention_kernel<D, KvCodec::F32>, grid, dim3(kThreads), 0, a);
    if (a.n_splits > 1)
        l.launch(attention_combine_kernel, dim3(static_cast<unsigned>(a.n_head), static_cast<unsigned>(a.n_tok)),
                 dim3(D), 0, a, D, xq, xds);
}

}  // namespace

bool attention_supports_head_dim(int head_dim) { return head_dim == 64 || head_dim == 128 || head_dim == 256; }

void launch_attention(Launcher& l, const AttnArgs& a, int head_dim, KvCodec codec, int8_t* xq, float2* xds) {
    switch (head_dim) {
        case 64: launch_attention_d<64>(l, a, codec, xq, xds); break;
        case 128: launch_attention_d<128>(l, a, codec, xq, xds); break;
        case 256: launch_attention_d<256>(l, a, codec, xq, xds); break;
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
