#include "backend/gpu/matvec_colsplit_probe.cuh"

#include <algorithm>
#include <cmath>

#include "backend/gpu/matvec_probe_common.cuh"

namespace rf::gpu {
namespace {

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
                    acc[r] += QDot<TensorType::Q4_0>::scaled(d[k][r], ds[k], dot_nibbles(q[k][r], a[k], b[k]));
                }
            }
        }
    }
    __shared__ float part[kWarps][R];
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = rf_warp_sum(acc[r]);
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
    const ProbeQ4_0 p(stream, rows, cols, copies);
    // variant 0: the many-token kernel (three units per lane per iteration); else a column split
    auto run = [&](int v, int c) {
        const QMatrix q = p.mat(c);
        Launcher l(Launcher::Mode::Launch, stream, false);
        const unsigned r4 = static_cast<unsigned>(rows / 4), r8 = static_cast<unsigned>(rows / 8);
        switch (v) {
            case 0:
                l.launch(matvec_kernel<QuantPolicy<TensorType::Q4_0>, 1, 1, false, false, true>, dim3(r4), dim3(kMatvecThreads),
                         0, p.args(c));
                break;
            case 1: l.launch(colsplit_q4_0_kernel<128, 4, 1>, dim3(r4), dim3(128), 0, q, p.xq, p.xds, p.y); break;
            case 2: l.launch(colsplit_q4_0_kernel<128, 4, 2>, dim3(r4), dim3(128), 0, q, p.xq, p.xds, p.y); break;
            case 3: l.launch(colsplit_q4_0_kernel<128, 8, 1>, dim3(r8), dim3(128), 0, q, p.xq, p.xds, p.y); break;
            case 4: l.launch(colsplit_q4_0_kernel<256, 8, 1>, dim3(r8), dim3(256), 0, q, p.xq, p.xds, p.y); break;
            case 5: l.launch(colsplit_q4_0_kernel<256, 4, 1>, dim3(r4), dim3(256), 0, q, p.xq, p.xds, p.y); break;
            case 6: l.launch(colsplit_q4_0_kernel<64, 4, 1>, dim3(r4), dim3(64), 0, q, p.xq, p.xds, p.y); break;
            case 7: l.launch(colsplit_q4_0_kernel<64, 4, 2>, dim3(r4), dim3(64), 0, q, p.xq, p.xds, p.y); break;
            default:
                l.launch(colsplit_q4_0_kernel<128, 2, 2>, dim3(static_cast<unsigned>(rows / 2)), dim3(128), 0, q, p.xq, p.xds, p.y);
                break;
        }
    };
    const char* names[] = {"many-token (warp per row)", "split 128 thr x 4 rows", "split 128 x 4, 2 units/it",
                           "split 128 x 8 rows",        "split 256 x 8 rows",     "split 256 x 4 rows",
                           "split 64 x 4 rows",         "split 64 x 4, 2 units/it", "split 128 x 2, 2 units/it"};
    constexpr int kVariants = 9;
    run(0, 0);
    const std::vector<float> ref = p.output(stream);
    double scale = 0.0;
    for (float r : ref) scale = std::max(scale, std::fabs(static_cast<double>(r)));
    std::vector<ColsplitTiming> out(kVariants);
    for (int v = 0; v < kVariants; ++v) {
        out[static_cast<size_t>(v)].name = names[v];
        run(v, 0);
        const std::vector<float> got = p.output(stream);
        double worst = 0.0;
        for (size_t i = 0; i < ref.size(); ++i)
            worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - ref[i]) / std::max(scale, 1e-30));
        out[static_cast<size_t>(v)].max_rel_diff = worst;
    }
    for (int pass = 0; pass < 2; ++pass)  // twice, alternating (drift); the faster of the two
        for (int v = 0; v < kVariants; ++v) {
            const double us = probe_median_us(stream, p, reps, [&](int c) { run(v, c); });
            double& best = out[static_cast<size_t>(v)].us;
            best = pass == 0 ? us : std::min(best, us);
        }
    return out;
}

}  // namespace rf::gpu
