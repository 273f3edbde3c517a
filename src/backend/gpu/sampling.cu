#include "backend/gpu/sampling.cuh"

#include "backend/gpu/step_data_copy.cuh"

#include <cfloat>
#include <climits>
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

constexpr int kThreads = 1024;

__device__ __forceinline__ bool better(float va, int ia, float vb, int ib) { return va > vb || (va == vb && ia < ib); }

// The sum of the warps' partial sums v (each already reduced over its warp) in warp order, in
// thread 0 (other threads get 0): a barrier before dscratch ([warps]) is written, as an earlier
// call may still be reading it, and one after.
__device__ __forceinline__ double block_sum_at0(double v, double* dscratch) {
    __syncthreads();
    if (threadIdx.x % RF_WARP_SIZE == 0) dscratch[threadIdx.x / RF_WARP_SIZE] = v;
    __syncthreads();
    double t = 0.0;
    if (threadIdx.x == 0)
        for (int w = 0; w < static_cast<int>(blockDim.x / RF_WARP_SIZE); ++w) t += dscratch[w];
    return t;
}

// Sorts kSampleSeg (value, index) pairs in shared memory, best first.
__device__ void bitonic_sort(float* v, int* idx) {
    for (int k = 2; k <= kSampleSeg; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int p = threadIdx.x; p < kSampleSeg / 2; p += blockDim.x) {
                const int i = ((p & ~(j - 1)) << 1) | (p & (j - 1));
                const int ixj = i | j;
                const bool want_best_first = (i & k) == 0;
                const bool swap = want_best_first ? better(v[ixj], idx[ixj], v[i], idx[i]) : better(v[i], idx[i], v[ixj], idx[ixj]);
                if (swap) {
                    const float tv = v[i];
                    v[i] = v[ixj];
                    v[ixj] = tv;
                    const int ti = idx[i];
                    idx[i] = idx[ixj];
                    idx[ixj] = ti;
                }
            }
            __syncthreads();
        }
    }
}

__global__ void penalties_kernel(float* work, int64_t n, const int32_t* pairs, const SampleConsts c) {
    RF_STEP_TRACE_SCOPE(Sampling, 0);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= c.n_penalties) return;
    const int32_t tok = pairs[2 * i], count = pairs[2 * i + 1];
    if (tok < 0 || tok >= n) return;
    float l = work[tok];
    l = l > 0.0f ? l / c.repeat_penalty : l * c.repeat_penalty;
    l -= static_cast<float>(count) * c.frequency_penalty + c.presence_penalty;
    work[tok] = l;
}

