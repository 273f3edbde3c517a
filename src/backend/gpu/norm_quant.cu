#include "backend/gpu/norm_quant.cuh"

namespace rf::gpu {
namespace {

// Quantizes one block of 32 values held one per lane; lane 0 writes the block's (d, d * sum).
__device__ __forceinline__ void quantize_lane(float v, int8_t* xq_block, float2* ds, int lane) {
    const float amax = rf_warp_max(fabsf(v));
    const float d = amax / 127.0f;
    const int q = amax == 0.0f ? 0 : __float2int_rn(v / d);
    xq_block[lane] = static_cast<int8_t>(q);
    const int sum = rf_warp_sum_int(q);
    if (lane == 0) *ds = make_float2(d, d * static_cast<float>(sum));
}

// One row per group of `threads_per_row` threads (a warp, or the whole block).
__global__ void rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ w, float eps,
                                float* out, int64_t rows, int64_t cols, int8_t* xq, float2* xds) {
    RF_PDL_ENTRY();
    __shared__ float scratch[32];
    const bool whole_block = cols > 1024;
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int warp = threadIdx.x / RF_WARP_SIZE;
    const int n_warps = blockDim.x / RF_WARP_SIZE;
    const int64_t row = whole_block ? blockIdx.x : static_cast<int64_t>(blockIdx.x) * n_warps + warp;
    if (!whole_block && row >= rows) return;
    const float* xr = x + row * cols;
    const int first = whole_block ? threadIdx.x : lane;
    const int step = whole_block ? blockDim.x : RF_WARP_SIZE;
    float ss = 0.0f;
    for (int64_t i = first; i < cols; i += step) ss += xr[i] * xr[i];
    ss = whole_block ? block_sum(ss, scratch) : rf_warp_sum(ss);
    const float scale = rsqrtf(ss / static_cast<float>(cols) + eps);
    float* orow = out + row * cols;
    if (xq == nullptr) {
        for (int64_t i = first; i < cols; i += step) orow[i] = xr[i] * scale * w[i];
        return;
    }
    // With quantization each warp owns whole blocks of 32: block b = warp-chunk, lane = element.
    const int chunk0 = whole_block ? warp : 0;
    const int chunk_step = whole_block ? n_warps : 1;
    if (whole_block) __syncthreads();  // all reads of x done before out (may alias) is written
    for (int64_t b = chunk0; b < cols / 32; b += chunk_step) {
        const int64_t i = b * 32 + lane;
        const float v = xr[i] * scale * w[i];
        orow[i] = v;
        quantize_lane(v, xq + row * cols + b * 32, xds + row * (cols / 32) + b, lane);
    }
}

__global__ void quantize_q8_1_kernel(const float* __restrict__ x, int64_t rows, int64_t cols, int8_t* xq, float2* xds) {
    RF_PDL_ENTRY();
    const int lane = threadIdx.x % RF_WARP_SIZE;
    const int64_t b = static_cast<int64_t>(blockIdx.x) * (blockDim.x / RF_WARP_SIZE) + threadIdx.x / RF_WARP_SIZE;
    const int64_t blocks_per_row = cols / 32;
    if (b >= rows * blocks_per_row) return;
    const int64_t row = b / blocks_per_row, bi = b % blocks_per_row;
    const float v = x[row * cols + bi * 32 + lane];
    quantize_lane(v, xq + row * cols + bi * 32, xds + b, lane);
}

}  // namespace

void launch_rms_norm(Launcher& l, const float* x, const float* w, float eps, float* out, int64_t rows, int64_t cols,
                     int8_t* xq, float2* xds) {
    if (cols > 1024) {
        l.launch(rms_norm_kernel, dim3(static_cast<unsigned>(rows)), dim3(256), 0, x, w, eps, out, rows, cols, xq, xds);
    } else {
        l.launch(rms_norm_kernel, dim3(ceil_div(rows, 4)), dim3(128), 0, x, w, eps, out, rows, cols, xq, xds);
    }
}

void launch_quantize_q8_1(Launcher& l, const float* x, int64_t rows, int64_t cols, int8_t* xq, float2* xds) {
    const int64_t blocks = rows * (cols / 32);
    l.launch(quantize_q8_1_kernel, dim3(ceil_div(blocks, 8)), dim3(256), 0, x, rows, cols, xq, xds);
}

}  // namespace rf::gpu
