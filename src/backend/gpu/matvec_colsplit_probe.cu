#include "backend/gpu/matvec_colsplit_probe.cuh"

#include <algorithm>
#include <cmath>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/matvec_kernel.cuh"

namespace rf::gpu {
namespace {

__global__ void fill_random_kernel(uint8_t* p, int64_t n, uint32_t seed) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) p[i] = static_cast<uint8_t>((static_cast<uint32_t>(i) * 2654435761u + seed) >> 24);
}

// Block: R rows [blockIdx.x * R, + R); thread t dots units t, t + THREADS, ... of every row, UPI
// units per iteration (their x and the R rows' weights loaded together), then the block reduces
// each row (warp shuffles, then the warps' sums in shared memory).
template <int THREADS, int R, int UPI>
__global__ void __launch_bounds__(THREADS) colsplit_q4_0_kernel(const QMatrix m, const int8_t* __restrict__ xq,
                                                                 const float2* __restrict__ xds, float* __restrict__ y) {
    constexpr int kWarps = THREADS / 32;
    const int t = threadIdx.x, lane = t % 32, warp = t / 32;
    const int64_t r0 = static_cast<int64_t>(blockIdx.x) * R;
    const int n_units = static_cast<int>(m.blocks_per_row);
    const uint8_t* dp = m.plane[0] + r0 * n_units * 2;   // row r0's scales
    const uint8_t* qp = m.plane[1] + r0 * n_units * 16;  // row r0's quants
    float acc[R];
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = 0.0f;
    for (int u0 = t; u0 < n_units; u0 += THREADS * UPI) {
        int4 a[UPI], b[UPI], q[UPI][R];
        float2 ds[UPI];
        uint32_t d[UPI][R];
#pragma unroll
        for (int k = 0; k < UPI; ++k) {
            const int u = u0 + k * THREADS;
            if (u < n_units) {
#pragma unroll
                for (int r = 0; r < R; ++r) {
                    q[k][r] = load16_stream(qp + (static_cast<int64_t>(r) * n_units + u) * 16);
                    d[k][r] = load_u16(dp + (static_cast<int64_t>(r) * n_units + u) * 2);
                }
                a[k] = load16(xq + u * 32);
                b[k] = load16(xq + u * 32 + 16);
                ds[k] = xds[u];
            }
        }
#pragma unroll
        for (int k = 0; k < UPI; ++k) {
            if (u0 + k * THREADS < n_units) {
#pragma unroll
                for (int r = 0; r < R; ++r) {
                    const int s = dot_nibbles(q[k][r], a[k], b[k]);
                    acc[r] += half_to_float(static_cast<uint16_t>(d[k][r])) * (ds[k].x * static_cast<float>(s) - 8.0f * ds[k].y);
                }
            }
        }
    }
    __shared__ float part[kWarps][R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) acc[r] += rf_shfl_xor(acc[r], off);
    }
    if (lane == 0) {
#pragma unroll
        for (int r = 0; r < R; ++r) part[warp][r] = acc[r];
    }
    __syncthreads();
    if (t < R) {
        float s = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) s += part[w][t];
        y[r0 + t] = s;
    }
}

}  // namespace

