// Device pieces shared by the two decode attention kernels (attention.cu: FMA, attention_decode_mma.cu:
// matrix units): a block's coordinates, the KV-cache element store and the folded rope + KV store
// of the step's token.
#pragma once

#include "backend/gpu/attention.cuh"
#include "backend/gpu/rope_device.cuh"

namespace rf::gpu {

// Profiling stamps (AttnTrace, attention.cuh): thread 0 of a block whose record exists writes
// word k; NVIDIA only (the global timer); a no-op elsewhere or without a trace buffer.
struct TraceStamps {
    unsigned long long* rec = nullptr;
    __device__ __forceinline__ TraceStamps(unsigned long long* launch, int block) {
        if (launch != nullptr && block < kAttnTraceBlocks && threadIdx.x == 0) rec = launch + block * kAttnTraceWords;
    }
    __device__ __forceinline__ void clock(int k) const {
#if !defined(ROCMFORGE_WITH_HIP)
        if (rec) rec[k] = static_cast<unsigned long long>(clock64());
#else
        (void)k;
#endif
    }
    // SM clock once v has been computed (so after the loads it depends on have landed)
    __device__ __forceinline__ void clock_after(int k, float v) const {
#if !defined(ROCMFORGE_WITH_HIP)
        asm volatile("" ::"f"(v));
        if (rec) rec[k] = static_cast<unsigned long long>(clock64());
#else
        (void)k;
        (void)v;
#endif
    }
    __device__ __forceinline__ void timer(int k) const {
#if !defined(ROCMFORGE_WITH_HIP)
        if (rec) {
            unsigned long long t;
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
            rec[k] = t;
        }
#else
        (void)k;
#endif
    }
};

// What block (split, KV head x q-head group, token) of a decode attention launch works on.
struct DecodeBlock {
    int t;        // token of the step
    int kvh;      // KV head
    int split;    // chunk index
    int h0, nh;   // its q heads: h0 .. h0 + nh - 1 (nh <= kAttnMaxHeadsPerBlock)
    int n_ctx;    // the token's context length (position + 1)
    int begin, end;  // its positions [begin, end) (empty past the context)
    const int32_t* bt;  // the token's sequence's block table
};

__device__ __forceinline__ DecodeBlock decode_block(const AttnArgs& a) {
    DecodeBlock b;
    b.t = blockIdx.z;
    b.kvh = blockIdx.y / a.n_qsub;
    const int qsub = blockIdx.y % a.n_qsub;
    b.split = blockIdx.x;
    b.h0 = b.kvh * a.group + qsub * kAttnMaxHeadsPerBlock;
    b.nh = min(kAttnMaxHeadsPerBlock, a.group - qsub * kAttnMaxHeadsPerBlock);
    b.n_ctx = a.positions[b.t] + 1;
    b.begin = b.split * a.chunk;
    b.end = min(b.n_ctx, b.begin + a.chunk);
    b.bt = a.block_tables + static_cast<int64_t>(a.token_seq[b.t]) * a.bt_stride;
    return b;
}

template <KvCodec C>
__device__ __forceinline__ void store_kv(const void* cache, int64_t elem, float v) {
    if constexpr (C == KvCodec::F16) static_cast<uint16_t*>(const_cast<void*>(cache))[elem] = float_to_half_bits(v);
    else static_cast<float*>(const_cast<void*>(cache))[elem] = v;
}

// Rope folded into the decode attention (AttnArgs::rope_fused): the block whose chunk [begin, end)
// holds the token's position (n_ctx - 1, holds()) rotates the token's k of KV head kvh (written
// back in place) and stores k and v into the token's slot, before any of its tiles read them.
// ::load issues the loads (the token's k, its rope partners and v) before the caller's other
// loads are used, so that they share one memory round trip; ::store rotates and stores.
template <int D, int THREADS>
struct TokenKvLoads {
    static constexpr int KPT = (D + THREADS - 1) / THREADS;
    float kr[KPT], kp[KPT], vr[KPT];
    int32_t slot = 0;  // the token's KV slot (loaded with k and v: one round trip)
    bool active = false;

    static __device__ __forceinline__ bool holds(int n_ctx, int begin, int end) { return begin <= n_ctx - 1 && n_ctx - 1 < end; }

    __device__ __forceinline__ void load(const AttnArgs& a, int t, int kvh, int n_ctx, int begin, int end) {
        active = holds(n_ctx, begin, end);
        if (!active) return;
        slot = a.slots[t];
        const int tid = static_cast<int>(threadIdx.x);
        const float* kh = a.k_new + static_cast<int64_t>(kvh) * D;
        const float* vh = a.v_new + static_cast<int64_t>(kvh) * D;
#pragma unroll
        for (int k = 0; k < KPT; ++k) {
            const int d = tid + k * THREADS;
            if (d < D) {
                kr[k] = kh[d];
                kp[k] = kh[rope_partner(d, a.rope.n_rot, a.rope.neox != 0)];
                vr[k] = vh[d];
            }
        }
    }

    // Rotates k, writes it back in place and stores k and v into the token's slot (and into the
    // shared-memory tile rows sk_row / sv_row when given, f16 only). Called by the whole block
    // (a barrier inside when active, which is uniform over the block).
    template <KvCodec C>
    __device__ __forceinline__ void store(const AttnArgs& a, int kvh, const float* cs, const float* sn,
                                          uint16_t* sk_row = nullptr, uint16_t* sv_row = nullptr) {
        if (!active) return;
        const int tid = static_cast<int>(threadIdx.x);
        float* kh = a.k_new + static_cast<int64_t>(kvh) * D;
#pragma unroll
        for (int k = 0; k < KPT; ++k) {
            const int d = tid + k * THREADS;
            if (d < D) kr[k] = rope_rotate_loaded(kr[k], kp[k], d, a.rope.n_rot, a.rope.neox != 0, cs, sn);
        }
        __syncthreads();  // every read of k is done before it is overwritten
        const int64_t row = (static_cast<int64_t>(slot / a.block_size) * a.n_kv_head + kvh) * a.block_size + slot % a.block_size;
#pragma unroll
        for (int k = 0; k < KPT; ++k) {
            const int d = tid + k * THREADS;
            if (d < D) {
                const float v = vr[k];
                kh[d] = kr[k];
                store_kv<C>(a.k, row * D + d, kr[k]);
                store_kv<C>(a.v, row * D + d, v);
                if constexpr (C == KvCodec::F16) {
                    if (sk_row) {
                        sk_row[d] = float_to_half_bits(kr[k]);
                        sv_row[d] = float_to_half_bits(v);
                    }
                }
            }
        }
    }
};

}  // namespace rf::gpu