// Stage 1: statistics of a slice of kSampleSeg logits, and (k_list > 0) its best k_list entries.
__global__ void __launch_bounds__(kThreads) sample_stage1_kernel(const float* __restrict__ raw, const float* __restrict__ work,
                                                                 int64_t n, int k_list, SampleStats* stats, float* out_v,
                                                                 int32_t* out_i) {
    RF_STEP_TRACE_SCOPE(Sampling, 1);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    __shared__ float v[kSampleSeg];
    __shared__ int idx[kSampleSeg];
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    __shared__ int iscratch[32];
    const int64_t base = static_cast<int64_t>(blockIdx.x) * kSampleSeg;
    float mr = -INFINITY, mw = -INFINITY;
    int am = INT_MAX;
    for (int k = threadIdx.x; k < kSampleSeg; k += blockDim.x) {
        const int64_t i = base + k;
        const bool in = i < n;
        const float r = in ? raw[i] : -INFINITY, w = in ? work[i] : -INFINITY;
        v[k] = w;
        idx[k] = in ? static_cast<int>(i) : INT_MAX;
        mr = fmaxf(mr, r);
        if (in && (w > mw || (w == mw && i < am))) {
            mw = w;
            am = static_cast<int>(i);
        }
    }
    mr = block_max(mr, fscratch);
    // argmax with lowest index on ties: max value first, then the smallest index holding it.
    const float bw = block_max(mw, fscratch);
    int cand = (mw == bw) ? am : INT_MAX;
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) cand = min(cand, rf_shfl_xor(cand, m));
    __syncthreads();
    if (threadIdx.x % RF_WARP_SIZE == 0) iscratch[threadIdx.x / RF_WARP_SIZE] = cand;
    __syncthreads();
    if (threadIdx.x < RF_WARP_SIZE) {
        int c = threadIdx.x < blockDim.x / RF_WARP_SIZE ? iscratch[threadIdx.x] : INT_MAX;
        for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) c = min(c, rf_shfl_xor(c, m));
        if (threadIdx.x == 0) iscratch[0] = c;
    }
    // sums of exp relative to the block maxima, in double; without penalties (work == raw) the
    // work sum is the raw one (the same terms in the same order): computed once
    const bool same = work == raw;
    double sr = 0.0, sw = 0.0;
    for (int k = threadIdx.x; k < kSampleSeg; k += blockDim.x) {
        const int64_t i = base + k;
        if (i < n) {
            sr += exp(static_cast<double>(raw[i]) - mr);
            if (!same) sw += exp(static_cast<double>(v[k]) - bw);
        }
    }
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) {
        sr += rf_shfl_xor(sr, m);
        sw += rf_shfl_xor(sw, m);
    }
    const double s_raw = block_sum_at0(sr, dscratch);
    if (threadIdx.x == 0) {
        stats[blockIdx.x].sum_raw = s_raw;
        stats[blockIdx.x].max_raw = mr;
        stats[blockIdx.x].max_work = bw;
        stats[blockIdx.x].argmax_work = iscratch[0];
        stats[blockIdx.x].pad = 0;
        if (same) stats[blockIdx.x].sum_work = s_raw;
    }
    if (!same) {  // (uniform over the block)
        const double s_work = block_sum_at0(sw, dscratch);
        if (threadIdx.x == 0) stats[blockIdx.x].sum_work = s_work;
    }
    if (k_list == 0) return;
    __syncthreads();
    bitonic_sort(v, idx);
    for (int k = threadIdx.x; k < k_list; k += blockDim.x) {
        out_v[static_cast<int64_t>(blockIdx.x) * k_list + k] = v[k];
        out_i[static_cast<int64_t>(blockIdx.x) * k_list + k] = idx[k];
    }
}

// Greedy stage 1 (no penalties, no candidate list), the same statistics as sample_stage1_kernel for
// work == raw: each thread holds kSampleSeg / kGreedyThreads logits in registers, the maximum and its
// lowest index come out of one reduction of packed (value, index) keys, and exp(x - max) is summed in
// f32 per thread (the blocks' sums are merged in f64 by the final kernel). Fewer barriers and no f64
// exponentials on the chain between the output matrix and the next step.
constexpr int kGreedyThreads = 256;

// An order-preserving key: a larger key is a larger value, then a smaller index.
__device__ __forceinline__ unsigned long long greedy_key(float v, int idx) {
    uint32_t u = __float_as_uint(v);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return (static_cast<unsigned long long>(u) << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(idx));
}
__device__ __forceinline__ float greedy_key_value(unsigned long long k) {
    uint32_t u = static_cast<uint32_t>(k >> 32);
    u = (u & 0x80000000u) ? (u & 0x7FFFFFFFu) : ~u;
    return __uint_as_float(u);
}

// (blockIdx.y: the row of a launch of several rows of n, each with gridDim.x statistics)
__global__ void __launch_bounds__(kGreedyThreads) sample_greedy_stage1_kernel(const float* __restrict__ raw, int64_t n,
                                                                              SampleStats* stats) {
    RF_STEP_TRACE_SCOPE(Sampling, 2);
    raw += static_cast<int64_t>(blockIdx.y) * n;
    stats += static_cast<int64_t>(blockIdx.y) * gridDim.x;
    constexpr int kPer = kSampleSeg / kGreedyThreads;
    __shared__ unsigned long long kscratch[kGreedyThreads / RF_WARP_SIZE];
    __shared__ float sscratch[kGreedyThreads / RF_WARP_SIZE];
    const int64_t base = static_cast<int64_t>(blockIdx.x) * kSampleSeg + threadIdx.x;
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    float v[kPer];
    float m = -INFINITY;
    int am = INT_MAX;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
        const int64_t i = base + static_cast<int64_t>(k) * kGreedyThreads;
        v[k] = i < n ? raw[i] : NAN;
    }
