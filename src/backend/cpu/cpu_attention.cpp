// KV store and causal attention over the paged KV cache on the CPU (reference-quality: scores
// in f32, softmax with max subtraction, accumulation in f32).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"
#include "core/half.h"

namespace rf::cpu {
namespace {

void store_row(KvCodec codec, const float* src, void* dst, int n) {
    switch (codec) {
        case KvCodec::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
        case KvCodec::F16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int i = 0; i < n; ++i) h[i] = f32_to_f16(src[i]);
            break;
        }
    }
}

void load_row(KvCodec codec, const void* src, float* dst, int n) {
    switch (codec) {
        case KvCodec::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
        case KvCodec::F16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
            break;
        }
    }
}

}  // namespace

void kv_store(ThreadPool& pool, const KvLayerView& layer, const int32_t* slots, Act k, Act v) {
    const int64_t kv_dim = static_cast<int64_t>(layer.n_kv_head) * layer.head_dim;
    RF_CHECK(k.cols == kv_dim && v.cols == kv_dim, "kv_store: K/V rows of {}/{} values, layer wants {}",
             k.cols, v.cols, kv_dim);
    const size_t row_bytes = layer.row_bytes();
    pool.parallel_for(k.rows, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const int32_t slot = slots[t];
            const int64_t block = slot / layer.block_size, offset = slot % layer.block_size;
            for (int h = 0; h < layer.n_kv_head; ++h) {
                const size_t row = static_cast<size_t>(layer.row_index(block, h, offset));
                store_row(layer.codec, k.data + t * kv_dim + h * layer.head_dim,
                          static_cast<uint8_t*>(layer.k) + row * row_bytes, layer.head_dim);
                store_row(layer.codec, v.data + t * kv_dim + h * layer.head_dim,
                          static_cast<uint8_t*>(layer.v) + row * row_bytes, layer.head_dim);
            }
        }
    });
}

void attention(ThreadPool& pool, Act q, const KvLayerView& layer, const StepPlan& plan,
               const AttentionParams& p, Act out) {
    const int hd = p.head_dim;
    RF_CHECK(q.cols == static_cast<int64_t>(p.n_head) * hd, "attention: q rows of {} values, expected {}",
             q.cols, p.n_head * hd);
    RF_CHECK(p.n_kv_head > 0 && p.n_head % p.n_kv_head == 0,
             "attention: {} heads cannot share {} KV heads", p.n_head, p.n_kv_head);
    const int group = p.n_head / p.n_kv_head;
    const size_t row_bytes = layer.row_bytes();
    const int64_t n_tasks = q.rows * p.n_head;
    pool.parallel_for(n_tasks, [&](int64_t begin, int64_t end) {
        std::vector<float> scores, krow(static_cast<size_t>(hd)), acc(static_cast<size_t>(hd));
        for (int64_t task = begin; task < end; ++task) {
            const int64_t t = task / p.n_head;
            const int h = static_cast<int>(task % p.n_head);
            const int kvh = h / group;
            const SeqStep& seq = plan.seqs[static_cast<size_t>(plan.token_seq[static_cast<size_t>(t)])];
            const int32_t n_ctx = plan.positions[static_cast<size_t>(t)] + 1;
            const float* qv = q.data + t * q.cols + static_cast<int64_t>(h) * hd;
            scores.resize(static_cast<size_t>(n_ctx));
            float max_score = -INFINITY;
            for (int32_t pos = 0; pos < n_ctx; ++pos) {
                const int32_t block = seq.block_table[static_cast<size_t>(pos / layer.block_size)];
                const size_t row = static_cast<size_t>(layer.row_index(block, kvh, pos % layer.block_size));
                load_row(layer.codec, static_cast<const uint8_t*>(layer.k) + row * row_bytes, krow.data(), hd);
                float s = 0.0f;
                for (int i = 0; i < hd; ++i) s += qv[i] * krow[static_cast<size_t>(i)];
                s *= p.scale;
                scores[static_cast<size_t>(pos)] = s;
                max_score = std::max(max_score, s);
            }
            double sum = 0.0;
            for (auto& s : scores) {
                s = std::exp(s - max_score);
                sum += s;
            }
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int32_t pos = 0; pos < n_ctx; ++pos) {
                const int32_t block = seq.block_table[static_cast<size_t>(pos / layer.block_size)];
                const size_t row = static_cast<size_t>(layer.row_index(block, kvh, pos % layer.block_size));
                load_row(layer.codec, static_cast<const uint8_t*>(layer.v) + row * row_bytes, krow.data(), hd);
                const float w = scores[static_cast<size_t>(pos)];
                for (int i = 0; i < hd; ++i) acc[static_cast<size_t>(i)] += w * krow[static_cast<size_t>(i)];
            }
            const float inv = static_cast<float>(1.0 / sum);
            float* o = out.data + t * out.cols + static_cast<int64_t>(h) * hd;
            for (int i = 0; i < hd; ++i) o[i] = acc[static_cast<size_t>(i)] * inv;
        }
    });
}

}  // namespace rf::cpu
