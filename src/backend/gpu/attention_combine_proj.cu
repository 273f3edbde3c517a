// The split-K combine with the output projection folded in (one token; gpu_emit.cpp's deferred
// output projection): block (h, s) merges head h's chunks as the combine kernel does, quantizes the
// head's output to q8_1 in shared memory, and adds w[r, h * D .. (h + 1) * D) . out_h for its slice of
// rows r into the fixed-point accumulator (residual_acc.cuh); the output projection needs no launch
// and no round trip of its input. Slice 0's block writes out_h (f32) and, with the rope folded into
// the attention, the head's rotated q, as the combine kernel does.
//
// Thread t of a block of N threads holds kProjHeld (row, unit) pairs of the slice, loaded before the
// programmatic-dependent wait: pair p = s * N * kProjHeld + k * N + t is row p / (D / 32), unit
// p % (D / 32) of the head's D / 32 units (a row's units on consecutive lanes, summed by shuffles).
// Threads t < D also merge dim t; more than kCombineRegSplits chunks (long contexts) are merged by
// every thread of a block of 4 D threads in 4 groups (attention_combine.cuh: run_chunks).
#include <string>

#include "backend/gpu/attention.cuh"
#include "backend/gpu/attention_combine.cuh"
#include "backend/gpu/matvec_kernel.cuh"
#include "backend/gpu/residual_acc.cuh"
#include "backend/gpu/rope_device.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

constexpr int kProjThreads = 128;  // threads of a block (the few-chunk instances)
constexpr int kProjHeld = 2;

// MANY: more than kCombineRegSplits chunks, merged by 4 groups of D threads (an instance of its own,
// with blocks of 4 D threads: the grouped merge's registers, 85-89 against 72-80, are not paid at
// short contexts, and the 0.5b's 64 chunks at 8K are one round of loads per thread, 128 at 32K two).
constexpr int proj_threads(int d, bool many) { return many ? 4 * d : kProjThreads; }