#pragma unroll
    for (int k = 0; k < kPer; ++k) {  // (NaN never compares: skipped, as in sample_stage1_kernel)
        const int64_t i = base + static_cast<int64_t>(k) * kGreedyThreads;
        if (i < n && (v[k] > m || (v[k] == m && i < am))) {
            m = v[k];
            am = static_cast<int>(i);
        }
    }
    unsigned long long key = greedy_key(m, am);
    for (int s = RF_WARP_SIZE / 2; s > 0; s >>= 1) {
        const unsigned long long o = rf_shfl_xor(key, s);
        key = o > key ? o : key;
    }
    const int lane = threadIdx.x % RF_WARP_SIZE, warp = threadIdx.x / RF_WARP_SIZE;
    if (lane == 0) kscratch[warp] = key;
    __syncthreads();
    key = kscratch[0];
#pragma unroll
    for (int w = 1; w < kGreedyThreads / RF_WARP_SIZE; ++w) key = kscratch[w] > key ? kscratch[w] : key;
    const float mx = greedy_key_value(key);
    const int idx = static_cast<int>(0xFFFFFFFFu - static_cast<uint32_t>(key));
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kPer; ++k) {
        const int64_t i = base + static_cast<int64_t>(k) * kGreedyThreads;
        if (i < n) sum += expf(v[k] - mx);  // (a NaN logit makes the sum NaN, as in sample_stage1_kernel)
    }
    sum = rf_warp_sum(sum);
    if (lane == 0) sscratch[warp] = sum;
    __syncthreads();
    if (threadIdx.x == 0) {
        double t = 0.0;
#pragma unroll
        for (int w = 0; w < kGreedyThreads / RF_WARP_SIZE; ++w) t += sscratch[w];
        SampleStats st;
        st.sum_raw = t;
        st.sum_work = t;
        st.max_raw = mx;
        st.max_work = mx;
        st.argmax_work = idx;
        st.pad = 0;
        stats[blockIdx.x] = st;
    }
}

// Merge round: each block sorts kSampleSeg / k_list lists of k_list and keeps the best k_list.
__global__ void __launch_bounds__(kThreads) sample_merge_kernel(const float* in_v, const int32_t* in_i, int64_t n_in,
                                                                int k_list, float* out_v, int32_t* out_i) {
    RF_STEP_TRACE_SCOPE(Sampling, 3);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    __shared__ float v[kSampleSeg];
    __shared__ int idx[kSampleSeg];
    const int64_t base = static_cast<int64_t>(blockIdx.x) * kSampleSeg;
    for (int k = threadIdx.x; k < kSampleSeg; k += blockDim.x) {
        const int64_t i = base + k;
        v[k] = i < n_in ? in_v[i] : -INFINITY;
        idx[k] = i < n_in ? in_i[i] : INT_MAX;
    }
    __syncthreads();
    bitonic_sort(v, idx);
    for (int k = threadIdx.x; k < k_list; k += blockDim.x) {
        out_v[static_cast<int64_t>(blockIdx.x) * k_list + k] = v[k];
        out_i[static_cast<int64_t>(blockIdx.x) * k_list + k] = idx[k];
    }
}

