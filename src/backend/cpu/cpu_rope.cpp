// Rotary position embedding on the CPU (llama.cpp's rope incl. YaRN; NeoX and normal pairing).
// The cos/sin of every (token, pair) are computed once per step into a RopeTable (per dim: the
// frequency factor of rope_freqs.h, shared with the GPU backend; per token: cos and sin), then
// applied to every head of q and k.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "backend/rope_freqs.h"
#include "core/error.h"

namespace rf::cpu {

void rope_cos_sin(int32_t position, const RopeParams& p, float* cos_out, float* sin_out) {
    rf::rope_cos_sin(rope_freqs(p), position, cos_out, sin_out);
}

void build_rope_table(ThreadPool& pool, const int32_t* positions, int64_t n_tokens,
                      const RopeParams& p, RopeTable& table) {
    RF_CHECK(p.n_rot > 0 && p.n_rot % 2 == 0, "rope: n_rot {} must be even and positive", p.n_rot);
    const int half = p.n_rot / 2;
    table.params = p;
    table.n_tokens = n_tokens;
    table.cos.resize(static_cast<size_t>(n_tokens * half));
    table.sin.resize(table.cos.size());
    const RopeFreqs f = rope_freqs(p);
    pool.parallel_for(
        n_tokens,
        [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t)
                rf::rope_cos_sin(f, positions[t], table.cos.data() + t * half, table.sin.data() + t * half);
        },
        64);
}

void rope_apply(ThreadPool& pool, Act x, const RopeTable& table, int n_heads, int head_dim) {
    const RopeParams& p = table.params;
    RF_CHECK(x.cols == static_cast<int64_t>(n_heads) * head_dim,
             "rope: row of {} values is not {} heads x {}", x.cols, n_heads, head_dim);
    RF_CHECK(p.n_rot > 0 && p.n_rot <= head_dim && p.n_rot % 2 == 0,
             "rope: n_rot {} must be even and in (0, head_dim {}]", p.n_rot, head_dim);
    RF_CHECK(table.n_tokens == x.rows, "rope: table for {} tokens, input has {}", table.n_tokens,
             x.rows);
    const int half = p.n_rot / 2;
    pool.parallel_for(
        x.rows,
        [&](int64_t begin, int64_t end) {
            for (int64_t t = begin; t < end; ++t) {
                const float* cs = table.cos.data() + t * half;
                const float* sn = table.sin.data() + t * half;
                float* row = x.data + t * x.cols;
                for (int h = 0; h < n_heads; ++h) {
                    float* v = row + static_cast<int64_t>(h) * head_dim;
                    if (p.neox) {
                        // pairs (i, i + half): contiguous halves, vectorised by the compiler
                        float* a = v;
                        float* b = v + half;
                        for (int i = 0; i < half; ++i) {
                            const float x0 = a[i], x1 = b[i];
                            a[i] = x0 * cs[i] - x1 * sn[i];
                            b[i] = x0 * sn[i] + x1 * cs[i];
                        }
                    } else {
                        for (int i = 0; i < half; ++i) {
                            const float x0 = v[2 * i], x1 = v[2 * i + 1];
                            v[2 * i] = x0 * cs[i] - x1 * sn[i];
                            v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
                        }
                    }
                }
            }
        },
        4);
}

void rope(ThreadPool& pool, Act x, const int32_t* positions, int n_heads, int head_dim,
          const RopeParams& p) {
    RopeTable table;
    build_rope_table(pool, positions, x.rows, p, table);
    rope_apply(pool, x, table, n_heads, head_dim);
}

}  // namespace rf::cpu
