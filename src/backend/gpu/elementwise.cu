#include "backend/gpu/elementwise.cuh"

#include "backend/gpu/step_data_copy.cuh"

#include <algorithm>
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

__global__ void swiglu_kernel(const float* gate, const float* up, float* out, int64_t n) {
    RF_STEP_TRACE_SCOPE(Elementwise, n);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = silu(gate[i]) * up[i];
}

__global__ void add_kernel(const float* a, const float* b, float* out, int64_t n) {
    RF_STEP_TRACE_SCOPE(Elementwise, n);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] + b[i];
}

__global__ void add_bias_kernel(float* y, const float* __restrict__ bias, int64_t n, int64_t cols) {
    RF_STEP_TRACE_SCOPE(Elementwise, n);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] += bias[i % cols];
}

__global__ void gather_rows_kernel(const float* __restrict__ x, int64_t cols, const int32_t* __restrict__ rows,
                                   float* __restrict__ out) {
    RF_STEP_TRACE_SCOPE(Elementwise, cols);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int64_t i = blockIdx.y;
    const int64_t src = rows[i];
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols; c += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[i * cols + c] = x[src * cols + c];
}

__global__ void scatter_add_rows_kernel(const float* __restrict__ x, int64_t cols, const int32_t* __restrict__ rows,
                                        const float* __restrict__ weights, float* __restrict__ out) {
    RF_STEP_TRACE_SCOPE(Elementwise, cols);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    const int64_t i = blockIdx.y;
    const int64_t dst = rows[i];
    const float w = weights[i];
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols; c += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[dst * cols + c] += w * x[i * cols + c];
}

// The host reads before the programmatic-dependent wait (step_data_copy.cuh); after it, the tokens
// held on the device: a staged token -1 - r among the first n_tokens ints is device_tokens[r * stride].
__global__ void step_upload_kernel(int32_t* __restrict__ dst, const int32_t* __restrict__ src, int64_t n,
                                   const int32_t* __restrict__ device_tokens, int32_t token_stride, int64_t n_tokens) {
    RF_STEP_TRACE_SCOPE(Upload, n);
    const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
    int32_t held[kStepCopyHeld];
    step_copy_load(src, n, first, stride, held);
    RF_PDL_ENTRY();
    RF_STEP_TRACE_WAIT();
    step_copy_store(dst, src, n, first, stride, held, true);
    if (device_tokens == nullptr) return;
    for (int64_t i = first; i < n_tokens; i += stride) {  // (ints this thread stored itself)
        const int32_t v = dst[i];
        if (v < 0) dst[i] = device_tokens[static_cast<int64_t>(-1 - v) * token_stride];
    }
}

}  // namespace

void launch_step_upload(Launcher& l, int32_t* dst, const int32_t* src_mapped, int64_t n, const int32_t* device_tokens,
                        int32_t token_stride, int64_t n_tokens) {
    const int64_t blocks = std::min<int64_t>(ceil_div(n, 256), 64);  // (host reads: many in flight, few blocks)
    l.launch(step_upload_kernel, dim3(static_cast<unsigned>(blocks)), dim3(256), 0, dst, src_mapped, n, device_tokens,
             token_stride, n_tokens);
}

void launch_swiglu(Launcher& l, const float* gate, const float* up, float* out, int64_t n) {
    l.launch(swiglu_kernel, dim3(ceil_div(n, 256)), dim3(256), 0, gate, up, out, n);
}

void launch_add(Launcher& l, const float* a, const float* b, float* out, int64_t n) {
    l.launch(add_kernel, dim3(ceil_div(n, 256)), dim3(256), 0, a, b, out, n);
}

void launch_add_bias(Launcher& l, float* y, const float* bias, int64_t n_tok, int64_t cols) {
    l.launch(add_bias_kernel, dim3(ceil_div(n_tok * cols, 256)), dim3(256), 0, y, bias, n_tok * cols, cols);
}

void launch_gather_rows(Launcher& l, const float* x, int64_t cols, const int32_t* rows, int64_t n_out, float* out) {
    const unsigned gx = ceil_div(cols, 256) < 32 ? ceil_div(cols, 256) : 32;
    l.launch(gather_rows_kernel, dim3(gx, static_cast<unsigned>(n_out)), dim3(256), 0, x, cols, rows, out);
}

void launch_scatter_add_rows(Launcher& l, const float* x, int64_t cols, const int32_t* rows, const float* weights,
                             int64_t n, float* out) {
    const unsigned gx = ceil_div(cols, 256) < 32 ? ceil_div(cols, 256) : 32;
    l.launch(scatter_add_rows_kernel, dim3(gx, static_cast<unsigned>(n)), dim3(256), 0, x, cols, rows, weights, out);
}

}  // namespace rf::gpu
