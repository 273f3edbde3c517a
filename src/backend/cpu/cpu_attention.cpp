// KV store and causal attention over the paged KV cache on the CPU.
//
// Attention works on tasks of (sequence, KV head, a run of the query heads sharing it, a tile
// of up to kTokenTile consecutive tokens of the sequence), taken by threads from a shared
// counter. A task walks the sequence's KV blocks (block_size positions each, rows of one KV head
// contiguous in a block, see kv_layout.h) up to its last token's position; each block's K and V
// rows are converted to f32 once and used by every (token, head) of the task: scores by a small
// gemv, then an online softmax (running max m, running sum l, accumulator rescaled when m
// grows), so each K/V row is read once per task and nothing is quadratic in scratch memory.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "core/error.h"

namespace rf::cpu {
namespace {

constexpr int kTokenTile = 16;

struct AttnTask {
    int32_t seq;
    int32_t kv_head;
    int32_t head0, n_heads;  // query heads [head0, head0 + n_heads)
    int32_t tok0, n_tok;     // step token indices [tok0, tok0 + n_tok)
};

// Per-thread scratch, grown on demand.
struct AttnScratch {
    std::vector<float> q, acc, m, l, k, v, s;
};

void run_task(const AttnTask& task, Act q, const KvLayerView& layer, const StepPlan& plan,
              const AttentionParams& p, Act out, const VecOps& vo, AttnScratch& sc) {
    const int hd = p.head_dim, bs = layer.block_size;
    const int nq = task.n_tok * task.n_heads;  // (token, head) pairs, index i * n_heads + hh
    sc.q.resize(static_cast<size_t>(nq) * hd);
    sc.acc.assign(static_cast<size_t>(nq) * hd, 0.0f);
    sc.m.assign(static_cast<size_t>(nq), -INFINITY);
    sc.l.assign(static_cast<size_t>(nq), 0.0f);
    sc.s.resize(static_cast<size_t>(bs));
    int32_t max_pos = 0;
    for (int i = 0; i < task.n_tok; ++i) {
        const int64_t t = task.tok0 + i;
        max_pos = std::max(max_pos, plan.positions[static_cast<size_t>(t)]);
        for (int hh = 0; hh < task.n_heads; ++hh) {
            const float* src = q.data + t * q.cols + static_cast<int64_t>(task.head0 + hh) * hd;
            float* dst = sc.q.data() + static_cast<size_t>(i * task.n_heads + hh) * hd;
            for (int d = 0; d < hd; ++d) dst[d] = src[d] * p.scale;
        }
    }
    const SeqStep& seq = plan.seqs[static_cast<size_t>(task.seq)];
    RF_CHECK(static_cast<int64_t>(seq.block_table.size()) * bs > max_pos,
             "attention: position {} is past the sequence's {} KV blocks", max_pos,
             seq.block_table.size());
    const size_t row_bytes = layer.row_bytes();
    for (int32_t blk = 0; blk * bs <= max_pos; ++blk) {
        const int32_t start = blk * bs;
        const int cnt = std::min(bs, max_pos + 1 - start);
        const int64_t row0 =
            layer.row_index(seq.block_table[static_cast<size_t>(blk)], task.kv_head, 0);
        const auto* kraw =
            static_cast<const uint8_t*>(layer.k) + static_cast<size_t>(row0) * row_bytes;
        const auto* vraw =
            static_cast<const uint8_t*>(layer.v) + static_cast<size_t>(row0) * row_bytes;
        const float *kf, *vf;  // [cnt, hd]
        if (layer.codec == KvCodec::F32) {
            kf = reinterpret_cast<const float*>(kraw);
            vf = reinterpret_cast<const float*>(vraw);
        } else {
            sc.k.resize(static_cast<size_t>(bs) * hd);
            sc.v.resize(static_cast<size_t>(bs) * hd);
            vo.f16_to_f32(reinterpret_cast<const uint16_t*>(kraw), sc.k.data(),
                          static_cast<int64_t>(cnt) * hd);
            vo.f16_to_f32(reinterpret_cast<const uint16_t*>(vraw), sc.v.data(),
                          static_cast<int64_t>(cnt) * hd);
            kf = sc.k.data();
            vf = sc.v.data();
        }
        for (int i = 0; i < task.n_tok; ++i) {
            // causal: positions start .. pos_i of this block
            const int valid =
                std::min(cnt, plan.positions[static_cast<size_t>(task.tok0 + i)] + 1 - start);
            if (valid <= 0) continue;
            for (int hh = 0; hh < task.n_heads; ++hh) {
                const size_t idx = static_cast<size_t>(i * task.n_heads + hh);
                float* acc = sc.acc.data() + idx * hd;
                vo.gemv(kf, valid, hd, sc.q.data() + idx * hd, sc.s.data());
                const float bmax = vo.max(sc.s.data(), valid);
                if (bmax > sc.m[idx]) {
                    if (sc.l[idx] > 0.0f) {
                        const float c = std::exp(sc.m[idx] - bmax);
                        sc.l[idx] *= c;
                        vo.scale(acc, c, hd);
                    }
                    sc.m[idx] = bmax;
                }
                sc.l[idx] += vo.exp_sum(sc.s.data(), sc.m[idx], valid);
                vo.axpy_rows(sc.s.data(), vf, valid, hd, acc);
            }
        }
    }
    for (int i = 0; i < task.n_tok; ++i) {
        const int64_t t = task.tok0 + i;
        for (int hh = 0; hh < task.n_heads; ++hh) {
            const size_t idx = static_cast<size_t>(i * task.n_heads + hh);
            float* o = out.data + t * out.cols + static_cast<int64_t>(task.head0 + hh) * hd;
            const float inv = 1.0f / sc.l[idx];
            for (int d = 0; d < hd; ++d) o[d] = sc.acc[idx * hd + static_cast<size_t>(d)] * inv;
        }
    }
}

}  // namespace

void kv_store(ThreadPool& pool, const KvLayerView& layer, const int32_t* slots, Act k, Act v) {
    const int64_t kv_dim = static_cast<int64_t>(layer.n_kv_head) * layer.head_dim;
    RF_CHECK(k.cols == kv_dim && v.cols == kv_dim,
             "kv_store: K/V rows of {}/{} values, layer wants {}", k.cols, v.cols, kv_dim);
    const size_t row_bytes = layer.row_bytes();
    const VecOps& vo = vec_ops();
    auto store = [&](const float* src, void* base, size_t row) {
        void* dst = static_cast<uint8_t*>(base) + row * row_bytes;
        if (layer.codec == KvCodec::F32) {
            std::memcpy(dst, src, row_bytes);
        } else {
            vo.f32_to_f16(src, static_cast<uint16_t*>(dst), layer.head_dim);
        }
    };
    pool.parallel_for(
        k.rows,
        [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t) {
                const int32_t slot = slots[t];
                const int64_t block = slot / layer.block_size, offset = slot % layer.block_size;
                for (int h = 0; h < layer.n_kv_head; ++h) {
                    const size_t row = static_cast<size_t>(layer.row_index(block, h, offset));
                    store(k.data + t * kv_dim + h * layer.head_dim, layer.k, row);
                    store(v.data + t * kv_dim + h * layer.head_dim, layer.v, row);
                }
            }
        },
        8);
}

