// Rotary position embedding on the CPU (llama.cpp's rope incl. YaRN; NeoX and normal pairing).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"

namespace rf::cpu {
namespace {

// Dimension index (of n_rot) where the rotation of `n_rotations` full turns over n_ctx_orig
// tokens happens (YaRN correction range).
double yarn_corr_dim(int n_rot, int n_ctx_orig, double n_rotations, double base) {
    return n_rot * std::log(n_ctx_orig / (n_rotations * 2.0 * M_PI)) / (2.0 * std::log(base));
}

double yarn_ramp(double low, double high, int i0) {
    const double y = (i0 / 2 - low) / std::max(0.001, high - low);
    return 1.0 - std::min(1.0, std::max(0.0, y));
}

}  // namespace

void rope_cos_sin(int32_t position, const RopeParams& p, float* cos_out, float* sin_out) {
    const int half = p.n_rot / 2;
    double corr_low = 0.0, corr_high = 0.0;
    if (p.ext_factor != 0.0f) {
        corr_low = std::max(0.0, std::floor(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_fast, p.freq_base)));
        corr_high = std::min(double(p.n_rot - 1),
                             std::ceil(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_slow, p.freq_base)));
    }
    for (int i = 0; i < half; ++i) {
        const int i0 = 2 * i;
        // theta_extrap = pos * base^(-i0 / n_rot); computed in double, rounded once.
        const double inv_freq = std::pow(static_cast<double>(p.freq_base), -static_cast<double>(i0) / p.n_rot);
        const double theta_extrap = position * inv_freq;
        const double theta_interp = p.freq_scale * theta_extrap;
        double theta = theta_interp;
        double mscale = p.attn_factor;
        if (p.ext_factor != 0.0f) {
            const double mix = yarn_ramp(corr_low, corr_high, i0) * p.ext_factor;
            theta = theta_interp * (1.0 - mix) + theta_extrap * mix;
            mscale *= 1.0 + 0.1 * std::log(1.0 / p.freq_scale);
        }
        cos_out[i] = static_cast<float>(std::cos(theta) * mscale);
        sin_out[i] = static_cast<float>(std::sin(theta) * mscale);
    }
}

void rope(ThreadPool& pool, Act x, const int32_t* positions, int n_heads, int head_dim,
          const RopeParams& p) {
    RF_CHECK(x.cols == static_cast<int64_t>(n_heads) * head_dim,
             "rope: row of {} values is not {} heads x {}", x.cols, n_heads, head_dim);
    RF_CHECK(p.n_rot > 0 && p.n_rot <= head_dim && p.n_rot % 2 == 0,
             "rope: n_rot {} must be even and in (0, head_dim {}]", p.n_rot, head_dim);
    const int half = p.n_rot / 2;
    pool.parallel_for(x.rows, [&](int64_t begin, int64_t end) {
        std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
        for (int64_t t = begin; t < end; ++t) {
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
    });
}

}  // namespace rf::cpu
