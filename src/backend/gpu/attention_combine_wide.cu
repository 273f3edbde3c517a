// The split-K combine for many chunks (long contexts: more than kCombineRegSplits chunks per head;
// AttnArgs::combine_wide): one block of D x G threads per (head, token). Thread (g, d) merges dim d of
// the chunks g, g + G, g + 2G, ... in rounds of kCombineRegSplits chunks whose loads are all issued
// together (one memory round trip per round: the 7b's 64 chunks at 8K-32K are one round, the 0.5b's
// 128 at 32K too), keeping a running (max, sum, acc) rescaled between rounds; then group 0 merges
// the G groups' (max, sum, acc) from shared memory and writes the output (its q8_1 with xq), and with
// the rope folded into the attention the head's rotated q, as the combine kernel does.
//
// The one-group combine (attention.cu) walks such chunks eight at a time per thread: eight dependent
// round trips for 64 chunks.
#include <string>

#include "backend/gpu/attention.cuh"
#include "backend/gpu/attention_combine.cuh"
#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/rope_device.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

// Groups of D threads per block: 512 threads at head dims 64 and 128, 1024 at 256.
template <int D>
constexpr int combine_groups() {
    return D >= 256 ? 4 : 512 / D;
}

template <int D, int G>
__global__ void __launch_bounds__(D* G) attention_combine_wide_kernel(const AttnArgs a, int8_t* xq, float2* xds) {
    RF_STEP_TRACE_SCOPE(CombineWide, a.n_splits);
    const int h = blockIdx.x, t = blockIdx.y;
    const int d = static_cast<int>(threadIdx.x) % D, g = static_cast<int>(threadIdx.x) / D;
    __shared__ float cs_s[D / 2], sn_s[D / 2];
    __shared__ GroupedChunks<D, G> grouped;
    const CombineHead<D> head(a, h, t, d);
    float* qh = head.qh;
    combine_angles(a, a.positions[t], static_cast<int>(threadIdx.x), D * G, cs_s, sn_s);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    // group 0: q's element and its rope partner, loaded with the first round's chunks
    const bool rope = a.rope_fused != 0 && g == 0;
    const float q_x = rope ? qh[d] : 0.0f;
    const float q_p = rope ? qh[rope_partner(d, a.rope.n_rot, a.rope.neox != 0)] : 0.0f;

    grouped.put(run_chunks<D, G>(head.ml_h, head.pa_d, a.n_splits, g), g, d);
    const float q_rotated = rope ? rope_rotate_loaded(q_x, q_p, d, a.rope.n_rot, a.rope.neox != 0, cs_s, sn_s) : 0.0f;
    __syncthreads();  // (also: every read of q is done before the rotated q is written)
    if (g != 0) return;
    if (a.rope_fused) qh[d] = q_rotated;
    const float o = grouped.merge(d);
    const int64_t e = static_cast<int64_t>(h) * D + d;  // element of the token's row
    a.out[t * a.out_stride + e] = o;
    if (xq != nullptr) quantize_q8_1_warp(o, t * a.out_stride + e, xq, xds);  // (D % 32 == 0)
}

template <int D>
void launch_d(Launcher& l, const AttnArgs& a, int8_t* xq, float2* xds) {
    constexpr int G = combine_groups<D>();
    l.launch(attention_combine_wide_kernel<D, G>, dim3(static_cast<unsigned>(a.n_head), static_cast<unsigned>(a.n_tok)),
             dim3(D * G), 0, a, xq, xds);
}

}  // namespace

void launch_attention_combine_wide(Launcher& l, const AttnArgs& a, int head_dim, int8_t* xq, float2* xds) {
    switch (head_dim) {
        case 64: launch_d<64>(l, a, xq, xds); break;
        case 128: launch_d<128>(l, a, xq, xds); break;
        case 256: launch_d<256>(l, a, xq, xds); break;
        default: fail_message("gpu attention: no wide combine for head_dim " + std::to_string(head_dim));
    }
}

}  // namespace rf::gpu