// The chain on the sorted candidates (one block per row: a launch of several rows takes greedy rows of
// n, block b row b with its n_stats statistics and result b; up and ring only with one row).
__global__ void sample_final_kernel(const float* __restrict__ raw, int64_t n, const SampleStats* stats, int n_stats,
                                    const float* cand_v, const int32_t* cand_i, int k_list, const SampleConsts c,
                                    SampleOut* dev_out, SampleOut* host_out, StepUpload up, SampleRing ring) {
    RF_STEP_TRACE_SCOPE(Sampling, 4);
    raw += static_cast<int64_t>(blockIdx.x) * n;
    stats += static_cast<int64_t>(blockIdx.x) * n_stats;
    dev_out += blockIdx.x;
    if (host_out != nullptr) host_out += blockIdx.x;
    uint64_t* host_word = nullptr;
    if (ring.counter != nullptr) {  // this step's slot and staging: the counter's parity (SampleRing)
        __shared__ int ring_parity;
        if (threadIdx.x == 0) {
            const int count = *ring.counter;
            ring_parity = count & 1;
            *ring.counter = count + 1;
        }
        __syncthreads();
        host_word = ring.host_word[ring_parity];
        host_out = nullptr;
        up.src = ring.src[ring_parity];
    }
    // The next decode step's data (fused upload, step_data_copy.cuh); token 0 is this chain's token.
    int32_t held[kStepCopyHeld];
    if (up.dst != nullptr) step_copy_load(up.src, up.n, threadIdx.x, blockDim.x, held);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    if (up.dst != nullptr) step_copy_store(up.dst, up.src, up.n, threadIdx.x, blockDim.x, held, false);
    __shared__ double probs[kSampleMaxK], weights[kSampleMaxK];
    __shared__ double M_raw, S_raw, M_work, S_work;
    __shared__ int argmax_work;
    __shared__ float fscratch[32];
    __shared__ double dscratch[32];
    __shared__ int iscratch[32];
    // Statistics of all stage-1 blocks, reduced by the whole block (not one thread).
    float mr = -INFINITY, mw = -INFINITY;
    int am = INT_MAX;
    for (int b = threadIdx.x; b < n_stats; b += blockDim.x) {
        mr = fmaxf(mr, stats[b].max_raw);
        if (stats[b].max_work > mw || (stats[b].max_work == mw && stats[b].argmax_work < am)) {
            mw = stats[b].max_work;
            am = stats[b].argmax_work;
        }
    }
    // (without penalties work is raw: one maximum; at temperature 0 the penalised sum is not used)
    const bool work_is_raw = c.n_penalties == 0;
    const float bmr = block_max(mr, fscratch);
    const float bmw = work_is_raw ? bmr : block_max(mw, fscratch);
    int cand = mw == bmw ? am : INT_MAX;
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) cand = min(cand, rf_shfl_xor(cand, m));
    __syncthreads();
    if (threadIdx.x % RF_WARP_SIZE == 0) iscratch[threadIdx.x / RF_WARP_SIZE] = cand;
    double sr = 0.0, sw = 0.0;
    for (int b = threadIdx.x; b < n_stats; b += blockDim.x) {
        sr += stats[b].sum_raw * exp(static_cast<double>(stats[b].max_raw) - bmr);
        if (stats[b].max_work != -INFINITY) sw += stats[b].sum_work * exp(static_cast<double>(stats[b].max_work) - bmw);
    }
    for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) {
        sr += rf_shfl_xor(sr, m);
        sw += rf_shfl_xor(sw, m);
    }
    const double t_raw = block_sum_at0(sr, dscratch);  // (its barriers also publish iscratch)
    if (threadIdx.x == 0) {
        int c = INT_MAX;
        for (int w = 0; w < static_cast<int>(blockDim.x / RF_WARP_SIZE); ++w) c = min(c, iscratch[w]);
        S_raw = t_raw;
        M_raw = bmr;
        M_work = bmw;
        argmax_work = c;
    }
    const double t_work = c.temperature > 0.0f ? block_sum_at0(sw, dscratch) : 0.0;  // (uniform)
    if (threadIdx.x == 0) S_work = t_work;
    __syncthreads();
    const int n_avail = static_cast<int>(k_list < n ? k_list : n);
    const double top = k_list > 0 ? static_cast<double>(cand_v[0]) : 0.0;
    for (int i = threadIdx.x; i < n_avail && k_list > 0; i += blockDim.x) {
        probs[i] = exp(static_cast<double>(cand_v[i]) - top);
        weights[i] = c.temperature > 0.0f ? exp((static_cast<double>(cand_v[i]) - top) / c.temperature) : 0.0;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;

    // The result goes to dev_out and (host_out) straight to the host's pinned memory.
    auto emit = [&](const SampleOut& r) {
        *dev_out = r;
        if (up.dst != nullptr) up.dst[0] = r.token;
        if (host_out != nullptr) *host_out = r;  // (the host reads it after the stream's event: no system fence)
        if (host_word != nullptr)  // one aligned 64-bit store (sample_word.h): no fence either
            *reinterpret_cast<volatile uint64_t*>(host_word) = sample_word_encode(r);
    };
    SampleOut r;
    int32_t chosen = argmax_work;
    if (chosen < 0 || chosen >= n) {  // no logit compared (every one NaN): a broken model output
        r.token = 0;                   // (a decode step fed this id on the device stays in bounds)
        r.fallback = 0;
        r.no_value = 1;
        r.logprob = NAN;
        emit(r);
        return;
    }
    int fallback = 0;
    if (c.temperature > 0.0f) {
        int64_t cnt = (c.top_k > 0 && c.top_k < n) ? c.top_k : n;  // candidates after top-k
        const bool truncated = cnt > n_avail;
        double sum = 0.0;
        if (truncated) {
            sum = S_work * exp(M_work - top);
        } else {
            for (int i = 0; i < cnt; ++i) sum += probs[i];
        }
        if (c.top_p < 1.0f) {
            double cum = 0.0;
            int64_t keep = -1;
            for (int i = 0; i < (truncated ? n_avail : cnt); ++i) {
                cum += probs[i] / sum;
                if (cum >= c.top_p) {
                    keep = i + 1;
                    break;
                }
            }
            if (keep > 0) cnt = keep;
            else if (truncated) fallback = 1;
        }
        if (!fallback && c.min_p > 0.0f) {
            int64_t keep = 1;
            while (keep < cnt && keep < n_avail && probs[keep] >= c.min_p * probs[0]) ++keep;
            if (keep == n_avail && cnt > n_avail) fallback = 1;
            cnt = keep;
        }
        if (!fallback && cnt > n_avail) fallback = 1;
        if (!fallback) {
            double total = 0.0;
            for (int i = 0; i < cnt; ++i) total += weights[i];
            double r = c.u * total;
            int64_t pick = cnt - 1;
            for (int i = 0; i < cnt; ++i) {
                const double w = weights[i];
                if (r < w) {
                    pick = i;
                    break;
                }
                r -= w;
            }
            chosen = cand_i[pick];
        }
    }
    r.token = fallback ? -1 : chosen;
    r.fallback = fallback;
    // (work is raw: the argmax's logit is the maximum, not read again)
    const double v_chosen = work_is_raw && chosen == argmax_work ? M_raw : static_cast<double>(raw[chosen]);
    r.logprob = fallback ? 0.0f : static_cast<float>(v_chosen - M_raw - log(S_raw));
    r.no_value = 0;
    emit(r);
}

}  // namespace

