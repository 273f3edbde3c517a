// The split-K combine's pieces, shared by the combine kernels (attention.cu, attention_combine_wide.cu)
// and the combine + output projection kernel (attention_combine_proj.cu): a block's data and rope
// angles, the merge of few chunks by one thread per (head, dim), and of many by groups of threads.
#pragma once

#include "backend/gpu/attention.cuh"
#include "backend/gpu/rope_device.cuh"
#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

constexpr int kCombineRegSplits = 16;  // the combine holds up to this many chunks in registers

// Where a combine block of (head h, token t) finds dim d's data: q's head (rotated there with the rope
// folded in), chunk s's partial sum of the dim at pa_d[s * D], chunk s's (max, sum) at ml_h[s].
template <int D>
struct CombineHead {
    float* qh;
    const float* pa_d;
    const float2* ml_h;
    __device__ __forceinline__ CombineHead(const AttnArgs& a, int h, int t, int d) {
        qh = a.q_rot + t * a.q_stride + static_cast<int64_t>(h) * D;
        const size_t base = (static_cast<size_t>(t) * a.n_head + h) * a.n_splits;
        pa_d = a.partial_acc + base * D + d;
        ml_h = a.partial_ml + base;
    }
};

// With the rope folded into the attention: the angles of the token at `position` into cs / sn (n_rot / 2
// pairs), thread `tid` of `threads` taking every threads-th pair, then a barrier; nothing without it.
// From the step buffer: callers run it before the programmatic-dependent wait.
__device__ __forceinline__ void combine_angles(const AttnArgs& a, int position, int tid, int threads, float* cs, float* sn) {
    if (!a.rope_fused) return;  // (uniform over the block)
    for (int i = tid; i < a.rope.n_rot / 2; i += threads) rope_angle(a.rope, position, i, cs[i], sn[i]);
    __syncthreads();
}

// Every chunk's (max, sum) (the same addresses for the D threads of a head: one L1 line) and this
// dim's partial sum, loaded together: one memory round trip. Slots past n_splits hold an empty chunk
// ((-inf, 0), 0), so that the merge runs without a branch per chunk (each was a branch around its exp).
struct CombineChunks {
    float2 ml[kCombineRegSplits];
    float pa[kCombineRegSplits];

    // ml_h: chunk s's (max, sum) at ml_h[s]; pa_d: its partial sum of this dim at pa_d[s * D]
    template <int D>
    __device__ __forceinline__ void load(const float2* ml_h, const float* pa_d, int n_splits) {
#pragma unroll
        for (int s = 0; s < kCombineRegSplits; ++s) {
            ml[s] = s < n_splits ? ml_h[s] : make_float2(-INFINITY, 0.0f);
            pa[s] = s < n_splits ? pa_d[s * D] : 0.0f;  // unwritten for empty chunks
        }
    }
    __device__ __forceinline__ float max() const {
        float M = -INFINITY;
#pragma unroll
        for (int s = 0; s < kCombineRegSplits; ++s) M = fmaxf(M, ml[s].x);
        return M;
    }
    // sum_s e^(m_s - M) acc_s / sum_s e^(m_s - M) l_s
    __device__ __forceinline__ float merge(float M) const {
        float num = 0.0f, den = 0.0f;
#pragma unroll
        for (int s = 0; s < kCombineRegSplits; ++s) {
            const bool empty = ml[s].x == -INFINITY;
            const float w = __expf(ml[s].x - M);  // (NaN for an empty chunk when every chunk is: not used)
            num += empty ? 0.0f : w * pa[s];
            den += empty ? 0.0f : w * ml[s].y;
        }
        return num / den;
    }
};

// Many chunks (more than kCombineRegSplits) merged by G groups of D threads: thread (g, d) runs over
// chunks g, g + G, ... in rounds of kCombineRegSplits whose loads are all issued together (one memory
// round trip per round), keeping (max, sum, acc) of its chunks rescaled between rounds (run); the
// groups' results then meet in shared memory (GroupedChunks::merge, after a barrier).
struct ChunkRun {
    float M = -INFINITY, num = 0.0f, den = 0.0f;  // num, den relative to e^M; M -inf: no chunk yet
};

// ml_h: chunk s's (max, sum) at ml_h[s]; pa_d: its partial sum of this dim at pa_d[s * D]
template <int D, int G>
__device__ __forceinline__ ChunkRun run_chunks(const float2* ml_h, const float* pa_d, int n_splits, int g) {
    constexpr int R = kCombineRegSplits;
    ChunkRun r;
    for (int s0 = g; s0 < n_splits; s0 += G * R) {
        float2 ml[R];
        float pa[R];
#pragma unroll
        for (int k = 0; k < R; ++k) {
            const int s = s0 + k * G;
            ml[k] = s < n_splits ? ml_h[s] : make_float2(-INFINITY, 0.0f);
            pa[k] = s < n_splits ? pa_d[static_cast<int64_t>(s) * D] : 0.0f;  // (unwritten for empty chunks)
        }
        float Mr = r.M;
#pragma unroll
        for (int k = 0; k < R; ++k) Mr = fmaxf(Mr, ml[k].x);
        if (Mr == -INFINITY) continue;  // every chunk so far empty (uniform over the group)
        const float f = r.M == -INFINITY ? 0.0f : __expf(r.M - Mr);
        r.num *= f;
        r.den *= f;
#pragma unroll
        for (int k = 0; k < R; ++k) {
            const bool empty = ml[k].x == -INFINITY;
            const float w = __expf(ml[k].x - Mr);
            r.num += empty ? 0.0f : w * pa[k];
            r.den += empty ? 0.0f : w * ml[k].y;
        }
        r.M = Mr;
    }
    return r;
}

// The groups' runs in shared memory: put() by every thread (g, d), a barrier, then merge() by the
// threads of any one group: dim d's output.
template <int D, int G>
struct GroupedChunks {
    float acc[G][D];
    float m[G], l[G];

    __device__ __forceinline__ void put(const ChunkRun& r, int g, int d) {
        acc[g][d] = r.num;
        if (d == 0) {  // (max, sum) are the same for every dim of a group
            m[g] = r.M;
            l[g] = r.den;
        }
    }
    __device__ __forceinline__ float merge(int d) const {
        float M = -INFINITY;
#pragma unroll
        for (int j = 0; j < G; ++j) M = fmaxf(M, m[j]);
        float num = 0.0f, den = 0.0f;
#pragma unroll
        for (int j = 0; j < G; ++j) {
            const bool empty = m[j] == -INFINITY;
            const float w = __expf(m[j] - M);
            num += empty ? 0.0f : w * acc[j][d];
            den += empty ? 0.0f : w * l[j];
        }
        return num / den;
    }
};

}  // namespace rf::gpu