std::vector<ColsplitTiming> time_matvec_colsplit(cudaStream_t stream, int64_t rows, int64_t cols, int copies, int reps) {
    const int64_t bpr = cols / 32, n_blocks = rows * bpr;
    const size_t d_bytes = align_up(static_cast<size_t>(n_blocks) * 2, kPlaneAlign);
    const size_t mat_bytes = d_bytes + static_cast<size_t>(n_blocks) * 16;
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
        fill.launch(fill_random_kernel, dim3(static_cast<unsigned>((total + 255) / 256)), dim3(256), 0, w, total, 7u);
        fill.launch(fill_random_kernel, dim3(static_cast<unsigned>((cols + 255) / 256)), dim3(256), 0,
                    reinterpret_cast<uint8_t*>(xq), cols, 11u);
    }
    // scales: f16 in [0.5, 1) in every d plane (random bytes would give infinities); x: unit scales
    std::vector<uint16_t> dh(static_cast<size_t>(n_blocks));
    for (size_t i = 0; i < dh.size(); ++i) dh[i] = static_cast<uint16_t>(0x3800 + (i * 2654435761u >> 22) % 1024);
    for (int c = 0; c < copies; ++c)
        RF_GPU_CALL(cudaMemcpyAsync(w + static_cast<size_t>(c) * mat_bytes, dh.data(), dh.size() * 2, cudaMemcpyHostToDevice, stream));
    std::vector<float2> ds(static_cast<size_t>(bpr), make_float2(1.0f / 64.0f, 0.5f));
    RF_GPU_CALL(cudaMemcpyAsync(xds, ds.data(), ds.size() * sizeof(float2), cudaMemcpyHostToDevice, stream));
    auto mat = [&](int c) {
        QMatrix q;
        q.plane[0] = w + static_cast<size_t>(c) * mat_bytes;
        q.plane[1] = q.plane[0] + d_bytes;
        q.rows = rows;
        q.cols = cols;
        q.blocks_per_row = bpr;
        return q;
    };
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
    cudaEvent_t e0, e1;
    RF_GPU_CALL(cudaEventCreate(&e0));
    RF_GPU_CALL(cudaEventCreate(&e1));
    // variant 0: the many-token kernel (three units per lane per iteration); else a column split
    auto run = [&](int v, const QMatrix& q) {
        Launcher l(Launcher::Mode::Launch, stream, false);
        const unsigned r4 = static_cast<unsigned>(rows / 4), r8 = static_cast<unsigned>(rows / 8);
        switch (v) {
            case 0: {
                MatvecArgs b = a;
                b.m[0] = q;
                l.launch(matvec_kernel<QuantPolicy<TensorType::Q4_0>, 1, 1, false, false, true>, dim3(r4), dim3(kMatvecThreads),
                         0, b);
                break;
            }
            case 1: l.launch(colsplit_q4_0_kernel<128, 4, 1>, dim3(r4), dim3(128), 0, q, xq, xds, y); break;
            case 2: l.launch(colsplit_q4_0_kernel<128, 4, 2>, dim3(r4), dim3(128), 0, q, xq, xds, y); break;
            case 3: l.launch(colsplit_q4_0_kernel<128, 8, 1>, dim3(r8), dim3(128), 0, q, xq, xds, y); break;
            case 4: l.launch(colsplit_q4_0_kernel<256, 8, 1>, dim3(r8), dim3(256), 0, q, xq, xds, y); break;
            case 5: l.launch(colsplit_q4_0_kernel<256, 4, 1>, dim3(r4), dim3(256), 0, q, xq, xds, y); break;
            case 6: l.launch(colsplit_q4_0_kernel<64, 4, 1>, dim3(r4), dim3(64), 0, q, xq, xds, y); break;
            case 7: l.launch(colsplit_q4_0_kernel<64, 4, 2>, dim3(r4), dim3(64), 0, q, xq, xds, y); break;
            default: l.launch(colsplit_q4_0_kernel<128, 2, 2>, dim3(static_cast<unsigned>(rows / 2)), dim3(128), 0, q, xq, xds, y); break;
        }
    };
    const char* names[] = {"many-token (warp per row)", "split 128 thr x 4 rows", "split 128 x 4, 2 units/it",
                           "split 128 x 8 rows",        "split 256 x 8 rows",     "split 256 x 4 rows",
                           "split 64 x 4 rows",         "split 64 x 4, 2 units/it", "split 128 x 2, 2 units/it"};
    constexpr int kVariants = 9;
    auto time = [&](int v) {
        std::vector<float> ms;
        for (int r = -copies; r < reps; ++r) {  // the first round warms up
            const QMatrix q = mat((r + copies) % copies);
            RF_GPU_CALL(cudaEventRecord(e0, stream));
            run(v, q);
            RF_GPU_CALL(cudaEventRecord(e1, stream));
            RF_GPU_CALL(cudaEventSynchronize(e1));
            float t = 0;
            RF_GPU_CALL(cudaEventElapsedTime(&t, e0, e1));
            if (r >= 0) ms.push_back(t);
        }
        std::sort(ms.begin(), ms.end());
        return static_cast<double>(ms[ms.size() / 2]) * 1000.0;
    };
    auto output = [&](int v) {
        run(v, mat(0));
        std::vector<float> h(static_cast<size_t>(rows));
        RF_GPU_CALL(cudaMemcpyAsync(h.data(), y, h.size() * 4, cudaMemcpyDeviceToHost, stream));
        RF_GPU_CALL(cudaStreamSynchronize(stream));
        return h;
    };
    const std::vector<float> ref = output(0);
    std::vector<ColsplitTiming> out(kVariants);
    for (int v = 0; v < kVariants; ++v) {
        out[static_cast<size_t>(v)].name = names[v];
        const std::vector<float> got = output(v);
        double worst = 0.0, scale = 0.0;
        for (size_t i = 0; i < ref.size(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(ref[i])));
        for (size_t i = 0; i < ref.size(); ++i)
            worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - ref[i]) / std::max(scale, 1e-30));
        out[static_cast<size_t>(v)].max_rel_diff = worst;
    }
    for (int pass = 0; pass < 2; ++pass)  // twice, alternating (drift); the faster of the two
        for (int v = 0; v < kVariants; ++v) {
            const double us = time(v);
            double& best = out[static_cast<size_t>(v)].us;
            best = pass == 0 ? us : std::min(best, us);
        }
    RF_GPU_CALL(cudaEventDestroy(e0));
    RF_GPU_CALL(cudaEventDestroy(e1));
    RF_GPU_CALL(cudaFree(w));
    RF_GPU_CALL(cudaFree(xq));
    RF_GPU_CALL(cudaFree(xds));
    RF_GPU_CALL(cudaFree(y));
    return out;
}

}  // namespace rf::gpu
