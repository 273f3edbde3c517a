#include "backend/gpu/rope.cuh"

namespace rf::gpu {
namespace {

// One thread per (token, rotated pair); the angle is computed once and applied to every head.
__global__ void rope_kernel(float* x, int64_t rows, int n_heads, int head_dim, const int32_t* __restrict__ positions,
                            const RopeConsts c) {
    const int half = c.n_rot / 2;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t t = blockIdx.y;
    if (i >= half) return;
    const int i0 = 2 * i;
    const double inv_freq = pow(c.freq_base, -static_cast<double>(i0) / c.n_rot);
    const double theta_extrap = static_cast<double>(positions[t]) * inv_freq;
    const double theta_interp = c.freq_scale * theta_extrap;
    double theta = theta_interp;
    if (c.ext_factor != 0.0) {
        const double y = (i0 / 2 - c.corr_low) / fmax(0.001, c.corr_high - c.corr_low);
        const double ramp = 1.0 - fmin(1.0, fmax(0.0, y));
        const double mix = ramp * c.ext_factor;
        theta = theta_interp * (1.0 - mix) + theta_extrap * mix;
    }
    double s, co;
    sincos(theta, &s, &co);
    const float cs = static_cast<float>(co * c.mscale), sn = static_cast<float>(s * c.mscale);
    const int a = c.neox ? i : 2 * i;
    const int b = c.neox ? i + half : 2 * i + 1;
    float* row = x + t * static_cast<int64_t>(n_heads) * head_dim;
    for (int h = 0; h < n_heads; ++h) {
        float* v = row + static_cast<int64_t>(h) * head_dim;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cs - x1 * sn;
        v[b] = x0 * sn + x1 * cs;
    }
}

}  // namespace

void launch_rope(Launcher& l, float* x, int64_t rows, int n_heads, int head_dim, const int32_t* positions,
                 const RopeConsts& c) {
    const int half = c.n_rot / 2;
    l.launch(rope_kernel, dim3(ceil_div(half, 64), static_cast<unsigned>(rows)), dim3(64), 0, x, rows, n_heads,
             head_dim, positions, c);
}

}  // namespace rf::gpu