void attention(ThreadPool& pool, Act q, const KvLayerView& layer, const StepPlan& plan,
               const AttentionParams& p, Act out) {
    RF_CHECK(q.cols == static_cast<int64_t>(p.n_head) * p.head_dim,
             "attention: q rows of {} values, expected {}", q.cols, p.n_head * p.head_dim);
    RF_CHECK(p.n_kv_head > 0 && p.n_head % p.n_kv_head == 0,
             "attention: {} heads cannot share {} KV heads", p.n_head, p.n_kv_head);
    RF_CHECK(p.head_dim == layer.head_dim && p.n_kv_head == layer.n_kv_head,
             "attention: {} KV heads of {} dims, the layer's cache has {} of {}", p.n_kv_head,
             p.head_dim, layer.n_kv_head, layer.head_dim);
    const int group = p.n_head / p.n_kv_head;
    // Split the query heads of a KV head into runs when there are too few tasks for the threads.
    int64_t n_tiles = 0;
    for (const SeqStep& s : plan.seqs) n_tiles += (s.n_tokens + kTokenTile - 1) / kTokenTile;
    int run = group;
    while (run > 1 && n_tiles * p.n_kv_head * ((group + run - 1) / run) < 2 * pool.size())
        run = (run + 1) / 2;

    static thread_local std::vector<AttnTask> task_buffer;  // the calling thread's
    std::vector<AttnTask>& tasks = task_buffer;             // captured by reference below
    tasks.clear();
    for (size_t si = 0; si < plan.seqs.size(); ++si) {
        const SeqStep& s = plan.seqs[si];
        for (int32_t t0 = 0; t0 < s.n_tokens; t0 += kTokenTile)
            for (int kvh = 0; kvh < p.n_kv_head; ++kvh)
                for (int h0 = 0; h0 < group; h0 += run)
                    tasks.push_back({static_cast<int32_t>(si), kvh, kvh * group + h0,
                                     std::min(run, group - h0), s.first_token + t0,
                                     std::min(kTokenTile, s.n_tokens - t0)});
    }
    const VecOps& vo = vec_ops();
    pool.for_each_chunk(static_cast<int64_t>(tasks.size()), [&](int64_t i) {
        static thread_local AttnScratch scratch;
        run_task(tasks[static_cast<size_t>(i)], q, layer, plan, p, out, vo, scratch);
    });
}

}  // namespace rf::cpu
