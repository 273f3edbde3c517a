#include "backend/gpu/gated_delta_net.cuh"

#include <string>

#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/gpu_errors.h"

namespace rf::gpu {

namespace {

__device__ __forceinline__ float gdn_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float gdn_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

// x[t, c] = silu(sum_j conv[c, j] * in(t - (K - 1) + j)), in(u) = qkv[u] or, before the step, the window.
__global__ void gdn_conv_kernel(const GdnArgs a) {
    RF_PDL_ENTRY();
    const int64_t t = blockIdx.y;
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= a.C) return;
    const int K = a.K;
    float acc = 0.0f;
    for (int j = 0; j < K; ++j) {
        const int64_t u = t - (K - 1) + j;
        const float in = u >= 0 ? a.qkv[u * a.C + c] : a.state[(K - 1 + u) * a.C + c];
        acc += a.conv[c * K + j] * in;
    }
    a.x[t * a.C + c] = acc * gdn_sigmoid(acc);
}

// The window moves past the step's tokens: window[j] = in(T - (K - 1) + j), in place in ascending j
// (a window row is read from a later one, T + j > j).
__global__ void gdn_window_kernel(const GdnArgs a) {
    RF_PDL_ENTRY();
    const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= a.C) return;
    for (int j = 0; j + 1 < a.K; ++j) {
        const int64_t u = a.T - (a.K - 1) + j;
        a.state[j * a.C + c] = u >= 0 ? a.qkv[u * a.C + c] : a.state[(a.K - 1 + u) * a.C + c];
    }
}

__device__ __forceinline__ float gdn_block_sum(float v, float* scratch) {
    v = rf_warp_sum(v);
    __syncthreads();
    if (threadIdx.x % RF_WARP_SIZE == 0) scratch[threadIdx.x / RF_WARP_SIZE] = v;
    __syncthreads();
    const int n_warps = blockDim.x / RF_WARP_SIZE;
    float s = 0.0f;
    for (int w = 0; w < n_warps; ++w) s += scratch[w];
    return s;
}

// One block per value head h, a thread per state column j (DV threads), column j of S in registers.
template <int DK>
__global__ void gdn_delta_kernel(const GdnArgs a) {
    RF_PDL_ENTRY();
    __shared__ float qs[DK], ks[DK];
    __shared__ float scratch[32];
    const int h = blockIdx.x, j = threadIdx.x, DV = a.DV;
    const int kh = h % a.NK;  // (tiled value heads)
    float* S = a.state + static_cast<int64_t>(a.K - 1) * a.C + static_cast<int64_t>(h) * DK * DV;
    float s[DK];
#pragma unroll
    for (int i = 0; i < DK; ++i) s[i] = S[i * DV + j];
    const float q_scale = rsqrtf(static_cast<float>(DK));
    const float norm_w = a.norm[j];
    for (int64_t t = 0; t < a.T; ++t) {
        const float* xt = a.x + t * a.C;
        float qq = 0.0f, kk = 0.0f;
        for (int i = j; i < DK; i += DV) {
            const float qv = xt[kh * DK + i], kv = xt[a.NK * DK + kh * DK + i];
            qs[i] = qv;
            ks[i] = kv;
            qq += qv * qv;
            kk += kv * kv;
        }
        const float q_norm = rsqrtf(gdn_block_sum(qq, scratch) + 1e-6f) * q_scale;
        const float k_norm = rsqrtf(gdn_block_sum(kk, scratch) + 1e-6f);
        const float v = xt[2 * a.NK * DK + h * DV + j];
        const float beta = gdn_sigmoid(a.b[t * a.NV + h]);
        const float decay = expf(a.a_neg[h] * gdn_softplus(a.a[t * a.NV + h] + a.dt_bias[h]));
        float mem = 0.0f;
#pragma unroll
        for (int i = 0; i < DK; ++i) {
            s[i] *= decay;
            mem += ks[i] * k_norm * s[i];
        }
        const float delta = (v - mem) * beta;
        float o = 0.0f;
#pragma unroll
        for (int i = 0; i < DK; ++i) {
            s[i] += ks[i] * k_norm * delta;
            o += qs[i] * q_norm * s[i];
        }
        const float ms = gdn_block_sum(o * o, scratch) / static_cast<float>(DV);
        const float zv = a.z[t * a.NV * DV + h * DV + j];
        a.out[t * a.NV * DV + h * DV + j] = o * rsqrtf(ms + a.eps) * norm_w * (zv * gdn_sigmoid(zv));
        __syncthreads();  // (qs / ks of the next token)
    }
#pragma unroll
    for (int i = 0; i < DK; ++i) S[i * DV + j] = s[i];
}

__global__ void sigmoid_mul_kernel(const float* x, const float* gate, int64_t gate_cols, float* out, int64_t cols, int64_t n) {
    RF_PDL_ENTRY();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const int64_t r = i / cols;
    const float g = gate[r * gate_cols + (gate_cols == 1 ? 0 : i % cols)];
    out[i] = x[i] * gdn_sigmoid(g);
}

}  // namespace

bool gated_delta_net_supported(int d_k, int d_v) {
    return (d_k == 64 || d_k == 128) && d_v % 32 == 0 && d_v >= 32 && d_v <= 1024;
}

void launch_gated_delta_net(Launcher& l, const GdnArgs& a) {
    if (!gated_delta_net_supported(a.DK, a.DV))
        fail_message("gpu gated delta net: key head dim " + std::to_string(a.DK) + " / value head dim " +
                     std::to_string(a.DV) + " not supported (64 or 128 / a multiple of 32)");
    const unsigned cb = ceil_div(a.C, 128);
    l.launch(gdn_conv_kernel, dim3(cb, static_cast<unsigned>(a.T)), dim3(128), 0, a);
    l.launch(gdn_window_kernel, dim3(cb), dim3(128), 0, a);
    if (a.DK == 64) l.launch(gdn_delta_kernel<64>, dim3(static_cast<unsigned>(a.NV)), dim3(static_cast<unsigned>(a.DV)), 0, a);
    else l.launch(gdn_delta_kernel<128>, dim3(static_cast<unsigned>(a.NV)), dim3(static_cast<unsigned>(a.DV)), 0, a);
}

void launch_sigmoid_mul(Launcher& l, const float* x, const float* gate, int64_t gate_cols, float* out, int64_t rows,
                        int64_t cols) {
    const int64_t n = rows * cols;
    l.launch(sigmoid_mul_kernel, dim3(ceil_div(n, 256)), dim3(256), 0, x, gate, gate_cols, out, cols, n);
}

}  // namespace rf::gpu