template <int D, TensorType T, bool MANY>
__global__ void __launch_bounds__(proj_threads(D, MANY)) attention_combine_proj_kernel(const AttnArgs a, const AttnProj p) {
    RF_STEP_TRACE_SCOPE(CombineProj, p.w.rows);
    using P = QuantPolicy<T>;
    constexpr int kThreads = proj_threads(D, MANY);
    constexpr int kPairs = kThreads * kProjHeld;  // (row, unit) pairs of a block
    constexpr int UPH = D / 32;  // units of a row in one head's columns
    static_assert(kThreads % UPH == 0 && D <= kThreads && D % 32 == 0, "whole rows per warp, one dim per thread");
    const int h = blockIdx.x, slice = blockIdx.y, tid = threadIdx.x;
    __shared__ float cs_s[D / 2], sn_s[D / 2];
    __shared__ __align__(16) int8_t xs_q[D];
    __shared__ float2 xs_ds[D / 32];

    // the slice's weights: before the wait (they never depend on an earlier kernel)
    const int u = tid % UPH;
    int row[kProjHeld];
    typename P::W w[kProjHeld];
#pragma unroll
    for (int k = 0; k < kProjHeld; ++k) {
        row[k] = (slice * kPairs + k * kThreads + tid) / UPH;
        if (row[k] < p.w.rows) w[k] = P::load(P::row(p.w, row[k]), h * UPH + u);
    }
    const bool rope = a.rope_fused != 0 && slice == 0;
    if (rope) {  // angles from the step buffer, before the wait (uniform over the block)
        for (int i = tid; i < a.rope.n_rot / 2; i += kThreads) rope_angle(a.rope, a.positions[0], i, cs_s[i], sn_s[i]);
        __syncthreads();
    }
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();

    const bool merger = tid < D;
    float* qh = a.q_rot + static_cast<int64_t>(h) * D;
    const size_t base = static_cast<size_t>(h) * a.n_splits;
    // more than kCombineRegSplits chunks (long contexts): every thread of the block merges, in G groups
    constexpr int G = kThreads / D;
    __shared__ GroupedChunks<D, MANY ? G : 1> grouped;
    CombineChunks ch;
    float q_x = 0.0f, q_p = 0.0f;
    if (merger) {
        // q's element and its partner loaded with the chunks (one round trip), rotated after
        if (rope) {
            q_x = qh[tid];
            q_p = qh[rope_partner(tid, a.rope.n_rot, a.rope.neox != 0)];
        }
        if constexpr (!MANY) ch.load<D>(a.partial_ml + base, a.partial_acc + base * D + tid, a.n_splits);
    }
    if constexpr (MANY) grouped.put(run_chunks<D, G>(a.partial_ml + base, a.partial_acc + base * D + tid % D, a.n_splits, tid / D), tid / D, tid % D);
    const float q_rotated = rope && merger ? rope_rotate_loaded(q_x, q_p, tid, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s) : 0.0f;
    if (rope || MANY) __syncthreads();  // every read of q is done before the rotated q is written; the groups' runs
    if (merger) {
        if (rope) qh[tid] = q_rotated;
        float o;
        if constexpr (MANY) o = grouped.merge(tid);
        else o = ch.merge(ch.max());
        if (slice == 0) a.out[static_cast<int64_t>(h) * D + tid] = o;
        quantize_q8_1_warp(o, tid, xs_q, xs_ds);  // (threads [0, D) are whole warps)
    }
    __syncthreads();
    RF_STEP_TRACE_MARK(0);  // chunks merged, the head's output quantized

    const typename P::X x{xs_q, xs_ds};
#pragma unroll
    for (int k = 0; k < kProjHeld; ++k) {
        float s = row[k] < p.w.rows ? P::dot(w[k], x, u) : 0.0f;
#pragma unroll
        for (int m = 1; m < UPH; m <<= 1) s += rf_shfl_xor(s, m);
        if (u == 0 && row[k] < p.w.rows) res_acc_add(p.acc + row[k], s);
    }
}

template <int D, TensorType T>
void launch_dt(Launcher& l, const AttnArgs& a, const AttnProj& p) {
    const int64_t pairs = p.w.rows * (D / 32);
    auto go = [&](auto kernel, int threads) {
        const dim3 grid(static_cast<unsigned>(a.n_head), static_cast<unsigned>(ceil_div(pairs, int64_t{threads} * kProjHeld)));
        l.launch(kernel, grid, dim3(static_cast<unsigned>(threads)), 0, a, p);
    };
    if (a.n_splits > kCombineRegSplits) go(attention_combine_proj_kernel<D, T, true>, proj_threads(D, true));
    else go(attention_combine_proj_kernel<D, T, false>, proj_threads(D, false));
}

template <int D>
void launch_d(Launcher& l, const AttnArgs& a, const AttnProj& p) {
    switch (p.type) {
        case TensorType::Q4_0: launch_dt<D, TensorType::Q4_0>(l, a, p); break;
        case TensorType::Q4_1: launch_dt<D, TensorType::Q4_1>(l, a, p); break;
        case TensorType::Q5_0: launch_dt<D, TensorType::Q5_0>(l, a, p); break;
        case TensorType::Q5_1: launch_dt<D, TensorType::Q5_1>(l, a, p); break;
        case TensorType::Q8_0: launch_dt<D, TensorType::Q8_0>(l, a, p); break;
        default: fail_message(std::string("gpu attention: no combine + output projection for ") + type_name(p.type));
    }
}

}  // namespace

void launch_attention_combine_proj(Launcher& l, const AttnArgs& a, int head_dim, const AttnProj& p) {
    switch (head_dim) {
        case 64: launch_d<64>(l, a, p); break;
        case 128: launch_d<128>(l, a, p); break;
        default: fail_message("gpu attention: no combine + output projection for head_dim " + std::to_string(head_dim));
    }
}

}  // namespace rf::gpu