int64_t sample_stage1_blocks(int64_t n) { return (n + kSampleSeg - 1) / kSampleSeg; }

void launch_greedy_rows(Launcher& l, const float* raw, int64_t n, int64_t n_rows, const SampleConsts& c, SampleStats* stats,
                        SampleOut* out, SampleOut* host_out) {
    const int64_t n1 = sample_stage1_blocks(n);
    l.launch(sample_greedy_stage1_kernel, dim3(static_cast<unsigned>(n1), static_cast<unsigned>(n_rows)),
             dim3(kGreedyThreads), 0, raw, n, stats);
    l.launch(sample_final_kernel, dim3(static_cast<unsigned>(n_rows)), dim3(256), 0, raw, n, stats, static_cast<int>(n1),
             static_cast<const float*>(nullptr), static_cast<const int32_t*>(nullptr), 0, c, out, host_out,
             StepUpload{nullptr, nullptr, 0}, SampleRing{nullptr, {nullptr, nullptr}, {nullptr, nullptr}});
}

void launch_penalties(Launcher& l, float* work, int64_t n, const int32_t* pairs, const SampleConsts& c) {
    if (c.n_penalties == 0) return;
    l.launch(penalties_kernel, dim3(ceil_div(c.n_penalties, 128)), dim3(128), 0, work, n, pairs, c);
}

void launch_sample(Launcher& l, const float* raw, const float* work, int64_t n, const SampleConsts& c, int k_list,
                   SampleStats* stats, float* cand_val[2], int32_t* cand_idx[2], SampleOut* out, SampleOut* host_out,
                   bool fast_greedy, StepUpload up, SampleRing ring) {
    const int64_t n1 = sample_stage1_blocks(n);
    if (fast_greedy && k_list == 0 && work == raw)
        l.launch(sample_greedy_stage1_kernel, dim3(static_cast<unsigned>(n1)), dim3(kGreedyThreads), 0, raw, n, stats);
    else
        l.launch(sample_stage1_kernel, dim3(static_cast<unsigned>(n1)), dim3(kThreads), 0, raw, work, n, k_list, stats,
                 cand_val[0], cand_idx[0]);
    int cur = 0;
    int64_t lists = n1;
    if (k_list > 0) {
        while (lists > 1) {
            const int64_t n_in = lists * k_list;
            const int64_t blocks = (n_in + kSampleSeg - 1) / kSampleSeg;
            l.launch(sample_merge_kernel, dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, cand_val[cur],
                     cand_idx[cur], n_in, k_list, cand_val[1 - cur], cand_idx[1 - cur]);
            cur = 1 - cur;
            lists = blocks;
        }
    }
    l.launch(sample_final_kernel, dim3(1), dim3(256), 0, raw, n, stats, static_cast<int>(n1), cand_val[cur],
             cand_idx[cur], k_list, c, out, host_out, up, ring);
}

}  // namespace rf::gpu
