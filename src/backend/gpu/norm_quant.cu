#include "backend/gpu/norm_quant.cuh"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

// One block per row; thread i holds elements i, i + blockDim, ... (at most kVals in registers,
// the rest re-read). With xq each warp quantizes the 32 consecutive elements it holds per step.
constexpr int kVals = 8;

__global__ void rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps,
                                float* out, int64_t rows, int64_t cols, int8_t* xq, float2* xds) {
    RF_STEP_TRACE_SCOPE(RmsNorm, cols);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    __shared__ float scratch[32];
    const int64_t row = blockIdx.x;
    const float* xr = x + row * cols;
    const int n = blockDim.x;
    float v[kVals];
    float ss = 0.0f;
#pragma unroll
    for (int k = 0; k < kVals; ++k) {
        const int64_t i = threadIdx.x + static_cast<int64_t>(k) * n;
        v[k] = i < cols ? xr[i] : 0.0f;
        ss += v[k] * v[k];
    }
    for (int64_t i = threadIdx.x + static_cast<int64_t>(kVals) * n; i < cols; i += n) ss += xr[i] * xr[i];
    ss = block_sum(ss, scratch);  // every read of x is done before out (may alias x) is written
    const float scale = rsqrtf(ss / static_cast<float>(cols) + eps);
    float* orow = out + row * cols;
    const int lane = threadIdx.x % RF_WARP_SIZE;
    // element i (held or re-read as xi) -> out, and its warp's q8_1 block
    auto emit = [&](int64_t i, float xi) {
        float o = 0.0f;
        if (i < cols) {
            o = xi * scale * w[i];
            orow[i] = o;
        }
        // blockDim and cols are multiples of 32 when quantizing: a warp's 32 elements are a block
        if (xq != nullptr && i - lane < cols) quantize_q8_1_warp(o, row * cols + i, xq, xds);
    };
#pragma unroll
    for (int k = 0; k < kVals; ++k) {
        const int64_t i = threadIdx.x + static_cast<int64_t>(k) * n;
        if (i - lane >= cols) break;  // uniform per warp
        emit(i, v[k]);
    }
    for (int64_t i = threadIdx.x + static_cast<int64_t>(kVals) * n; i - lane < cols; i += n) emit(i, i < cols ? xr[i] : 0.0f);
}

// One block per (row, slice of kNormSlice columns): every block sums the squares of the whole row
// (re-read from L2 by each slice: 14 KB for 3584 columns), then normalises and quantizes only its
// slice, so the emit phase (two warp reductions per 32 values) runs over the slices in parallel
// instead of in series in one block. out must not overlap x.
constexpr int kNormSliceThreads = 256;
constexpr int kNormSlice = 256;  // columns per block: one emit round of kNormSliceThreads

__global__ void __launch_bounds__(kNormSliceThreads) rms_norm_sliced_kernel(const float* __restrict__ x,
                                                                              const float* __restrict__ w, float eps,
                                                                              float* __restrict__ out, int64_t cols,
                                                                              int8_t* xq, float2* xds) {
    RF_STEP_TRACE_SCOPE(RmsNormSliced, cols);
    __shared__ float scratch[32];
    const int64_t row = blockIdx.x;
    const float* xr = x + row * cols;
    const int64_t i = static_cast<int64_t>(blockIdx.y) * kNormSlice + threadIdx.x;  // this thread's column
    const float wi = i < cols ? w[i] : 0.0f;  // weights do not depend on the previous kernel
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const float xi = i < cols ? xr[i] : 0.0f;  // issued with the sum's loads: one round trip
    float ss = 0.0f;
    if (cols % 4 == 0) {
        const auto* x4 = reinterpret_cast<const float4*>(xr);
#pragma unroll 4
        for (int64_t k = threadIdx.x; k < cols / 4; k += kNormSliceThreads) {
            const float4 v = x4[k];
            ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
        }
    } else {
        for (int64_t k = threadIdx.x; k < cols; k += kNormSliceThreads) ss += xr[k] * xr[k];
    }
    ss = block_sum_fresh(ss, scratch);
    const float scale = rsqrtf(ss / static_cast<float>(cols) + eps);
    const int lane = threadIdx.x % RF_WARP_SIZE;
    if (i - lane >= cols) return;  // uniform per warp
    float o = 0.0f;
    if (i < cols) {
        o = xi * scale * wi;
        out[row * cols + i] = o;
    }
    // cols % 32 == 0 when quantizing: a warp's 32 elements are a block
    if (xq != nullptr) quantize_q8_1_warp(o, row * cols + i, xq, xds);
}

// TRIGGER_FIRST: the next kernel (a matvec, which reads only weights before its wait) may launch
// while this one waits for its predecessor (launch_quantize_q8_1).
template <bool TRIGGER_FIRST>
__global__ void quantize_q8_1_kernel(const float* __restrict__ x, int64_t rows, int64_t cols, int8_t* xq, float2* xds) {
    RF_STEP_TRACE_SCOPE(Quantize, cols);
    if constexpr (TRIGGER_FIRST) RF_PDL_ENTRY_TRIGGER_FIRST();
    else RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int64_t b = static_cast<int64_t>(blockIdx.x) * (blockDim.x / RF_WARP_SIZE) + threadIdx.x / RF_WARP_SIZE;
    const int64_t blocks_per_row = cols / 32;
    if (b >= rows * blocks_per_row) return;
    const int64_t row = b / blocks_per_row, bi = b % blocks_per_row;
    const float v = x[row * cols + bi * 32 + lane];
    quantize_q8_1_warp(v, row * cols + bi * 32 + lane, xq, xds);  // (cols % 32 == 0: block b)
}

}  // namespace

void launch_rms_norm(Launcher& l, const float* x, const float* w, float eps, float* out, int64_t rows, int64_t cols,
                     int8_t* xq, float2* xds, bool sliced) {
    const bool apart = out + rows * cols <= x || x + rows * cols <= out;
    if (sliced && apart && cols >= 1024) {
        l.launch(rms_norm_sliced_kernel, dim3(static_cast<unsigned>(rows), ceil_div(cols, kNormSlice)), dim3(kNormSliceThreads),
                 0, x, w, eps, out, cols, xq, xds);
        return;
    }
    // enough threads that each holds at most kVals values (up to 1024), a multiple of 32
    int64_t threads = (cols + kVals - 1) / kVals;
    threads = threads < 32 ? 32 : threads > 1024 ? 1024 : (threads + 31) / 32 * 32;
    if (threads < 128 && cols >= 128) threads = 128;
    l.launch(rms_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(static_cast<unsigned>(threads)), 0, x, w, eps, out,
             rows, cols, xq, xds);
}

void launch_quantize_q8_1(Launcher& l, const float* x, int64_t rows, int64_t cols, int8_t* xq, float2* xds,
                          bool trigger_first) {
    const int64_t blocks = rows * (cols / 32);
    l.launch(trigger_first ? quantize_q8_1_kernel<true> : quantize_q8_1_kernel<false>, dim3(ceil_div(blocks, 8)), dim3(256),
             0, x, rows, cols, xq, xds);
}

}  // namespace rf::gpu
