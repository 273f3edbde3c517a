#include "backend/gpu/rope.cuh"

#include "backend/gpu/rope_device.cuh"
#include "kv/kv_layout.h"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

__device__ __forceinline__ void rotate(float* v, int i, int half, bool neox, float cs, float sn) {
    const int a = neox ? i : 2 * i;
    const int b = neox ? i + half : 2 * i + 1;
    const float x0 = v[a], x1 = v[b];
    v[a] = rope_first(x0, x1, cs, sn);
    v[b] = rope_second(x0, x1, cs, sn);
}

// One block per token: angles once into shared memory, rotate q and k heads, then store k / v.
__global__ void rope_kv_store_kernel(const RopeKvArgs a, const RopeConsts c) {
    RF_STEP_TRACE_SCOPE(RopeKv, 0);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
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
    RF_STEP_TRACE_SCOPE(RopeKv, 1);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
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
