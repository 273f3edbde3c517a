#include "backend/gpu/moe.cuh"

#include <climits>
#include <string>

#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {

namespace {

// (a, ia) before (b, ib): the larger value, the lower index on ties; NaN after every number.
__device__ __forceinline__ bool moe_before(float a, int ia, float b, int ib) {
    if (a != a) return false;
    if (b != b) return true;
    return a > b || (a == b && ia < ib);
}

// One warp per token: each lane holds the logits of experts lane, lane + 32, ...; k rounds of a warp
// argmax pick the experts in order.
__global__ void moe_route_kernel(const float* __restrict__ logits, int n_expert, int k, int norm_topk,
                                 int32_t* __restrict__ ids, float* __restrict__ weights) {
    RF_PDL_ENTRY();
    constexpr int kPer = kMoeMaxExperts / RF_WARP_SIZE;
    const int lane = threadIdx.x;
    const float* l = logits + static_cast<int64_t>(blockIdx.x) * n_expert;
    float v[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int e = lane + i * RF_WARP_SIZE;
        v[i] = e < n_expert ? l[e] : -INFINITY;
    }
    uint32_t taken[(kPer + 31) / 32] = {};
    float max = -INFINITY, chosen_sum = 0.0f;
    int chosen_e[kMoeMaxUsed];
    float chosen_v[kMoeMaxUsed];
    for (int j = 0; j < k; ++j) {
        float bv = -INFINITY;
        int be = INT_MAX;
#pragma unroll
        for (int i = 0; i < kPer; ++i) {
            const int e = lane + i * RF_WARP_SIZE;
            if (e < n_expert && !(taken[i / 32] >> (i % 32) & 1u) && (be == INT_MAX || moe_before(v[i], e, bv, be))) {
                bv = v[i];
                be = e;
            }
        }
        for (int m = RF_WARP_SIZE / 2; m > 0; m >>= 1) {
            const float ov = rf_shfl_xor(bv, m);
            const int oe = rf_shfl_xor(be, m);
            if (oe != INT_MAX && (be == INT_MAX || moe_before(ov, oe, bv, be))) {
                bv = ov;
                be = oe;
            }
        }
        if (be % RF_WARP_SIZE == lane) {
            const int i = be / RF_WARP_SIZE;
            taken[i / 32] |= 1u << (i % 32);
        }
        if (j == 0) max = bv;
        chosen_e[j] = be;
        chosen_v[j] = bv;
    }
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int e = lane + i * RF_WARP_SIZE;
        if (e < n_expert && v[i] == v[i]) sum += expf(v[i] - max);
    }
    sum = rf_warp_sum(sum);
    for (int j = 0; j < k; ++j) chosen_sum += expf(chosen_v[j] - max);
    const float denom = norm_topk ? chosen_sum : sum;
    if (lane < k) {
        float cv = 0.0f;
        int ce = 0;
        for (int j = 0; j < k; ++j)
            if (j == lane) {
                cv = chosen_v[j];
                ce = chosen_e[j];
            }
        const int64_t s = static_cast<int64_t>(blockIdx.x) * k + lane;
        ids[s] = ce;
        weights[s] = expf(cv - max) / denom;
    }
}

// One warp per (row, slot): lanes stride over the row's units (QuantPolicy of matvec_kernel.cuh).
template <TensorType T>
__global__ void __launch_bounds__(128) moe_matvec_q_kernel(const QMatrix w, size_t mat_stride, const int32_t* __restrict__ ids,
                                                           const int8_t* __restrict__ xq, const float2* __restrict__ xds,
                                                           int64_t x_stride, int x_div, float* __restrict__ y, int64_t ldy) {
    using P = QuantPolicy<T>;
    RF_PDL_ENTRY();
    const int64_t slot = blockIdx.y;
    const int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / RF_WARP_SIZE) + threadIdx.x / RF_WARP_SIZE;
    if (r >= w.rows) return;
    const int lane = threadIdx.x % RF_WARP_SIZE;
    QMatrix m = w;
    const size_t shift = static_cast<size_t>(ids[slot]) * mat_stride;
