#include "backend/cpu/cpu_reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"

namespace rf::cpu::ref {
namespace {

void load_row(KvCodec codec, const void* src, float* dst, int n) {
    switch (codec) {
        case KvCodec::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * 4);
            break;
        case KvCodec::F16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
            break;
        }
    }
}

}  // namespace

void rms_norm(Act x, const float* w, float eps, Act out) {
    const int64_t n = x.cols;
    for (int64_t r = 0; r < x.rows; ++r) {
        const float* src = x.data + r * n;
        float* dst = out.data + r * n;
        double sum = 0.0;
        for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(src[i]) * src[i];
        const float scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
        for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * scale * w[i];
    }
}

void swiglu(Act gate, Act up, Act out) {
    for (int64_t i = 0; i < gate.size(); ++i) {
        const float g = gate.data[i];
        out.data[i] = g / (1.0f + std::exp(-g)) * up.data[i];
    }
}

void add(Act a, Act b, Act out) {
    for (int64_t i = 0; i < a.size(); ++i) out.data[i] = a.data[i] + b.data[i];
}

void rope(Act x, const int32_t* positions, int n_heads, int head_dim, const RopeParams& p) {
    const int half = p.n_rot / 2;
    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
    for (int64_t t = 0; t < x.rows; ++t) {
        rope_cos_sin(positions[t], p, cs.data(), sn.data());
        float* row = x.data + t * x.cols;
        for (int h = 0; h < n_heads; ++h) {
            float* v = row + static_cast<int64_t>(h) * head_dim;
            for (int i = 0; i < half; ++i) {
                const int a = p.neox ? i : 2 * i;
                const int b = p.neox ? i + half : 2 * i + 1;
                const float x0 = v[a], x1 = v[b];
                v[a] = x0 * cs[static_cast<size_t>(i)] - x1 * sn[static_cast<size_t>(i)];
                v[b] = x0 * sn[static_cast<size_t>(i)] + x1 * cs[static_cast<size_t>(i)];
            }
        }
    }
}

void attention(Act q, const KvLayerView& layer, const StepPlan& plan, const AttentionParams& p,
               Act out) {
    const int hd = p.head_dim;
    const int group = p.n_head / p.n_kv_head;
    const size_t row_bytes = layer.row_bytes();
    std::vector<float> scores, krow(static_cast<size_t>(hd)), acc(static_cast<size_t>(hd));
    for (int64_t t = 0; t < q.rows; ++t) {
        for (int h = 0; h < p.n_head; ++h) {
            const int kvh = h / group;
            const SeqStep& seq =
                plan.seqs[static_cast<size_t>(plan.token_seq[static_cast<size_t>(t)])];
            const int32_t n_ctx = plan.positions[static_cast<size_t>(t)] + 1;
            const float* qv = q.data + t * q.cols + static_cast<int64_t>(h) * hd;
            scores.resize(static_cast<size_t>(n_ctx));
            float max_score = -INFINITY;
            for (int32_t pos = 0; pos < n_ctx; ++pos) {
                const int32_t block = seq.block_table[static_cast<size_t>(pos / layer.block_size)];
                const size_t row =
                    static_cast<size_t>(layer.row_index(block, kvh, pos % layer.block_size));
                load_row(layer.codec, static_cast<const uint8_t*>(layer.k) + row * row_bytes,
                         krow.data(), hd);
                double s = 0.0;
                for (int i = 0; i < hd; ++i)
                    s += static_cast<double>(qv[i]) * krow[static_cast<size_t>(i)];
                scores[static_cast<size_t>(pos)] = static_cast<float>(s) * p.scale;
                max_score = std::max(max_score, scores[static_cast<size_t>(pos)]);
            }
            double sum = 0.0;
            for (auto& s : scores) {
                s = std::exp(s - max_score);
                sum += s;
            }
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int32_t pos = 0; pos < n_ctx; ++pos) {
                const int32_t block = seq.block_table[static_cast<size_t>(pos / layer.block_size)];
                const size_t row =
                    static_cast<size_t>(layer.row_index(block, kvh, pos % layer.block_size));
                load_row(layer.codec, static_cast<const uint8_t*>(layer.v) + row * row_bytes,
                         krow.data(), hd);
                const float wgt = scores[static_cast<size_t>(pos)];
                for (int i = 0; i < hd; ++i)
                    acc[static_cast<size_t>(i)] += wgt * krow[static_cast<size_t>(i)];
            }
            const float inv = static_cast<float>(1.0 / sum);
            float* o = out.data + t * out.cols + static_cast<int64_t>(h) * hd;
            for (int i = 0; i < hd; ++i) o[i] = acc[static_cast<size_t>(i)] * inv;
        }
    }
}

}  // namespace rf::cpu::ref
