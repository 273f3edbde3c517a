// The fast replay of decode steps: a step whose every emit input equals the last flush's relaunches that
// flush's graph without an emit (GpuBackendImpl::fast_replay), and the op comparison it rests on.
#include <algorithm>

#include "backend/gpu/gemm_dispatch.h"
#include "backend/gpu/gpu_backend_impl.h"

namespace rf::gpu {

bool same_op(const Op& x, const Op& y) {
    // every field of Op (a new field must be added here: the size check below trips first)
    static_assert(sizeof(Op) == 272 + 2 * sizeof(Weight) + 8 + 2 * sizeof(Act) + 16, "Op changed: compare its new fields in same_op");
    auto act = [](const Act& a, const Act& b) { return a.data == b.data && a.rows == b.rows && a.cols == b.cols; };
    auto weight = [](const Weight& a, const Weight& b) {
        return a.type == b.type && a.cols == b.cols && a.rows == b.rows && a.n_mats == b.n_mats && a.data == b.data &&
               a.row_bytes == b.row_bytes;
    };
    const RopeParams &r = x.rope, &s = y.rope;
    return x.kind == y.kind && act(x.a, y.a) && act(x.b, y.b) && act(x.c, y.c) && weight(x.w, y.w) &&
           weight(x.bias, y.bias) && x.eps == y.eps && x.n_heads == y.n_heads && x.head_dim == y.head_dim &&
           r.n_rot == s.n_rot && r.neox == s.neox && r.freq_base == s.freq_base && r.freq_scale == s.freq_scale &&
           r.ext_factor == s.ext_factor && r.attn_factor == s.attn_factor && r.beta_fast == s.beta_fast &&
           r.beta_slow == s.beta_slow && r.n_ctx_orig == s.n_ctx_orig && x.kv.k == y.kv.k && x.kv.v == y.kv.v &&
           x.kv.codec == y.kv.codec && x.kv.block_size == y.kv.block_size && x.kv.n_kv_head == y.kv.n_kv_head &&
           x.kv.head_dim == y.kv.head_dim && x.attn.n_head == y.attn.n_head && x.attn.n_kv_head == y.attn.n_kv_head &&
           x.attn.head_dim == y.attn.head_dim && x.attn.scale == y.attn.scale && weight(x.w2, y.w2) &&
           weight(x.w3, y.w3) && x.moe_k == y.moe_k && x.moe_norm == y.moe_norm && act(x.a2, y.a2) && act(x.b2, y.b2) &&
           x.gdn_nk == y.gdn_nk && x.gdn_dk == y.gdn_dk && x.state == y.state;
}

// A decode step whose every emit input equals the last flush's (the ops on the same buffers, the
// step buffer, the plan's token and sequence counts, the attention's context bucket, the scratch
// buffers, the switches and every dispatch decision) would emit the same launches with the same
// arguments: relaunch the graph of the last flush instead of emitting (the dry run and the signature
// cost ~10% of a 0.5b step on the host, docs/gpu_notes.md; ~100 us of a batched 0.5b step, whose host
// time is not hidden behind the device's: docs/server_notes.md).
bool GpuBackendImpl::fast_replay() {
    const FlushInputs& l = last_flush_;
    // decode paths only (the matvec and split-K attention kernels take the step from device buffers)
    for (size_t i = 0; i < ops_.size(); ++i)
        if ((ops_[i].kind == OpKind::Matmul && paths_[i] != static_cast<int8_t>(MatmulPath::Matvec)) ||
            (ops_[i].kind == OpKind::Attention && paths_[i] != 0))
            return false;
    if (!l.valid || !use_graphs_ || !switches_.fast_replay || plan_.n_tokens() != l.n_tokens ||
        static_cast<int64_t>(plan_.seqs.size()) != l.n_seqs || ops_.size() != l.ops.size() ||
        paths_ != l.paths || !(switches_ == l.switches) || fuse_ops_ != l.fuse || use_pdl_ != l.pdl ||
        static_cast<int32_t>(align_up(static_cast<size_t>(std::max(max_ctx_, 1)), 256)) != l.ctx_bucket)
        return false;
    // the sampling chain emitted first (the launch arguments; SampleRing keeps them from step to step)
    const GraphSample& x = graph_sample_;
    const GraphSample& y = l.sample;
    if (x.active != y.active ||
        (x.active && (x.row != y.row || x.n != y.n || x.up.dst != y.up.dst || x.up.n != y.up.n ||
                      x.staging_src[0] != y.staging_src[0] || x.staging_src[1] != y.staging_src[1] ||
                      x.scratch != y.scratch)))
        return false;
    const StepDevice& a = step_;
    const StepDevice& b = l.step;
    if (a.tokens != b.tokens || a.positions != b.positions || a.slots != b.slots || a.token_seq != b.token_seq ||
        a.output_rows != b.output_rows || a.block_tables != b.block_tables || a.bt_stride != b.bt_stride)
        return false;
    const void* scratch[7] = {q8_.ptr, attn_.ptr, blas_w_.ptr, blas_x_.ptr, res_acc_.ptr, moe_dev_.ptr, gdn_.ptr};
    if (!std::equal(scratch, scratch + 7, l.scratch)) return false;
    for (size_t i = 0; i < ops_.size(); ++i)
        if (!same_op(ops_[i], l.ops[i])) return false;
    return graphs_.relaunch_last(stream_, stats_);
}

}  // namespace rf::gpu