#pragma unroll
    for (int p = 0; p < kMaxPlanes; ++p)
        if (m.plane[p] != nullptr) m.plane[p] += shift;
    const typename P::Row row = P::row(m, r);
    const int64_t tok = slot / x_div;
    const typename P::X x{xq + tok * x_stride, xds + tok * (x_stride / 32)};
    float acc = 0.0f;
    const int units = P::units(m);
    for (int u = lane; u < units; u += RF_WARP_SIZE) acc += P::dot(P::load(row, u), x, u);
    acc = rf_warp_sum(acc);
    if (lane == 0) y[slot * ldy + r] = acc;
}

// The gate and up rows r of a slot's expert by one warp, written as silu(gate) * up.
template <TensorType TG, TensorType TU>
__global__ void __launch_bounds__(128) moe_gate_up_q_kernel(const QMatrix wg, size_t stride_g, const QMatrix wu, size_t stride_u,
                                                            const int32_t* __restrict__ ids, const int8_t* __restrict__ xq,
                                                            const float2* __restrict__ xds, int64_t x_stride, int x_div,
                                                            float* __restrict__ y, int64_t ldy) {
    using PG = QuantPolicy<TG>;
    using PU = QuantPolicy<TU>;
    RF_PDL_ENTRY();
    const int64_t slot = blockIdx.y;
    const int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / RF_WARP_SIZE) + threadIdx.x / RF_WARP_SIZE;
    if (r >= wg.rows) return;
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int32_t e = ids[slot];
    QMatrix mg = wg, mu = wu;
#pragma unroll
    for (int p = 0; p < kMaxPlanes; ++p) {
        if (mg.plane[p] != nullptr) mg.plane[p] += static_cast<size_t>(e) * stride_g;
        if (mu.plane[p] != nullptr) mu.plane[p] += static_cast<size_t>(e) * stride_u;
    }
    const typename PG::Row rg = PG::row(mg, r);
    const typename PU::Row ru = PU::row(mu, r);
    const int64_t tok = slot / x_div;
    const typename PG::X x{xq + tok * x_stride, xds + tok * (x_stride / 32)};
    const typename PU::X xu{x.q, x.ds};
    float g = 0.0f, u = 0.0f;
    const int ug = PG::units(mg), uu = PU::units(mu);
    for (int i = lane; i < ug; i += RF_WARP_SIZE) g += PG::dot(PG::load(rg, i), x, i);
    for (int i = lane; i < uu; i += RF_WARP_SIZE) u += PU::dot(PU::load(ru, i), xu, i);
    g = rf_warp_sum(g);
    u = rf_warp_sum(u);
    if (lane == 0) y[slot * ldy + r] = g / (1.0f + expf(-g)) * u;
}

__global__ void moe_combine_kernel(const float* __restrict__ d, const float* __restrict__ weights, int k, int64_t cols,
                                   float* __restrict__ out) {
    RF_PDL_ENTRY();
    const int64_t t = blockIdx.y;
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
         c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float s = 0.0f;
        for (int j = 0; j < k; ++j) s += weights[t * k + j] * d[(t * k + j) * cols + c];
        out[t * cols + c] = s;
    }
}

template <TensorType T>
void launch_moe_matvec_typed(Launcher& l, const QMatrix& w, size_t mat_stride, const int32_t* ids, const int8_t* xq,
                             const float2* xds, int64_t x_stride, int x_div, int64_t n_slots, float* y, int64_t ldy) {
    constexpr int kRowsPerBlock = 128 / RF_WARP_SIZE;
    const dim3 grid(ceil_div(w.rows, kRowsPerBlock), static_cast<unsigned>(n_slots));
    l.launch(moe_matvec_q_kernel<T>, grid, dim3(128), 0, w, mat_stride, ids, xq, xds, x_stride, x_div, y, ldy);
}

template <TensorType TG, TensorType TU>
void launch_moe_gate_up_typed(Launcher& l, const QMatrix& wg, size_t stride_g, const QMatrix& wu, size_t stride_u,
                              const int32_t* ids, const int8_t* xq, const float2* xds, int64_t x_stride, int x_div,
                              int64_t n_slots, float* y, int64_t ldy) {
    constexpr int kRowsPerBlock = 128 / RF_WARP_SIZE;
    const dim3 grid(ceil_div(wg.rows, kRowsPerBlock), static_cast<unsigned>(n_slots));
    l.launch(moe_gate_up_q_kernel<TG, TU>, grid, dim3(128), 0, wg, stride_g, wu, stride_u, ids, xq, xds, x_stride, x_div, y, ldy);
}

}  // namespace

