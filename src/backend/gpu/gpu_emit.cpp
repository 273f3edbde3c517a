// Turning the recorded ops of a step into kernel launches, fusing neighbours where the shapes
// allow (each fused launch writes every output the unfused ops would have written):
//   rms_norm + quantized matmul of its output   -> the norm kernel also writes the q8_1 input
//   matmuls sharing one input (q/k/v, gate/up)  -> one launch, one activation quantization
//   gate matmul + up matmul + swiglu            -> one launch writing gate, up and silu(gate) * up
//   matmul + add of its output into a residual  -> the matvec epilogue adds into the residual
//   rope(q) + rope(k) + kv_store(k, v)          -> one kernel per token
//   attention + quantized matmul of its output  -> the split-K combine writes the q8_1 input
// One token (decode) on the one-token matvec kernel, further (steps of 2-4 tokens, which that kernel takes
// too, the first two of these):
//   rms_norm + quantized matmul of its output   -> the matvec prologue normalises x itself (every
//                                                  block; block 0 writes the norm's f32 output and q8_1)
//   gate/up + swiglu + quantized matmul of it   -> the SwiGLU epilogue also writes the q8_1 input
//   rope(q) + rope(k) + kv_store + attention   -> the attention kernel rotates q and k and stores
//                                                  k / v itself (one launch less per layer)
//   attention + output matmul + add(x, y, x)   -> deferred output projection: the split-K combine
//                                                  also multiplies each head by its columns of the
//                                                  matrix into a fixed-point accumulator
//                                                  (residual_acc.cuh); the next rms_norm prologue reads
//                                                  x + acc, the next residual epilogue into x (the down
//                                                  projection) folds acc in and zeroes it. Only where
//                                                  nothing else reads x or the projection's output in
//                                                  between (deferred_proj below).
// The many-token matvec loads its first units before the programmatic-dependent-launch wait.
// The q8_1 activations live in two slots of the q8 scratch, each remembering which activation it
// holds, so later matmuls on the same input reuse them; a kernel that reads one slot writes the
// other.
// emit() runs twice per captured step (dry run for the signature, then for real), so it must
// not change any state; scratch buffers are sized beforehand by scratch_needs().
#include <algorithm>
#include <cmath>

#include "backend/gpu/attention.cuh"
#include "backend/gpu/dequant.cuh"
#include "backend/gpu/elementwise.cuh"
#include "backend/gpu/gated_delta_net.cuh"
#include "backend/gpu/gemm_dispatch.h"
#include "backend/gpu/gpu_backend_impl.h"
#include "backend/gpu/matvec.cuh"
#include "backend/gpu/moe.cuh"
#include "backend/gpu/norm_quant.cuh"
#include "backend/gpu/residual_acc.h"
#include "backend/gpu/rope.cuh"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/rope_freqs.h"
#include "core/error.h"

