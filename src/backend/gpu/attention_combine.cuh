// The split-K combine's merge of few chunks, shared by the combine kernel (attention.cu) and the
// combine + output projection kernel (attention_combine_proj.cu): one thread per (head, dim).
#pragma once

#include "backend/gpu/attention.cuh"
#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

constexpr int kCombineRegSplits = 16;  // the combine holds up to this many chunks in registers

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

}  // namespace rf::gpu