bool moe_gate_up_fused_supports(TensorType gate, TensorType up) {
    // (every quantized matvec type has a case in launch_moe_gate_up_q's switch, on its device type)
    return device_type(gate) == device_type(up) && is_quantized_matvec_type(gate);
}

void launch_moe_gate_up_q(Launcher& l, TensorType type, const QMatrix& wg, size_t stride_g, const QMatrix& wu,
                          size_t stride_u, const int32_t* ids, const int8_t* xq, const float2* xds, int64_t x_stride,
                          int x_div, int64_t n_slots, float* y, int64_t ldy) {
    switch (device_type(type)) {
#define RF_MOE_CASE(T)                                                                                                 \
    case TensorType::T:                                                                                                \
        return launch_moe_gate_up_typed<TensorType::T, TensorType::T>(l, wg, stride_g, wu, stride_u, ids, xq, xds, x_stride, \
                                                                       x_div, n_slots, y, ldy);
        RF_MOE_CASE(Q4_0) RF_MOE_CASE(Q4_1) RF_MOE_CASE(Q5_0) RF_MOE_CASE(Q5_1) RF_MOE_CASE(Q8_0)
        RF_MOE_CASE(Q2_K) RF_MOE_CASE(Q3_K) RF_MOE_CASE(Q4_K) RF_MOE_CASE(Q6_K)
#undef RF_MOE_CASE
        default: fail_message(std::string("gpu moe: no fused gate / up for weight type ") + type_name(type));
    }
}

void launch_moe_route(Launcher& l, const float* logits, int64_t n_tok, int n_expert, int k, bool norm_topk,
                      int32_t* ids, float* weights) {
    if (n_expert > kMoeMaxExperts || k > kMoeMaxUsed || k > RF_WARP_SIZE || k < 1 || k > n_expert)
        fail_message("gpu moe: " + std::to_string(k) + " of " + std::to_string(n_expert) + " experts (at most " +
                     std::to_string(kMoeMaxUsed) + " of " + std::to_string(kMoeMaxExperts) + ")");
    l.launch(moe_route_kernel, dim3(static_cast<unsigned>(n_tok)), dim3(RF_WARP_SIZE), 0, logits, n_expert, k,
             norm_topk ? 1 : 0, ids, weights);
}

void launch_moe_matvec_q(Launcher& l, TensorType type, const QMatrix& w, size_t mat_stride, const int32_t* ids,
                         const int8_t* xq, const float2* xds, int64_t x_stride, int x_div, int64_t n_slots, float* y,
                         int64_t ldy) {
    switch (device_type(type)) {
#define RF_MOE_CASE(T) \
    case TensorType::T: return launch_moe_matvec_typed<TensorType::T>(l, w, mat_stride, ids, xq, xds, x_stride, x_div, n_slots, y, ldy);
        RF_MOE_CASE(Q4_0) RF_MOE_CASE(Q4_1) RF_MOE_CASE(Q5_0) RF_MOE_CASE(Q5_1) RF_MOE_CASE(Q8_0)
        RF_MOE_CASE(Q2_K) RF_MOE_CASE(Q3_K) RF_MOE_CASE(Q4_K) RF_MOE_CASE(Q6_K)
#undef RF_MOE_CASE
        default: fail_message(std::string("gpu moe: no expert matvec for weight type ") + type_name(type));
    }
}

void launch_moe_combine(Launcher& l, const float* d, const float* weights, int64_t n_tok, int k, int64_t cols, float* out) {
    const unsigned gx = ceil_div(cols, 256) < 32 ? ceil_div(cols, 256) : 32;
    l.launch(moe_combine_kernel, dim3(gx, static_cast<unsigned>(n_tok)), dim3(256), 0, d, weights, k, cols, out);
}

}  // namespace rf::gpu
