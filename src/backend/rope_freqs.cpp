#include "backend/rope_freqs.h"

#include <algorithm>
#include <cmath>

namespace rf {
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

RopeFreqs rope_freqs(const RopeParams& p) {
    const int half = p.n_rot / 2;
    RopeFreqs f;
    f.factor.resize(static_cast<size_t>(std::max(half, 0)));
    double corr_low = 0.0, corr_high = 0.0;
    if (p.ext_factor != 0.0f) {
        corr_low = std::max(0.0, std::floor(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_fast, p.freq_base)));
        corr_high = std::min(double(p.n_rot - 1), std::ceil(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_slow, p.freq_base)));
    }
    f.mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) f.mscale *= 1.0 + 0.1 * std::log(1.0 / p.freq_scale);
    for (int i = 0; i < half; ++i) {
        const int i0 = 2 * i;
        // theta_extrap = pos * base^(-i0 / n_rot); theta_interp = freq_scale * theta_extrap
        const double inv_freq = std::pow(static_cast<double>(p.freq_base), -static_cast<double>(i0) / p.n_rot);
        double mix = 0.0;
        if (p.ext_factor != 0.0f) mix = yarn_ramp(corr_low, corr_high, i0) * p.ext_factor;
        f.factor[static_cast<size_t>(i)] = inv_freq * (p.freq_scale * (1.0 - mix) + mix);
    }
    return f;
}

bool same_rope(const RopeParams& a, const RopeParams& b) {
    return a.n_rot == b.n_rot && a.neox == b.neox && a.freq_base == b.freq_base && a.freq_scale == b.freq_scale &&
           a.ext_factor == b.ext_factor && a.attn_factor == b.attn_factor && a.beta_fast == b.beta_fast &&
           a.beta_slow == b.beta_slow && a.n_ctx_orig == b.n_ctx_orig;
}

void rope_cos_sin(const RopeFreqs& f, int32_t position, float* cos_out, float* sin_out) {
    for (size_t i = 0; i < f.factor.size(); ++i) {
        const double theta = position * f.factor[i];
        cos_out[i] = static_cast<float>(std::cos(theta) * f.mscale);
        sin_out[i] = static_cast<float>(std::sin(theta) * f.mscale);
    }
}

}  // namespace rf