namespace rf::gpu {
namespace {

// The model's final rms_norm goes to the output matvec's prologue on rows of up to this many columns
// (every block of the persistent launch normalises the row: 3.5 KB on the 0.5b, 14 KB on the 7b).
constexpr int64_t kGatherNormPrologueMaxCols = 1024;

bool same_act(const Act& a, const Act& b) { return a.data == b.data && a.rows == b.rows && a.cols == b.cols; }

bool overlaps(const Act& a, const Act& b) {
    return a.data < b.data + b.size() && b.data < a.data + a.size();
}

size_t q8_bytes(int64_t rows, int64_t cols) {
    return align_up(static_cast<size_t>(rows * cols), 16) + static_cast<size_t>(rows * (cols / 32)) * sizeof(float2);
}

// Whether a matmul runs on the one-token kernel (and so may take the norm prologue and the q8_1
// epilogue). In whole 7b decode steps on H100 the many-token kernel was faster on 3584-wide and
// 18944-wide matrices (2920 vs 3067 us per step with the fusions), the one-token kernel on the
// 0.5b shapes (883 vs 1117 us) and on the output matrices (105 vs 118 us for 152064 x 3584): so
// matrices of up to 8M weights, and those of 64K+ rows. Q6_K everywhere: isolated, the one-token
// kernel is faster on every 7b shape (3584 x 18944 34.3 -> 28.3 us, 18944 x 3584 29.8 -> 27.8,
// 3584 x 3584 9.8 -> 8.9; docs/gpu_notes.md fifth pass), the Q6_K tensors of q4_k_m files. Tall
// matrices (more rows than columns: gate / up) too, with the norm in the prologue but without the
// q8_1 epilogue (one_token_q8_epilogue): 7b step q4_0 2236 -> 2167 us, q8_0 3255 -> 3191, q4_K
// 2425 -> 2386 (fifth pass; with the epilogue they were slower).
// A batched decode step's few tokens (2 .. DecodeSwitches::matvec1_tokens, one per sequence) take the same
// kernel and shape rule, all tokens in one launch, except where the int8-mma matvec takes the product of
// a matrix above DispatchTable::matvec_mma_min_weights, except a vocabulary-wide output of up to 256M
// weights (H100, the 0.5b's Q8_0 output of 136M on the int8-mma matvec: x3 3,555 -> 3,422 tok/s, x4
// 4,054 -> 3,950; the 7b q8_0's of 545M on the one-token kernel: x3 741 -> 730, x4 944 -> 929).
constexpr int64_t kVocabWideRows = 65536;  // (rows of an output projection: the vocabulary)
constexpr int64_t kOneTokenOutputMaxWeights = int64_t{256} << 20;

bool on_one_token_kernel(const Op& op, const DecodeSwitches& sw, const PrefillEmitContext& pc) {
    const int64_t T = op.a.rows, weights = op.w.rows * op.w.cols;
    if (sw.matvec1 == 0 || op.kind != OpKind::Matmul || T < 1 || T > sw.matvec1_tokens ||
        !is_quantized_matvec_type(op.w.type) || !matvec1_supports(op.w.type, op.a.cols, T))
        return false;
    if (T > 1 && use_matvec_mma(pc, op.w.type, T, op.w.cols) && weights > pc.table.matvec_mma_min_weights &&
        (op.w.rows < kVocabWideRows || weights > kOneTokenOutputMaxWeights))
        return false;  // (the int8-mma matvec's)
    return sw.matvec1 == 2 || weights <= (int64_t{8} << 20) || op.w.rows >= kVocabWideRows ||
           op.w.type == TensorType::Q6_K || op.w.rows > op.w.cols;
}

// Whether a one-token SwiGLU launch of rows x cols writes the q8_1 of its output for the next
// matvec: on matrices of up to 8M weights (0.5b gate/up: one launch fewer per layer, -2.7 us); not
// on the 7b ones, whose epilogue configuration (32 rows per block) is slow there (fourth pass:
// q4_0 step 2339 -> 2466 us with it).
bool one_token_q8_epilogue(int64_t rows, int64_t cols, const DecodeSwitches& sw) {
    return sw.matvec1_q8_epilogue == 2 || (sw.matvec1_q8_epilogue == 1 && rows * cols <= (int64_t{8} << 20));
}

int attention_qsub(const Op& op) {
    const int group = op.attn.n_head / op.attn.n_kv_head;
    return (group + kAttnMaxHeadsPerBlock - 1) / kAttnMaxHeadsPerBlock;
}

struct AttnSplit {
    int n_splits;
    int chunk;
};

// short_granule: chunks below 4096 positions are multiples of it (64: the matrix-unit kernel's tiles).
AttnSplit attention_split(int64_t n_tok, int n_kv, int n_qsub, int max_ctx, int n_sm, int min_chunk, int per_sm,
                          int head_dim, int short_granule = 32) {
    const int bucket = static_cast<int>(align_up(static_cast<size_t>(std::max(max_ctx, 1)), 256));
    // short contexts: chunks as long as one scores pass allows (head_dim 64: 64 positions, 12
    // splits at ctx 768 instead of 24; 0.5b step 657 -> 652 us on H100)
    if (bucket < 4096) min_chunk = std::max({min_chunk, attention_short_chunk(head_dim), short_granule});
    const int64_t work = n_tok * n_kv * n_qsub;
    // about per_sm blocks per SM, chunks of at least min_chunk positions; long contexts in whole
    // tiles of positions
    const int64_t want = (per_sm * static_cast<int64_t>(n_sm) + work - 1) / work;
    const int max_splits = std::clamp(bucket / std::max(min_chunk, 32), 1, kAttnMaxSplits);
    int n = static_cast<int>(std::clamp<int64_t>(want, 1, max_splits));
    const size_t granule = bucket >= 4096 ? kAttnTile : static_cast<size_t>(short_granule);
    const int chunk = static_cast<int>(align_up(static_cast<size_t>((bucket + n - 1) / n), granule));
    n = (bucket + chunk - 1) / chunk;
    return {n, chunk};
}

// Whether a decode attention op runs on the matrix units (chunks of whole 64-position tiles):
// every context by default, contexts of 4096+ only with RF_GPU_ATTN_MMA=long, where the device
// table and the build have the kernel.
bool attention_mma_wanted(const Op& op, const DispatchTable& table, const DecodeSwitches& sw, int max_ctx) {
    const int bucket = static_cast<int>(align_up(static_cast<size_t>(std::max(max_ctx, 1)), 256));
    return table.decode_attention_mma && sw.attn_mma > 0 && (bucket >= 4096 || sw.attn_mma == 2) &&
           attention_mma_supported(op.attn.head_dim, op.kv.codec);
}

// Tiles in the matrix-unit kernel's ring: the switch, else by shape (H100, docs/gpu_notes.md fifth
// pass): 3 (head_dim 64: 57 KB, three blocks per SM; head_dim 128 at short contexts: 109 KB, two
// per SM, 1.3 % faster 7b steps than three), 2 for head_dim 128 chunks of whole 128-position tiles
// (long contexts: 74 KB, three per SM; 3 stages cost 1.6 % at 32K).
int attention_mma_stages(int head_dim, int chunk, const DecodeSwitches& sw) {
    if (sw.attn_mma_stages > 0) return sw.attn_mma_stages;
    return head_dim <= 64 || chunk < kAttnTile ? 3 : 2;
}

// The split of a decode attention op (the emitter and the scratch sizing agree through this).
AttnSplit attention_split_for(const Op& op, const DispatchTable& table, const DecodeSwitches& sw, int max_ctx, int n_sm) {
    const bool mma = attention_mma_wanted(op, table, sw, max_ctx);
    return attention_split(op.a.rows, op.attn.n_kv_head, attention_qsub(op), max_ctx, n_sm, sw.attn_min_chunk,
                           sw.attn_blocks_per_sm, op.attn.head_dim, mma ? 64 : 32);
}

// One attention launch's split-K scratch (attn_): acc f32 [parts, head_dim], then (max, sum)
// float2 [parts].
struct AttnScratch {
    size_t ml_offset, bytes;
};

AttnScratch attention_scratch(const Op& op, const AttnSplit& s) {
    const size_t parts = static_cast<size_t>(op.a.rows) * op.attn.n_head * s.n_splits;
    AttnScratch a;
    a.ml_offset = align_up(parts * op.attn.head_dim * 4, 16);
    a.bytes = a.ml_offset + parts * sizeof(float2);
    return a;
}

RopeConsts make_rope_consts(const RopeParams& p) {
    RF_CHECK(p.n_rot > 0 && p.n_rot % 2 == 0 && p.n_rot / 2 <= kRopeMaxPairs,
             "gpu rope: n_rot {} (even, up to {})", p.n_rot, 2 * kRopeMaxPairs);
    RopeConsts c = zeroed<RopeConsts>();
    const RopeFreqs f = rope_freqs(p);  // the CPU backend's factors (rope_freqs.h)
    std::copy(f.factor.begin(), f.factor.end(), c.factor);
    c.mscale = f.mscale;
    c.n_rot = p.n_rot;
    c.neox = p.neox ? 1 : 0;
    return c;
}

}  // namespace

GpuBackendImpl::ScratchNeeds GpuBackendImpl::scratch_needs() const {
    ScratchNeeds n;
    PrefillEmitContext pc;  // many-token paths (gemm_dispatch.h)
    pc.table = active_dispatch_table(info_.arch);
    pc.blas = blas_.get();
    pc.n_sm = info_.multiprocessors;
    pc.plan = &plan_;
    for (const Op& op : ops_) {
        if (op.kind == OpKind::Matmul) {
            const int64_t T = op.a.rows, K = op.a.cols;
            if (matmul_path(pc, op) == MatmulPath::Matvec) {
                if (is_quantized_matvec_type(op.w.type)) n.q8 = std::max(n.q8, q8_bytes(T, K));
            } else {
                const PrefillScratch ps = prefill_matmul_scratch(pc, op);
                n.blas_w = std::max(n.blas_w, ps.gemm);
                n.blas_x = std::max(n.blas_x, ps.blas_x);
            }
        } else if (op.kind == OpKind::RmsNorm && op.c.cols % 32 == 0) {
            n.q8 = std::max(n.q8, q8_bytes(op.c.rows, op.c.cols));
        } else if (op.kind == OpKind::Add && op.c.rows == 1) {  // a residual stream a deferred projection may target
            n.res_acc = std::max(n.res_acc, static_cast<size_t>(op.c.cols) * sizeof(long long));
        } else if (op.kind == OpKind::GatedDeltaNet) {
            n.gdn = std::max(n.gdn, static_cast<size_t>(op.a.size()) * sizeof(float));
        } else if (op.kind == OpKind::MoeFfn) {
            n.moe = std::max(n.moe, moe_layout(op.a.rows, op.moe_k, op.a.cols, op.w.rows).bytes);
        } else if (op.kind == OpKind::Attention && !use_flash_attention(pc, op)) {
            const AttnSplit s = attention_split_for(op, pc.table, switches_, max_ctx_, info_.multiprocessors);
            n.attn = std::max(n.attn, attention_scratch(op, s).bytes);
        }
    }
    n.q8 = 2 * align_up(n.q8, kPlaneAlign);  // two slots
    return n;
}

void GpuBackendImpl::emit(Launcher& l) const {
    // the previous step's sampling chain (its result polled by argmax_wait in pinned memory)
    if (graph_sample_.active) emit_greedy_chain(l, graph_sample_);
    const Act no_act{};
    Act q8_of[2] = {no_act, no_act};  // the activation whose q8_1 form is in each slot now
    const size_t slot_bytes = scratch_needs().q8 / 2;
    auto q8_xq = [&](int slot, const Act&) { return static_cast<int8_t*>(q8_.ptr) + slot * slot_bytes; };
    auto q8_xds = [&](int slot, const Act& x) {
        return reinterpret_cast<float2*>(q8_xq(slot, x) + align_up(static_cast<size_t>(x.rows * x.cols), 16));
    };
    auto written = [&](const Act& out) {
        for (Act& s : q8_of)
            if (s.data && overlaps(out, s)) s = no_act;
    };
    PrefillEmitContext pc;  // many-token paths (gemm_dispatch.h)
    pc.table = active_dispatch_table(info_.arch);
    pc.blas = blas_.get();
    pc.n_sm = info_.multiprocessors;
    pc.gemm_scratch = blas_w_.ptr;
    pc.blas_x = blas_x_.ptr;
    pc.plan = &plan_;
    pc.positions = step_.positions;
    pc.token_seq = step_.token_seq;
    pc.block_tables = step_.block_tables;
    pc.bt_stride = step_.bt_stride;
    auto matvec_path = [&](const Op& op) { return matmul_path(pc, op) == MatmulPath::Matvec; };
    const size_t n_ops = ops_.size();
    const DecodeSwitches& switches = switches_;
    const Op* pending_norm = nullptr;  // an rms_norm left to the prologue of the next matvec
    const Op* pending_rope = nullptr;  // rope(q), rope(k), kv_store left to the next attention
    int traced_attentions = 0;         // set_attention_trace: launches given a trace record so far
    // Whether the op after idx is a quantized matvec of op's output (op at idx, or standing in for ops up to
    // idx), which an rms_norm op can hand its q8_1 or leave its whole work to.
    auto quantized_matvec_next = [&](const Op& op, size_t idx) {
        return fuse_ops_ && op.c.cols % 32 == 0 && idx + 1 < n_ops && ops_[idx + 1].kind == OpKind::Matmul &&
               same_act(ops_[idx + 1].a, op.c) && matvec_path(ops_[idx + 1]) &&
               is_quantized_matvec_type(ops_[idx + 1].w.type);
    };
    // Whether the rms_norm op (at idx, or standing in for ops up to idx) goes to the prologue of the
    // one-token matvec after idx.
    auto norm_to_prologue_of = [&](const Op& op, size_t idx) {
        return quantized_matvec_next(op, idx) && switches.norm_prologue && on_one_token_kernel(ops_[idx + 1], switches, pc) &&
               op.a.cols % 4 == 0 && !overlaps(op.a, op.c);
    };
    auto norm_to_prologue = [&](size_t idx) { return norm_to_prologue_of(ops_[idx], idx); };
    // Whether an op from index `from` on reads x before one overwrites all of it (to the step's end:
    // read, as the host may).
    auto read_later = [&](const Act& x, size_t from) {
        for (size_t j = from; j < n_ops; ++j) {
            const Op& op = ops_[j];
            if (overlaps(op.a, x) || overlaps(op.b, x)) return true;
            if (same_act(op.c, x)) return false;
        }
        return true;
    };
    // The model's last rows: gather(x -> rows) of the one token's row, then rms_norm(rows) in place.
    // As one rms_norm of x into rows (the same values, no gather launch), stood in by gathered_norm;
    // left to the output matvec's prologue only where that launch is persistent and its rows are
    // short (every block normalises x: on the 7b's 3584-wide output rows that cost more than the
    // norm's launch, docs/gpu_notes.md).
    Op gathered_norm{};
    auto gather_as_norm = [&](size_t i) {
        const Op& g = ops_[i];
        if (!fuse_ops_ || !switches.gather_norm || plan_.n_tokens() != 1 || g.a.rows != 1 || g.c.rows != 1 ||
            i + 1 >= n_ops || overlaps(g.a, g.c))
            return false;
        const Op& nm = ops_[i + 1];
        return nm.kind == OpKind::RmsNorm && same_act(nm.a, g.c) && same_act(nm.c, g.c);
    };
    auto gathered_norm_to_prologue = [&](size_t idx) {
        if (!norm_to_prologue_of(gathered_norm, idx)) return false;
        const Op& m = ops_[idx + 1];
        Matvec1Shape shape;
        shape.norm = true;
        const Matvec1Config c1 = choose_matvec1_config(m.w.type, m.w.rows, m.w.cols, info_.multiprocessors, shape);
        return switches.matvec1_persistent && c1.persistent && m.w.cols <= kGatherNormPrologueMaxCols;
    };
    // The residual stream the matmul at idx adds its result into in its epilogue (the add after it),
    // or nothing.
    auto residual_of = [&](size_t idx) -> Act {
        const Op& op = ops_[idx];
        if (!fuse_ops_ || idx + 1 >= n_ops || ops_[idx + 1].kind != OpKind::Add) return no_act;
        const Op& ad = ops_[idx + 1];
        const bool y_is_b = same_act(ad.b, op.c), y_is_a = same_act(ad.a, op.c);
        const Act other = y_is_b ? ad.a : ad.b;
        if ((y_is_a || y_is_b) && same_act(ad.c, other) && other.rows == op.c.rows && other.cols == op.c.cols &&
            !overlaps(other, op.a) && !overlaps(other, op.c))
            return other;
        return no_act;
    };
    // Deferred output projection (see the top) for the attention at i with n_splits splits: matmul
    // (i + 1) + add(x, y, x) (i + 2) go into the combine when the next op (i + 3) is an rms_norm of x
    // into y that a one-token prologue takes, and the next op touching x after it is the residual add
    // of a one-token matmul starting its own launch, with only matmuls, swiglus, ropes, KV stores,
    // attentions and rms_norms of other rows in between. Returns that matmul's index, or 0.
    auto deferred_proj = [&](size_t i, int n_splits) -> size_t {
        const Op& at = ops_[i];
        if (!switches.attn_proj || !fuse_ops_ || i + 4 >= n_ops) return 0;
        const Op &m = ops_[i + 1], &nm = ops_[i + 3];
        if (m.kind != OpKind::Matmul || !same_act(m.a, at.c) || m.bias || !matvec_path(m) ||
            !on_one_token_kernel(m, switches, pc) || m.w.cols != at.c.cols ||
            !attention_proj_supported(at.attn.head_dim, n_splits, at.a.rows, m.w.type, switches.attn_combine_wide) ||
            static_cast<int64_t>(at.attn.n_head) * at.attn.head_dim != at.c.cols || m.w.rows > (int64_t{1} << 20))
            return 0;
        const Act x = residual_of(i + 1);
        if (x.data == nullptr || x.rows != 1 || nm.kind != OpKind::RmsNorm || !same_act(nm.a, x) ||
            !same_act(nm.c, m.c) || !norm_to_prologue(i + 3) || at.attn.n_head > kResAccMaxParts)
            return 0;
        for (size_t j = i + 4; j < n_ops; ++j) {
            const Op& op = ops_[j];
            const bool touches = overlaps(op.a, x) || overlaps(op.b, x) || overlaps(op.c, x);
            if (!touches) {
                if (op.kind != OpKind::Matmul && op.kind != OpKind::Swiglu && op.kind != OpKind::Rope &&
                    op.kind != OpKind::KvStore && op.kind != OpKind::Attention && op.kind != OpKind::RmsNorm)
                    return 0;
                continue;
            }
            if (op.kind != OpKind::Add || j - 1 <= i + 3) return 0;
            const Op& dn = ops_[j - 1];
            const Op& before = ops_[j - 2];  // dn must start its own launch
            if (before.kind == OpKind::Matmul && same_act(before.a, dn.a) && before.w.type == dn.w.type) return 0;
            if (dn.kind != OpKind::Matmul || dn.a.rows != 1 || !matvec_path(dn) || !is_quantized_matvec_type(dn.w.type) ||
                !on_one_token_kernel(dn, switches, pc) || !same_act(residual_of(j - 1), x))
                return 0;
            return j - 1;
        }
        return 0;
    };
    // An rms_norm op (at idx, or standing in for ops up to idx) as its own kernel; it also writes the
    // q8_1 of its output where a quantized matvec reads that next.
    auto emit_norm_kernel = [&](const Op& op, size_t idx) {
        const bool fuse_q8 = quantized_matvec_next(op, idx);
        launch_rms_norm(l, op.a.data, static_cast<const float*>(op.w.data), op.eps, op.c.data, op.a.rows, op.a.cols,
                        fuse_q8 ? q8_xq(0, op.c) : nullptr, fuse_q8 ? q8_xds(0, op.c) : nullptr, switches.norm_slices);
        if (fuse_q8) q8_of[0] = op.c;
    };
    auto* res_acc = static_cast<long long*>(res_acc_.ptr);
    size_t deferred_norm = n_ops, deferred_res = n_ops;  // ops still to consume the accumulator (n_ops: none)
    // The slot holding x's q8_1, quantizing it into slot 0 first if no slot does.
    auto quantized_input = [&](const Act& x) {
        for (int s = 0; s < 2; ++s)
            if (same_act(q8_of[s], x)) return s;
        // (called right before a matvec launch, which reads only weights before its wait)
        launch_quantize_q8_1(l, x.data, x.rows, x.cols, q8_xq(0, x), q8_xds(0, x), switches.quant_trigger_first);
        q8_of[0] = x;
        return 0;
    };

    for (size_t i = 0; i < n_ops; ++i) {
        const Op& op = ops_[i];
        switch (op.kind) {
            case OpKind::Embed: {
                launch_embed(l, op.w.type, qmatrix(op.w.type, op.w.data, op.w.rows, op.w.cols), step_.tokens, op.c.rows,
                             op.c.data);
                written(op.c);
                break;
            }
            case OpKind::RmsNorm: {
                written(op.c);
                // one token, not in place: the next matvec normalises x in its prologue
                if (norm_to_prologue(i)) {
                    pending_norm = &op;
                    break;
                }
                RF_CHECK(i != deferred_norm, "gpu emit: the rms_norm after a deferred output projection was not left to a prologue");
                emit_norm_kernel(op, i);
                break;
            }
            case OpKind::Matmul: {
                const Act x = op.a;
                const int64_t T = x.rows, K = x.cols;
                const bool quant = is_quantized_matvec_type(op.w.type);
                if (!matvec_path(op)) {  // tiled GEMM or vendor GEMM (gemm_dispatch.h)
                    const F16WeightCache::Slot copy = i < f16_slots_.size() ? f16_slots_[i] : F16WeightCache::Slot{};
                    emit_prefill_matmul(l, pc, op, i > 0 ? &ops_[i - 1] : nullptr, F16Copy{copy.ptr, copy.fill});
                    written(op.c);
                    break;
                }
                // Group the following matmuls on the same input (same type and width).
                size_t n = 1;
                while (fuse_ops_ && n < kMatvecMaxMats && i + n < n_ops) {
                    const Op& nx = ops_[i + n];
                    if (nx.kind != OpKind::Matmul || !same_act(nx.a, x) || nx.w.type != op.w.type) break;
                    ++n;
                }
                MatvecArgs a = zeroed<MatvecArgs>();
                int64_t rows = 0;
                for (size_t k = 0; k < n; ++k) {
                    const Op& m = ops_[i + k];
                    a.m[k] = qmatrix(m.w.type, m.w.data, m.w.rows, m.w.cols);
                    a.y[k] = m.c.data;
                    a.ldy[k] = m.c.cols;
                    a.bias[k] = m.bias ? static_cast<const float*>(m.bias.data) : nullptr;
                    rows += m.w.rows;
                    a.row_end[k] = rows;
                }
                for (size_t k = n; k < kMatvecMaxMats; ++k) a.row_end[k] = rows;
                a.total_rows = rows;
                a.n_mats = static_cast<int32_t>(n);
                a.n_tok = static_cast<int32_t>(T);
                a.epilogue = static_cast<int32_t>(MatvecEpilogue::Plain);
                size_t consumed = n;
                // gate + up + swiglu(gate, up)
                if (fuse_ops_ && n == 2 && i + 2 < n_ops) {
                    const Op& sw = ops_[i + 2];
                    const Op &g = ops_[i], &u = ops_[i + 1];
                    if (sw.kind == OpKind::Swiglu && same_act(sw.a, g.c) && same_act(sw.b, u.c) && g.w.rows == u.w.rows &&
                        sw.c.size() == g.c.size() && sw.c.cols == g.c.cols) {
                        a.epilogue = static_cast<int32_t>(MatvecEpilogue::SwiGlu);
                        a.y[2] = sw.c.data;
                        a.ldy[2] = sw.c.cols;
                        a.total_rows = g.w.rows;
                        consumed = 3;
                    }
                }
                // matmul + add(residual, y) -> residual
                if (n == 1) {
                    const Act other = residual_of(i);
                    if (other.data != nullptr) {
                        a.residual[0] = other.data;
                        consumed = 2;
                    }
                }
                if (i == deferred_res) {  // checked by deferred_proj: one-token, residual epilogue
                    RF_CHECK(a.residual[0] != nullptr && on_one_token_kernel(op, switches, pc),
                             "gpu emit: the residual add after a deferred output projection is not in a one-token epilogue");
                    a.residual_acc = res_acc;
                    deferred_res = n_ops;
                }
                if (on_one_token_kernel(op, switches, pc)) {
                    // gate/up + swiglu whose output feeds a quantized matvec: the epilogue writes its q8_1
                    const bool swiglu = a.epilogue == static_cast<int32_t>(MatvecEpilogue::SwiGlu);
                    const Op* next = i + consumed < n_ops ? &ops_[i + consumed] : nullptr;
                    const bool q8_epilogue = one_token_q8_epilogue(a.total_rows, K, switches) && swiglu && next && next->kind == OpKind::Matmul && same_act(next->a, ops_[i + 2].c) &&
                                             matvec_path(*next) && is_quantized_matvec_type(next->w.type) &&
                                             a.total_rows % 32 == 0 && ops_[i + 2].c.cols == a.total_rows;
                    Matvec1Shape shape;
                    shape.swiglu = swiglu;
                    shape.norm = pending_norm != nullptr;
                    shape.q8_epilogue = q8_epilogue;
                    const Matvec1Config c1 = choose_matvec1_config(op.w.type, a.total_rows, K, info_.multiprocessors, shape);
                    a.lanes_per_row = switches.matvec1_lanes > 0 && !q8_epilogue ? switches.matvec1_lanes : c1.lanes_per_row;
                    a.block_threads = c1.block_threads;
                    a.persistent = switches.matvec1_persistent && c1.persistent ? 1 : 0;
                    a.x_direct = switches.matvec1_x_direct == 2 || (switches.matvec1_x_direct == 1 && c1.x_direct) ? 1 : 0;
                    a.wide = switches.matvec1_wide;
                    using Sw = DecodeSwitches;
                    const bool early_one = switches.matvec1_early == Sw::kMatvec1EarlyUnit ||
                                           (switches.matvec1_early == Sw::kMatvec1EarlyByType && device_type(op.w.type) == TensorType::Q6_K);
                    a.early_loads = switches.matvec1_early == Sw::kMatvec1EarlyOff ? 0 : kMatvecEarlyFirst | (early_one ? kMatvecEarlyOne : 0);
                    a.fit = switches.matvec1_fit;
                    a.x_hoist = switches.matvec_x_hoist ? 1 : 0;
                    a.x_stride = K;
                    int in_slot = 0;
                    if (pending_norm != nullptr) {
                        if (deferred_norm < n_ops && pending_norm == &ops_[deferred_norm]) {  // x + the pending projection
                            a.norm_acc = res_acc;
                            deferred_norm = n_ops;
                        }
                        a.prologue = static_cast<int32_t>(MatvecPrologue::RmsNorm);
                        a.norm_x = pending_norm->a.data;
                        a.norm_w = static_cast<const float*>(pending_norm->w.data);
                        a.norm_eps = pending_norm->eps;
                        a.norm_out = x.data;
                        a.norm_xq = q8_xq(0, x);
                        a.norm_xds = q8_xds(0, x);
                        a.x = a.norm_xq;
                        a.xds = a.norm_xds;
                        // x quantized before its norm factor where nothing reads the normalised x (or its
                        // q8_1) after this launch: block 0 then writes neither
                        a.norm_late_scale = switches.norm_late_scale && !read_later(x, i + consumed) ? 1 : 0;
                        if (!a.norm_late_scale) q8_of[0] = x;
                        pending_norm = nullptr;
                    } else {
                        in_slot = quantized_input(x);
                        a.x = q8_xq(in_slot, x);
                        a.xds = q8_xds(in_slot, x);
                    }
                    const Act y2 = swiglu ? ops_[i + 2].c : no_act;
                    if (q8_epilogue) {
                        a.yq = q8_xq(1 - in_slot, y2);
                        a.yds = q8_xds(1 - in_slot, y2);
                    }
                    launch_matvec1_q(l, op.w.type, a);
                    for (size_t k = 0; k < consumed; ++k) written(ops_[i + k].c);
                    if (q8_epilogue) q8_of[1 - in_slot] = y2;
                    i += consumed - 1;
                    break;
                }
                RF_CHECK(pending_norm == nullptr, "gpu emit: an rms_norm was left to a matvec that cannot take it");
                MatvecConfig cfg = choose_matvec_config(op.w.type, a.total_rows, K, info_.multiprocessors);
                cfg.mma = use_matvec_mma(pc, op.w.type, a.n_tok, K);
                a.warps_per_row = switches.matvec_warps_per_row > 0 ? switches.matvec_warps_per_row : cfg.warps_per_row;
                a.mma_warps = switches.matvec_mma_warps;
                a.mma_split = switches.matvec_mma_split;
                a.x_hoist = switches.matvec_x_hoist ? 1 : 0;
                a.early_loads = !switches.early_loads ? 0
                                                      : kMatvecEarlyFirst | (switches.early_one ? kMatvecEarlyOne : 0) |
                                                            (switches.matvec_whole_row ? kMatvecEarlyWhole : 0) |
                                                            (switches.matvec_triple != 0 ? kMatvecEarlyTriple : 0) |
                                                            (switches.matvec_triple == 2 ? kMatvecTripleLong : 0);
                if (quant) {
                    const int slot = quantized_input(x);
                    a.x = q8_xq(slot, x);
                    a.xds = q8_xds(slot, x);
                    a.x_stride = K;
                    launch_matvec_q(l, op.w.type, a, cfg);
                } else {
                    a.x = x.data;
                    a.x_stride = K;
                    launch_matvec_f(l, op.w.type, a, cfg);
                }
                for (size_t k = 0; k < consumed; ++k) written(ops_[i + k].c);
                i += consumed - 1;
                break;
            }
            case OpKind::Rope: {
                // rope(q) + rope(k) + kv_store(k, v) -> one kernel
                if (fuse_ops_ && i + 2 < n_ops && ops_[i + 1].kind == OpKind::Rope && ops_[i + 2].kind == OpKind::KvStore) {
                    const Op &rk = ops_[i + 1], &st = ops_[i + 2];
                    if (same_rope(op.rope, rk.rope) && op.head_dim == rk.head_dim && st.kv.head_dim == rk.head_dim &&
                        st.kv.n_kv_head == rk.n_heads && same_act(st.a, rk.a) && op.a.rows == rk.a.rows &&
                        op.rope.n_rot / 2 <= 256 && !overlaps(op.a, rk.a) && !overlaps(st.b, op.a) && !overlaps(st.b, rk.a)) {
                        // ... + the attention over that cache: the decode attention kernel does all of it
                        if (switches.rope_in_attention && i + 3 < n_ops && ops_[i + 3].kind == OpKind::Attention) {
                            const Op& at = ops_[i + 3];
                            if (same_act(at.a, op.a) && at.kv.k == st.kv.k && at.kv.v == st.kv.v &&
                                at.kv.block_size == st.kv.block_size && at.kv.codec == st.kv.codec &&
                                at.attn.head_dim == op.head_dim && at.attn.n_head == op.n_heads &&
                                at.attn.n_kv_head == rk.n_heads && !use_flash_attention(pc, at) &&
                                attention_can_fuse_rope(at.a.rows, attention_qsub(at), op.head_dim, op.rope.n_rot) &&
                                !overlaps(at.c, op.a) && !overlaps(at.c, rk.a) && !overlaps(at.c, st.b)) {
                                pending_rope = &op;
                                i += 2;
                                break;
                            }
                        }
                        RopeKvArgs a = zeroed<RopeKvArgs>();
                        a.q = op.a.data;
                        a.k = rk.a.data;
                        a.v = st.b.data;
                        a.positions = step_.positions;
                        a.slots = step_.slots;
                        a.kc = st.kv.k;
                        a.vc = st.kv.v;
                        a.n_head = op.n_heads;
                        a.n_kv = rk.n_heads;
                        a.head_dim = op.head_dim;
                        a.block_size = st.kv.block_size;
                        a.codec = static_cast<int32_t>(st.kv.codec);
                        launch_rope_kv_store(l, a, op.a.rows, make_rope_consts(op.rope));
                        written(op.a);
                        written(rk.a);
                        i += 2;
                        break;
                    }
                }
                launch_rope(l, op.a.data, op.a.rows, op.n_heads, op.head_dim, step_.positions, make_rope_consts(op.rope));
                written(op.a);
                break;
            }
            case OpKind::KvStore: {
                launch_kv_store(l, op.kv, op.a.data, op.b.data, step_.slots, op.a.rows);
                break;
            }
            case OpKind::Attention: {
                if (use_flash_attention(pc, op)) {  // prefill steps (gemm_dispatch.h)
                    written(op.c);
                    emit_flash_attention(l, pc, op);
                    break;
                }
                const int group = op.attn.n_head / op.attn.n_kv_head;
                AttnArgs a = zeroed<AttnArgs>();
                a.n_qsub = attention_qsub(op);
                const AttnSplit s = attention_split_for(op, pc.table, switches, max_ctx_, info_.multiprocessors);
                const AttnScratch sc = attention_scratch(op, s);
                a.q = op.a.data;
                a.out = op.c.data;
                a.k = op.kv.k;
                a.v = op.kv.v;
                a.positions = step_.positions;
                a.token_seq = step_.token_seq;
                a.block_tables = step_.block_tables;
                a.partial_acc = static_cast<float*>(attn_.ptr);
                a.partial_ml = reinterpret_cast<float2*>(static_cast<uint8_t*>(attn_.ptr) + sc.ml_offset);
                a.q_stride = op.a.cols;
                a.out_stride = op.c.cols;
                a.bt_stride = step_.bt_stride;
                a.n_head = op.attn.n_head;
                a.n_kv_head = op.attn.n_kv_head;
                a.block_size = op.kv.block_size;
                a.chunk = s.chunk;
                a.n_splits = s.n_splits;
                // on the matrix units where the table, the shape and the split allow (2+ splits of
                // whole 64-position tiles)
                a.mma = attention_mma_wanted(op, pc.table, switches, max_ctx_) && s.chunk % 64 == 0 && s.n_splits > 1
                            ? attention_mma_stages(op.attn.head_dim, s.chunk, switches)
                            : 0;
                a.one_tile = a.mma != 0 && switches.attn_one_tile ? 1 : 0;
                a.combine_wide = switches.attn_combine_wide ? 1 : 0;
                a.chunk_softmax = switches.attn_chunk_softmax ? 1 : 0;
                a.group = group;
                a.scale = op.attn.scale;
                a.n_tok = static_cast<int32_t>(op.a.rows);
                // (short chunks only: at 8K-32K contexts, chunks of whole tiles, it cost 0.5-0.8%)
                a.prefetch_kv = switches.attn_prefetch && s.chunk < kAttnTile && a.mma == 0 ? 1 : 0;
                if (pending_rope != nullptr) {  // rope(q), rope(k), kv_store folded in (checked at the rope)
                    const Op &rk = *(pending_rope + 1), &st = *(pending_rope + 2);
                    a.rope_fused = 1;
                    a.rope = make_rope_consts(pending_rope->rope);
                    a.q_rot = op.a.data;
                    a.k_new = rk.a.data;
                    a.v_new = st.b.data;
                    a.slots = step_.slots;
                    a.early_kv = switches.attn_early_kv ? 1 : 0;
                    written(op.a);
                    written(rk.a);
                    pending_rope = nullptr;
                }
                if (attn_trace_ != nullptr && a.mma != 0 && traced_attentions < kAttnTraceLaunches)
                    a.trace = static_cast<unsigned long long*>(attn_trace_) + traced_attentions++ * kAttnTraceLaunchWords;
                // attention + quantized matmul of its output: the kernel writing out writes the q8_1 input
                const bool fuse_q8 = fuse_ops_ && op.attn.head_dim % 32 == 0 && i + 1 < n_ops &&
                                     ops_[i + 1].kind == OpKind::Matmul && same_act(ops_[i + 1].a, op.c) &&
                                     matvec_path(ops_[i + 1]) && is_quantized_matvec_type(ops_[i + 1].w.type);
                written(op.c);
                const size_t dres = fuse_q8 ? deferred_proj(i, a.n_splits) : 0;
                if (dres != 0) {  // matmul + add go into the combine (the accumulator)
                    RF_CHECK(deferred_norm == n_ops && deferred_res == n_ops,
                             "gpu emit: a deferred output projection before the previous one was consumed");
                    const Op& m = ops_[i + 1];
                    const AttnProj proj{qmatrix(m.w.type, m.w.data, m.w.rows, m.w.cols), m.w.type, res_acc};
                    launch_attention(l, a, op.attn.head_dim, op.kv.codec, nullptr, nullptr, &proj);
                    written(m.c);
                    written(ops_[i + 2].c);  // x: its value is x + acc until the fold
                    deferred_norm = i + 3;
                    deferred_res = dres;
                    i += 2;
                    break;
                }
                launch_attention(l, a, op.attn.head_dim, op.kv.codec, fuse_q8 ? q8_xq(0, op.c) : nullptr,
                                 fuse_q8 ? q8_xds(0, op.c) : nullptr);
                if (fuse_q8) q8_of[0] = op.c;
                break;
            }
            case OpKind::Swiglu: {
                launch_swiglu(l, op.a.data, op.b.data, op.c.data, op.c.size());
                written(op.c);
                break;
            }
            case OpKind::Add: {
                launch_add(l, op.a.data, op.b.data, op.c.data, op.c.size());
                written(op.c);
                break;
            }
            case OpKind::GatedDeltaNet: {
                GdnArgs g;
                g.qkv = op.a.data;
                g.z = op.b.data;
                g.a = op.a2.data;
                g.b = op.b2.data;
                g.conv = static_cast<const float*>(op.w.data);
                g.a_neg = static_cast<const float*>(op.bias.data);
                g.dt_bias = static_cast<const float*>(op.w2.data);
                g.norm = static_cast<const float*>(op.w3.data);
                g.state = op.state;
                g.x = static_cast<float*>(gdn_.ptr);
                g.out = op.c.data;
                g.T = op.a.rows;
                g.C = op.a.cols;
                g.K = static_cast<int>(op.w.cols);
                g.NK = op.gdn_nk;
                g.NV = op.n_heads;
                g.DK = op.gdn_dk;
                g.DV = op.head_dim;
                g.eps = op.eps;
                launch_gated_delta_net(l, g);
                written(op.c);
                break;
            }
            case OpKind::SigmoidMul: {
                launch_sigmoid_mul(l, op.a.data, op.b.data, op.b.cols, op.c.data, op.c.rows, op.c.cols);
                written(op.c);
                break;
            }
            case OpKind::MoeFfn: {
                emit_moe_ffn(l, op);
                written(op.c);
                break;
            }
            case OpKind::Gather: {
                if (gather_as_norm(i)) {  // gather + in-place rms_norm -> rms_norm(x -> rows)
                    gathered_norm = ops_[i + 1];
                    gathered_norm.a = op.a;
                    written(op.c);
                    if (gathered_norm_to_prologue(i + 1)) pending_norm = &gathered_norm;
                    else emit_norm_kernel(gathered_norm, i + 1);
                    ++i;
                    break;
                }
                launch_gather_rows(l, op.a.data, op.a.cols, step_.output_rows, op.c.rows, op.c.data);
                written(op.c);
                break;
            }
        }
    }
    RF_CHECK(deferred_norm == n_ops && deferred_res == n_ops,
             "gpu emit: a deferred output projection was left pending at the end of the step");
}

}  // namespace rf::gpu
