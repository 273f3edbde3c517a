#include "backend/gpu/rope.cuh"

#include "kv/kv_layout.h"

namespace rf::gpu {
namespace {

// cos / sin of rotated pair i at `position` (the CPU's rope_cos_sin, in double).
__device__ __forceinline__ void rope_angle(const RopeConsts& c, int position, int i, float& cs, float& sn) {
    const int i0 = 2 * i;
    const double inv_freq = pow(c.freq_base, -static_cast<double>(i0) / c.n_rot);
    const double theta_extrap = static_cast<double>(position) * inv_freq;
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
    cs = static_cast<float>(co * c.mscale);
    sn = static_cast<float>(s * c.mscale);
}

__device__ __forceinline__ void rotate(float* v, int i, int half, bool neox, float cs, float sn) {
    const int a = neox ? i : 2 * i;
    const int b = neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * cs - x1 * sn;
    v[b] = x0 * sn + x1 * cs;
}

// One block per token: angles once into shared memory, rotate q and k heads, then store k / v.
__global__ void rope_kv_store_kernel(const RopeKvArgs a, const RopeConsts c) {
    RF_PDL_ENTRY();
    __shared__ float cs_s[256], sn_s[256];
    const int64_t t = blockIdx.x;
    const int half = c.n_rot / 2;
    const int pos = a.positions[t];
    for (int i = threadIdx.x; i < half; i += blockDim.x) rope_angle(c, pos, i, cs_s[i], sn_s[i]);
    __syncthreads();
    const int hd = a.head_dim;
    float* qrow = a.q + t * static_cast<int64_t>(a.n_head) * hd;
    float* krow = a.k + t * static_cast<int64_t>(a.n_kv) * hd;
    const int n_pairs = (a.n_head + a.n_kv) * half;
    for (int p = threadIdx.x; p < n_pairs; p += blockDim.x) {
        const int h = p / half, i = p % half;
        float* v = h < a.n_head ? qrow + static_cast<int64_t>(h) * hd : krow + static_cast<int64_t>(h - a.n_head) * hd;
        rotate(v, i, half, c.neox != 0, cs_s[i], sn_s[i]);
    }
    __syncthreads();  // rotated k visible to the whole block
    const int kv_dim = a.n_kv * hd;
    const int32_t slot = a.slots[t];
    const int64_t blk = slot / a.block_size, off = slot % a.block_size;
    const float* vrow = a.v + t * kv_dim;
    for (int e = threadIdx.x; e < kv_dim; e += blockDim.x) {
        const int h = e / hd, d = e % hd;
        const int64_t dst = ((blk * a.n_kv + h) * a.block_size + off) * hd + d;
        if (a.codec == static_cast<int32_t>(KvCodec::F16)) {
            static_cast<uint16_t*>(a.kc)[dst] = float_to_half_bits(krow[e]);
            static_cast<uint16_t*>(a.vc)[dst] = float_to_half_bits(vrow[e]);
        } else {
            static_cast<float*>(a.kc)[dst] = krow[e];
            static_cast<float*>(a.vc)[dst] = vrow[e];
        }
    }
}

// One thread per (token, rotated pair); the angle is computed once and applied to every head.
__global__ void rope_kernel(float* x, int64_t rows, int n_heads, int head_dim, const int32_t* __restrict__ positions,
                            const RopeConsts c) {
    RF_PDL_ENTRY();
    const int half = c.n_rot / 2;
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const int64_t t = blockIdx.y;
    if (i >= half) return;
    float cs, sn;
    rope_angle(c, positions[t], i, cs, sn);
    float* row = x + t * static_cast<int64_t>(n_heads) * head_dim;
    for (int h = 0; h < n_heads; ++h) rotate(row + static_cast<int64_t>(h) * head_dim, i, half, c.neox != 0, cs, sn);
}

}  // namespace

void launch_rope(Launcher& l, float* x, int64_t rows, int n_heads, int head_dim, const int32_t* positions,
                 const RopeConsts& c) {
    const int half = c.n_rot / 2;
    l.launch(rope_kernel, dim3(ceil_div(half, 64), static_cast<unsigned>(rows)), dim3(64), 0, x, rows, n_heads,
             head_dim, positions, c);
}

void launch_rope_kv_store(Launcher& l, const RopeKvArgs& a, int64_t rows, const RopeConsts& c) {
    l.launch(rope_kv_store_kernel, dim3(static_cast<unsigned>(rows)), dim3(256), 0, a, c);
}

}  // namespace rf::gpu
