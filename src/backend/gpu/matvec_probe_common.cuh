// What the matvec probes (matvec_layout_probe.cu, matvec_colsplit_probe.cu) share: rotating copies of a
// planar one-token Q4_0 problem on the device, the many-token kernel's arguments for it, and the median
// time of event-timed launches. Benchmarks only; included by the probes' .cu files.
#pragma once

#include <algorithm>
#include <vector>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {
namespace probe_detail {  // (the kernel has internal linkage in each probe's translation unit)
namespace {
__global__ void fill_bytes_kernel(uint8_t* p, int64_t n, uint32_t seed) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) p[i] = static_cast<uint8_t>((static_cast<uint32_t>(i) * 2654435761u + seed) >> 24);
}
}  // namespace
}  // namespace probe_detail

// `copies` planar Q4_0 matrices of rows x cols (+ slack_blocks blocks past the end of each plane),
// random quants and f16 scales in [0.5, 1); x: random q8_1 quants with fixed scales; y [rows].
// Copies are rotated between launches so that L2 does not hold the weights. Freed on destruction.
struct ProbeQ4_0 {
    int64_t rows, cols, bpr, n_blocks;
    int copies;
    size_t d_bytes = 0, mat_bytes = 0;
    uint8_t* w = nullptr;
    int8_t* xq = nullptr;
    float2* xds = nullptr;
    float* y = nullptr;

    ProbeQ4_0(cudaStream_t stream, int64_t rows_, int64_t cols_, int copies_, int64_t slack_blocks = 0)
        : rows(rows_), cols(cols_), bpr(cols_ / 32), n_blocks(rows_ * (cols_ / 32)), copies(copies_) {
        d_bytes = align_up(static_cast<size_t>(n_blocks + slack_blocks) * 2, kPlaneAlign);
        mat_bytes = d_bytes + static_cast<size_t>(n_blocks + slack_blocks) * 16;
        RF_GPU_CALL(cudaMalloc(&w, mat_bytes * static_cast<size_t>(copies)));
        RF_GPU_CALL(cudaMalloc(&xq, static_cast<size_t>(cols)));
        RF_GPU_CALL(cudaMalloc(&xds, static_cast<size_t>(bpr) * sizeof(float2)));
        RF_GPU_CALL(cudaMalloc(&y, static_cast<size_t>(rows) * sizeof(float)));
        const int64_t total = static_cast<int64_t>(mat_bytes) * copies;
        {
            Launcher fill(Launcher::Mode::Launch, stream, false);
            fill.launch(probe_detail::fill_bytes_kernel, dim3(static_cast<unsigned>((total + 255) / 256)), dim3(256), 0, w,
                        total, 7u);
            fill.launch(probe_detail::fill_bytes_kernel, dim3(static_cast<unsigned>((cols + 255) / 256)), dim3(256), 0,
                        reinterpret_cast<uint8_t*>(xq), cols, 11u);
        }
        // (random bytes as f16 scales would include infinities)
        std::vector<uint16_t> dh(static_cast<size_t>(n_blocks));
        for (size_t i = 0; i < dh.size(); ++i) dh[i] = static_cast<uint16_t>(0x3800 + (i * 2654435761u >> 22) % 1024);
        for (int c = 0; c < copies; ++c)
            RF_GPU_CALL(cudaMemcpyAsync(w + static_cast<size_t>(c) * mat_bytes, dh.data(), dh.size() * 2,
                                        cudaMemcpyHostToDevice, stream));
        const std::vector<float2> ds(static_cast<size_t>(bpr), make_float2(1.0f / 64.0f, 0.5f));
        RF_GPU_CALL(cudaMemcpyAsync(xds, ds.data(), ds.size() * sizeof(float2), cudaMemcpyHostToDevice, stream));
        RF_GPU_CALL(cudaStreamSynchronize(stream));  // (the host vectors die here)
    }
    ~ProbeQ4_0() {
        (void)cudaFree(w);
        (void)cudaFree(xq);
        (void)cudaFree(xds);
        (void)cudaFree(y);
    }
    ProbeQ4_0(const ProbeQ4_0&) = delete;
    ProbeQ4_0& operator=(const ProbeQ4_0&) = delete;

    QMatrix mat(int c) const {
        QMatrix q;
        q.plane[0] = w + static_cast<size_t>(c) * mat_bytes;
        q.plane[1] = q.plane[0] + d_bytes;
        q.rows = rows;
        q.cols = cols;
        q.blocks_per_row = bpr;
        return q;
    }
    // The many-token kernel's one-token arguments for copy c (one warp per row, early loads as the
    // emitter sets them: whole short rows, long rows three units per iteration).
    MatvecArgs args(int c) const {
        MatvecArgs a = zeroed<MatvecArgs>();
        a.m[0] = mat(c);
        a.x = xq;
        a.xds = xds;
        a.x_stride = cols;
        a.total_rows = rows;
        a.n_tok = 1;
        a.n_mats = 1;
        a.warps_per_row = 1;
        a.early_loads = kMatvecEarlyFirst | kMatvecEarlyWhole | kMatvecEarlyTriple;
        a.y[0] = y;
        a.ldy[0] = rows;
        a.row_end[0] = a.row_end[1] = a.row_end[2] = rows;
        return a;
    }
    // The dot products of the launch just made, copied back.
    std::vector<float> output(cudaStream_t stream) const {
        std::vector<float> h(static_cast<size_t>(rows));
        RF_GPU_CALL(cudaMemcpyAsync(h.data(), y, h.size() * 4, cudaMemcpyDeviceToHost, stream));
        RF_GPU_CALL(cudaStreamSynchronize(stream));
        return h;
    }
};

// Median time (us) of `reps` launches of launch(copy), each between two events, p's copy rotated
// per launch; a first round over every copy warms up.
template <typename Launch>
double probe_median_us(cudaStream_t stream, const ProbeQ4_0& p, int reps, Launch&& launch) {
    const int copies = p.copies;
    cudaEvent_t e0, e1;
    RF_GPU_CALL(cudaEventCreate(&e0));
    RF_GPU_CALL(cudaEventCreate(&e1));
    std::vector<float> ms;
    for (int r = -copies; r < reps; ++r) {
        RF_GPU_CALL(cudaEventRecord(e0, stream));
        launch((r + copies) % copies);
        RF_GPU_CALL(cudaEventRecord(e1, stream));
        RF_GPU_CALL(cudaEventSynchronize(e1));
        float t = 0;
        RF_GPU_CALL(cudaEventElapsedTime(&t, e0, e1));
        if (r >= 0) ms.push_back(t);
    }
    RF_GPU_CALL(cudaEventDestroy(e0));
    RF_GPU_CALL(cudaEventDestroy(e1));
    std::sort(ms.begin(), ms.end());
    return static_cast<double>(ms[ms.size() / 2]) * 1000.0;
}

}  // namespace rf::gpu
