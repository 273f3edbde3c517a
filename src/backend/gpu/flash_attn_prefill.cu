#include "backend/gpu/flash_attn_prefill.cuh"

#include <string>

#include "backend/gpu/gemm_mma.cuh"
#include "backend/gpu/kv_block_index.cuh"

namespace rf::gpu {
namespace {

constexpr int kBr = 64;  // query rows per block
constexpr int kThreads = 128;

template <int D, int BC>
struct FlashShape {
    static constexpr int LDS = D + 8;  // halfs per shared row (16-byte pad: conflict-free ldmatrix)
    static constexpr size_t q_elems = static_cast<size_t>(kBr) * LDS;
    static constexpr size_t kv_elems = static_cast<size_t>(BC) * LDS;  // one stage of K (or V)
    static constexpr size_t smem_bytes = (q_elems + 4 * kv_elems) * 2 + 2 * kBr * sizeof(int32_t);
};

// Copies (or converts) positions [k0, k0 + BC) of `seq`'s K and V rows into one stage; rows at
// or past kv_len are zero (never read from the pools). Thread t copies 16-byte column t % CPR of
// keys t / CPR, + kThreads / CPR, ... (a row's 16-byte pieces go to consecutive threads); the
// block-table lookup is a shift when the block size is a power of two.
template <int D, int BC, KvCodec C>
__device__ __forceinline__ void load_kv_tile(const FlashAttnArgs& a, const int32_t* bt, int kvh, int k0, int kv_len,
                                             uint16_t* sk, uint16_t* sv) {
    constexpr int LDS = D + 8;
    constexpr int CPR = D / 8;  // 16-byte chunks (8 halfs) per row
    constexpr int KEYS_PER_PASS = kThreads / CPR;
    const int c = (threadIdx.x % CPR) * 8;
    const KvBlockIndex bi(a.block_size, a.bs_shift);
#pragma unroll 4
    for (int key = threadIdx.x / CPR; key < BC; key += KEYS_PER_PASS) {
        const int p = k0 + key;
        uint16_t* dk = sk + key * LDS + c;
        uint16_t* dv = sv + key * LDS + c;
        if (p < kv_len) {
            const int64_t elem = ((static_cast<int64_t>(bt[bi.block(p)]) * a.n_kv_head + kvh) * a.block_size + bi.row(p)) * D + c;
            if constexpr (C == KvCodec::F16) {
                cp_async16(smem_addr(dk), static_cast<const uint16_t*>(a.k) + elem);
                cp_async16(smem_addr(dv), static_cast<const uint16_t*>(a.v) + elem);
            } else {
                const float4* pk = reinterpret_cast<const float4*>(static_cast<const float*>(a.k) + elem);
                const float4* pv = reinterpret_cast<const float4*>(static_cast<const float*>(a.v) + elem);
                const float4 k0v = pk[0], k1v = pk[1], v0v = pv[0], v1v = pv[1];
                *reinterpret_cast<uint4*>(dk) = make_uint4(pack2<false>(k0v.x, k0v.y), pack2<false>(k0v.z, k0v.w),
                                                           pack2<false>(k1v.x, k1v.y), pack2<false>(k1v.z, k1v.w));
                *reinterpret_cast<uint4*>(dv) = make_uint4(pack2<false>(v0v.x, v0v.y), pack2<false>(v0v.z, v0v.w),
                                                           pack2<false>(v1v.x, v1v.y), pack2<false>(v1v.z, v1v.w));
            }
        } else {
            *reinterpret_cast<uint4*>(dk) = make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4*>(dv) = make_uint4(0, 0, 0, 0);
        }
    }
}

template <int D, int BC, KvCodec C>
__global__ void __launch_bounds__(kThreads) flash_attn_prefill_kernel(const FlashAttnArgs a) {
    RF_PDL_ENTRY();
#if RF_DEVICE_MMA
    using S = FlashShape<D, BC>;
    constexpr int LDS = S::LDS;
    constexpr bool Q_REGS = D <= 128;
    constexpr int KQ = D / 16;   // k steps of S = Q K^T
    constexpr int NS = BC / 8;   // n tiles of S
    constexpr int NO = D / 8;    // n tiles of O
    extern __shared__ __align__(16) uint8_t smem_raw[];
    uint16_t* s_q = reinterpret_cast<uint16_t*>(smem_raw);
    uint16_t* s_k = s_q + S::q_elems;           // [2][BC][LDS]
    uint16_t* s_v = s_k + 2 * S::kv_elems;      // [2][BC][LDS]
    int32_t* s_pos = reinterpret_cast<int32_t*>(s_v + 2 * S::kv_elems);
    int32_t* s_seq = s_pos + kBr;

    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int g = lane / 4, c = lane % 4;
    const int tile = static_cast<int>(gridDim.x - 1 - blockIdx.x);  // longest contexts first
    const int t0 = tile * kBr;
    const int h = blockIdx.y, kvh = h / a.group;

    if (tid < kBr) {
        const int t = t0 + tid;
        const bool ok = t < a.n_tok;
        s_pos[tid] = ok ? a.positions[t] : -1;
        s_seq[tid] = ok ? a.token_seq[t] : -1;
    }
    for (int i = tid; i < kBr * (D / 8); i += kThreads) {
        const int r = i / (D / 8), cc = (i % (D / 8)) * 8;
        const int t = t0 + r;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (t < a.n_tok) {
            const float4* p = reinterpret_cast<const float4*>(a.q + t * a.q_stride + static_cast<int64_t>(h) * D + cc);
            const float4 x0 = p[0], x1 = p[1];
            const float sc = a.scale_log2;
            v = make_uint4(pack2<false>(x0.x * sc, x0.y * sc), pack2<false>(x0.z * sc, x0.w * sc),
                           pack2<false>(x1.x * sc, x1.y * sc), pack2<false>(x1.z * sc, x1.w * sc));
        }
        *reinterpret_cast<uint4*>(s_q + r * LDS + cc) = v;
    }
    __syncthreads();

    const int wr0 = warp * 16;          // first row of this warp
    const int r_lo = wr0 + g, r_hi = r_lo + 8;
    uint32_t qf[Q_REGS ? KQ : 1][4];
    if constexpr (Q_REGS) {
#pragma unroll
        for (int kk = 0; kk < KQ; ++kk) ldmatrix_x4(qf[kk], smem_addr(s_q + (wr0 + lane % 16) * LDS + kk * 16 + (lane / 16) * 8));
    }
    float o[NO][4];
#pragma unroll
    for (int n = 0; n < NO; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.0f, l_hi = 0.0f;
    const int pos_lo = s_pos[r_lo], pos_hi = s_pos[r_hi];
    const int seq_lo = s_seq[r_lo], seq_hi = s_seq[r_hi];

    // Runs of rows with the same sequence (uniform across the block).
    int ra = 0;
    while (ra < kBr && s_seq[ra] >= 0) {
        const int seq = s_seq[ra];
        int rb = ra, max_pos = -1;
        while (rb < kBr && s_seq[rb] == seq) {
            max_pos = max(max_pos, s_pos[rb]);
            ++rb;
        }
        const int kv_len = max_pos + 1;
        const int32_t* bt = a.block_tables + static_cast<int64_t>(seq) * a.bt_stride;
        const bool in_lo = seq_lo == seq && r_lo >= ra && r_lo < rb;
        const bool in_hi = seq_hi == seq && r_hi >= ra && r_hi < rb;
        // The warp's causal reach and whether all its rows take part (then tiles below every
        // row's position need no mask).
        int reach = max(in_lo ? pos_lo : -1, in_hi ? pos_hi : -1);
        int floor_pos = min(in_lo ? pos_lo : INT32_MAX, in_hi ? pos_hi : INT32_MAX);
#pragma unroll
        for (int m = 16; m > 0; m >>= 1) {
            reach = max(reach, rf_shfl_xor(reach, m));
            floor_pos = min(floor_pos, rf_shfl_xor(floor_pos, m));
        }
        const bool warp_all_in = __all_sync(0xffffffffu, in_lo && in_hi);

        const int n_tiles = (kv_len + BC - 1) / BC;
        load_kv_tile<D, BC, C>(a, bt, kvh, 0, kv_len, s_k, s_v);
        cp_async_commit();
        for (int j = 0; j < n_tiles; ++j) {
            const int stage = j & 1;
            if (j + 1 < n_tiles) {
                load_kv_tile<D, BC, C>(a, bt, kvh, (j + 1) * BC, kv_len, s_k + (stage ^ 1) * S::kv_elems,
                                       s_v + (stage ^ 1) * S::kv_elems);
                cp_async_commit();
                cp_async_wait<1>();
            } else {
                cp_async_wait<0>();
            }
            __syncthreads();
            const int k0 = j * BC;
            if (reach >= k0) {
                const uint16_t* sk = s_k + stage * S::kv_elems;
                const uint16_t* sv = s_v + stage * S::kv_elems;
                float s[NS][4];
#pragma unroll
                for (int n = 0; n < NS; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
#pragma unroll
                for (int kk = 0; kk < KQ; ++kk) {
                    uint32_t af[4];
                    if constexpr (Q_REGS) {
#pragma unroll
                        for (int e = 0; e < 4; ++e) af[e] = qf[kk][e];
                    } else {
                        ldmatrix_x4(af, smem_addr(s_q + (wr0 + lane % 16) * LDS + kk * 16 + (lane / 16) * 8));
                    }
#pragma unroll
                    for (int n = 0; n < NS; n += 2) {
                        uint32_t b[4];
                        ldmatrix_x4(b, smem_addr(sk + (n * 8 + lane % 8 + (lane / 16) * 8) * LDS + kk * 16 + ((lane / 8) % 2) * 8));
                        mma_16816<false>(s[n], af, b);
                        mma_16816<false>(s[n + 1], af, b + 2);
                    }
                }
                // Mask: other sequences' rows, positions past the row's own.
                const bool need_mask = !warp_all_in || k0 + BC - 1 > floor_pos;
                if (need_mask) {
#pragma unroll
                    for (int n = 0; n < NS; ++n)
#pragma unroll
                        for (int e = 0; e < 4; ++e) {
                            const int key = k0 + n * 8 + 2 * c + (e & 1);
                            const bool ok = e < 2 ? (in_lo && key <= pos_lo) : (in_hi && key <= pos_hi);
                            if (!ok) s[n][e] = -INFINITY;
                        }
                }
                // Online softmax (base 2): rows lo (e = 0, 1) and hi (e = 2, 3).
                uint32_t pf[NS / 2][4];
                flash_softmax_step(s, m_lo, m_hi, l_lo, l_hi, o, pf);
                // O += P V: A = P (16 x BC, from the S fragments), B = V (BC x D) via ldmatrix.trans.
#pragma unroll
                for (int kk = 0; kk < BC / 16; ++kk) {
                    // pf[kk] = {lo k 2c, hi k 2c, lo k 2c+8, hi k 2c+8} = the A fragment
#pragma unroll
                    for (int n = 0; n < NO; n += 2) {
                        uint32_t b[4];
                        ldmatrix_x4_trans(b, smem_addr(sv + (kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * LDS + n * 8 + (lane / 16) * 8));
                        mma_16816<false>(o[n], pf[kk], b);
                        mma_16816<false>(o[n + 1], pf[kk], b + 2);
                    }
                }
            }
            __syncthreads();  // the stage is refilled next iteration
        }
        ra = rb;
    }

#pragma unroll
    for (int m = 1; m <= 2; m <<= 1) {
        l_lo += rf_shfl_xor(l_lo, m);
        l_hi += rf_shfl_xor(l_hi, m);
    }
    const float inv_lo = l_lo > 0.0f ? 1.0f / l_lo : 0.0f, inv_hi = l_hi > 0.0f ? 1.0f / l_hi : 0.0f;
    const int t_lo = t0 + r_lo, t_hi = t0 + r_hi;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
        const int64_t d = static_cast<int64_t>(h) * D + n * 8 + 2 * c;
        if (t_lo < a.n_tok)
            *reinterpret_cast<float2*>(a.out + t_lo * a.out_stride + d) = make_float2(o[n][0] * inv_lo, o[n][1] * inv_lo);
        if (t_hi < a.n_tok)
            *reinterpret_cast<float2*>(a.out + t_hi * a.out_stride + d) = make_float2(o[n][2] * inv_hi, o[n][3] * inv_hi);
    }
#else
    (void)a;
#endif
}

template <int D, int BC, KvCodec C>
void launch_d(Launcher& l, const FlashAttnArgs& a) {
    const dim3 grid(ceil_div(a.n_tok, kBr), static_cast<unsigned>(a.n_head));
    l.launch_large_smem(flash_attn_prefill_kernel<D, BC, C>, grid, dim3(kThreads), FlashShape<D, BC>::smem_bytes, a);
}

template <int D, int BC>
void launch_codec(Launcher& l, const FlashAttnArgs& a, KvCodec codec) {
    if (codec == KvCodec::F16) launch_d<D, BC, KvCodec::F16>(l, a);
    else launch_d<D, BC, KvCodec::F32>(l, a);
}

}  // namespace

bool flash_attn_supported(int head_dim) {
#if defined(ROCMFORGE_WITH_HIP)
    (void)head_dim;
    return false;
#else
    return head_dim == 64 || head_dim == 128 || head_dim == 256;
#endif
}

void launch_flash_attn_prefill(Launcher& l, const FlashAttnArgs& a, int head_dim, KvCodec codec) {
    if (!flash_attn_supported(head_dim))
        fail_message("gpu flash attention: head_dim " + std::to_string(head_dim) + " is not supported in this build");
    switch (head_dim) {
        case 64: launch_codec<64, 64>(l, a, codec); break;
        case 128: launch_codec<128, 64>(l, a, codec); break;
        case 256: launch_codec<256, 32>(l, a, codec); break;
        default: break;
    }
}

}  // namespace rf::gpu
