#include "backend/gpu/matvec_layout_probe.cuh"

#include <algorithm>
#include <vector>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {
namespace {

constexpr int kGroup = 4;  // rows interleaved per group: the many-token kernel's rows per block

// Q4_0 with the rows of each kGroup-row group interleaved per block (CHUNK 1) or per run of 32
// blocks (CHUNK 32, a warp's column of units): block b of row r is at index
// (r / G) * bpr * G + (b / CHUNK) * CHUNK * G + (r % G) * CHUNK + b % CHUNK of both planes.
template <int CHUNK>
struct InterleavedQ4_0Policy : QuantPolicy<TensorType::Q4_0> {
    using Base = QuantPolicy<TensorType::Q4_0>;
    static __device__ __forceinline__ typename Base::Row row(const QMatrix& m, int64_t r) {
        typename Base::Row out{m};
        const int64_t first = (r / kGroup) * m.blocks_per_row * kGroup + (r % kGroup) * CHUNK;
        out.m.plane[0] += first * 2;
        out.m.plane[1] += first * 16;
        return out;
    }
    static __device__ __forceinline__ typename Base::W load(const typename Base::Row& r, int u) {
        return Base::D::load_w(r.m, (u / CHUNK) * CHUNK * kGroup + u % CHUNK, 0);
    }
};

__global__ void fill_bytes_kernel(uint8_t* p, int64_t n, uint32_t seed) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) p[i] = static_cast<uint8_t>((static_cast<uint32_t>(i) * 2654435761u + seed) >> 24);
}

}  // namespace

MatvecLayoutTiming time_matvec_layouts(cudaStream_t stream, int64_t rows, int64_t cols, int copies, int reps) {
    const int64_t bpr = cols / 32, n_blocks = rows * bpr;
    const int64_t slack = 32 * kGroup;  // a partial last run of CHUNK 32 reaches past its group
    const size_t d_bytes = align_up(static_cast<size_t>(n_blocks + slack) * 2, kPlaneAlign);
    const size_t mat_bytes = d_bytes + static_cast<size_t>(n_blocks + slack) * 16;
    uint8_t* w = nullptr;
    int8_t* xq = nullptr;
    float2* xds = nullptr;
    float* y = nullptr;
    RF_GPU_CALL(cudaMalloc(&w, mat_bytes * static_cast<size_t>(copies)));
    RF_GPU_CALL(cudaMalloc(&xq, static_cast<size_t>(cols)));
    RF_GPU_CALL(cudaMalloc(&xds, static_cast<size_t>(bpr) * sizeof(float2)));
    RF_GPU_CALL(cudaMalloc(&y, static_cast<size_t>(rows) * sizeof(float)));
    const int64_t total = static_cast<int64_t>(mat_bytes) * copies;
    {
        Launcher fill(Launcher::Mode::Launch, stream, false);
        fill.launch(fill_bytes_kernel, dim3(static_cast<unsigned>((total + 255) / 256)), dim3(256), 0, w, total, 7u);
    }
    // scales: f16 0x3c00 (1.0) in every d plane; x: small quants, unit scales
    const std::vector<uint16_t> one(static_cast<size_t>(n_blocks), 0x3c00);
    for (int c = 0; c < copies; ++c)
        RF_GPU_CALL(cudaMemcpyAsync(w + static_cast<size_t>(c) * mat_bytes, one.data(), one.size() * 2, cudaMemcpyHostToDevice, stream));
    RF_GPU_CALL(cudaMemsetAsync(xq, 1, static_cast<size_t>(cols), stream));
    std::vector<float2> ds(static_cast<size_t>(bpr), make_float2(1.0f, 32.0f));
    RF_GPU_CALL(cudaMemcpyAsync(xds, ds.data(), ds.size() * sizeof(float2), cudaMemcpyHostToDevice, stream));
    MatvecArgs a = zeroed<MatvecArgs>();
    a.x = xq;
    a.xds = xds;
    a.x_stride = cols;
    a.total_rows = rows;
    a.n_tok = 1;
    a.n_mats = 1;
    a.warps_per_row = 1;
    a.early_loads = 3;
    a.y[0] = y;
    a.ldy[0] = rows;
    a.row_end[0] = a.row_end[1] = a.row_end[2] = rows;
    auto mat = [&](int c) {
        QMatrix q;
        q.plane[0] = w + static_cast<size_t>(c) * mat_bytes;
        q.plane[1] = q.plane[0] + d_bytes;
        q.rows = rows;
        q.cols = cols;
        q.blocks_per_row = bpr;
        return q;
    };
    cudaEvent_t e0, e1;
    RF_GPU_CALL(cudaEventCreate(&e0));
    RF_GPU_CALL(cudaEventCreate(&e1));
    auto time = [&](int interleaved) {
        std::vector<float> ms;
        for (int r = -copies; r < reps; ++r) {  // the first round warms up
            a.m[0] = mat((r + copies) % copies);
            Launcher l(Launcher::Mode::Launch, stream, false);
            RF_GPU_CALL(cudaEventRecord(e0, stream));
            if (interleaved == 1)
                l.launch(matvec_kernel<InterleavedQ4_0Policy<1>, 1, 1, false, false, true>, dim3(static_cast<unsigned>(rows / 4)),
                         dim3(kMatvecThreads), 0, a);
            else if (interleaved == 32)
                l.launch(matvec_kernel<InterleavedQ4_0Policy<32>, 1, 1, false, false, true>, dim3(static_cast<unsigned>(rows / 4)),
                         dim3(kMatvecThreads), 0, a);
            else
                l.launch(matvec_kernel<QuantPolicy<TensorType::Q4_0>, 1, 1, false, false, true>,
                         dim3(static_cast<unsigned>(rows / 4)), dim3(kMatvecThreads), 0, a);
            RF_GPU_CALL(cudaEventRecord(e1, stream));
            RF_GPU_CALL(cudaEventSynchronize(e1));
            float t = 0;
            RF_GPU_CALL(cudaEventElapsedTime(&t, e0, e1));
            if (r >= 0) ms.push_back(t);
        }
        std::sort(ms.begin(), ms.end());
        return static_cast<double>(ms[ms.size() / 2]) * 1000.0;
    };
    MatvecLayoutTiming t;
    t.us_planar = time(0);
    t.us_interleaved = time(1);
    t.us_interleaved32 = time(32);
    t.us_planar = std::min(t.us_planar, time(0));  // again, after the others (drift)
    t.us_interleaved = std::min(t.us_interleaved, time(1));
    t.us_interleaved32 = std::min(t.us_interleaved32, time(32));
    t.bytes = static_cast<double>(n_blocks) * 18.0;
    RF_GPU_CALL(cudaEventDestroy(e0));
    RF_GPU_CALL(cudaEventDestroy(e1));
    RF_GPU_CALL(cudaFree(w));
    RF_GPU_CALL(cudaFree(xq));
    RF_GPU_CALL(cudaFree(xds));
    RF_GPU_CALL(cudaFree(y));
    return t;
}

}  // namespace rf::gpu
