#include "gpu_bench_matvecn.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <utility>

#include "backend/gpu/matvec.cuh"
#include "backend/gpu/norm_quant.cuh"
#include "backend/gpu/gpu_weight_layout.h"
#include "gpu_bench_device.h"

namespace rf::bench {

// The batched-decode products: N tokens through one 7b-shaped matrix (or gate + up with SwiGLU).
int run_matvecn(const std::vector<std::string>& types, const std::vector<int>& token_counts, int reps) {
    BenchDevice dev;
    GpuBackend* be = dev.be.get();
    const GpuDeviceInfo& info = dev.info;
    cudaStream_t stream = dev.stream;
    fmt::print("device: {} ({} SMs); batched-decode products, weights rotated through copies of >= 400 MB\n", info.name,
               info.multiprocessors);
    std::vector<std::string> names = types;
    if (names.empty()) names = {"q4_0", "q8_0", "q4_K", "q6_K"};
    struct Shape {
        int64_t rows, cols;
        bool swiglu;
    };
    const Shape shapes[] = {{3584, 3584, false}, {4608, 3584, false}, {3584, 18944, false}, {18944, 3584, true},
                            {1152, 896, false},  {896, 896, false},   {896, 4864, false},  {4864, 896, true}};
    cudaEvent_t e0, e1;
    RF_GPU_CHECK(cudaEventCreate(&e0));
    RF_GPU_CHECK(cudaEventCreate(&e1));
    fmt::print("{:<6} {:>14} {:>4} {:>8}  {:>9}  {:>7}  {}\n", "type", "shape", "tok", "MB", "dp4a us", "GB/s",
               "int8-mma warps per block / per row tile: us");
    for (const std::string& nm : names) {
        const auto t = parse_tensor_type(nm);
        if (!t) fail("gpu_bench: unknown type {}", nm);
        for (const Shape& sh : shapes) {
            const int64_t rows = sh.rows, cols = sh.cols;
            if (cols % block_size(*t) != 0) continue;  // (K-quants: the 0.5b's 896-wide rows)
            const int n_mats = sh.swiglu ? 2 : 1;
            const auto host = random_weight(*t, rows, cols, static_cast<uint64_t>(rows * 31 + cols));
            const size_t bytes = host.size() * static_cast<size_t>(n_mats);
            const int copies = static_cast<int>(std::clamp<size_t>((400u << 20) / bytes + 1, 1, 16)) * n_mats;
            std::vector<Weight> ws;
            for (int c = 0; c < copies; ++c) ws.push_back(be->load_weight(*t, cols, rows, 1, host.data()));
            for (int n : token_counts) {
                std::vector<float> xh(static_cast<size_t>(cols * n));
                std::mt19937 rng(1);
                std::normal_distribution<float> nd;
                for (auto& v : xh) v = nd(rng);
                auto* x = static_cast<float*>(be->alloc(xh.size() * 4));
                be->upload(x, xh.data(), xh.size() * 4);
                const size_t ybytes = static_cast<size_t>(rows * n) * 4;
                float* y[3] = {static_cast<float*>(be->alloc(ybytes)), static_cast<float*>(be->alloc(ybytes)),
                               static_cast<float*>(be->alloc(ybytes))};
                const size_t q8 = gpu::align_up(static_cast<size_t>(cols * n), 16);
                auto* xq = static_cast<int8_t*>(be->alloc(q8 + static_cast<size_t>(cols / 32 * n) * 8));
                auto* xds = reinterpret_cast<float2*>(xq + q8);
                gpu::Launcher l(gpu::Launcher::Mode::Launch, stream);
                gpu::launch_quantize_q8_1(l, x, n, cols, xq, xds);
                auto args_for = [&](int i) {
                    gpu::MatvecArgs a = gpu::zeroed<gpu::MatvecArgs>();
                    const int c0 = (i * n_mats) % copies;
                    for (int m = 0; m < n_mats; ++m) {
                        a.m[m] = gpu::qmatrix(*t, ws[static_cast<size_t>((c0 + m) % copies)].data, rows, cols);
                        a.ldy[m] = rows;
                        a.y[m] = y[m];
                    }
                    if (sh.swiglu) {
                        a.y[2] = y[2];
                        a.ldy[2] = rows;
                        a.epilogue = static_cast<int32_t>(gpu::MatvecEpilogue::SwiGlu);
                    }
                    a.row_end[0] = a.row_end[1] = a.row_end[2] = rows;
                    a.total_rows = rows;
                    a.n_tok = n;
                    a.n_mats = n_mats;
                    a.x = xq;
                    a.xds = xds;
                    a.x_stride = cols;
                    return a;
                };
                const gpu::MatvecConfig chosen = gpu::choose_matvec_config(*t, rows, cols, info.multiprocessors);
                const double dp4a = median_launch_us(stream, e0, e1, reps, [&](int i) {
                    gpu::MatvecArgs a = args_for(i);
                    a.warps_per_row = chosen.warps_per_row;
                    gpu::launch_matvec_q(l, *t, a, chosen);
                });
                // (warps per block, warps per row tile) of the int8-mma kernel
                const std::pair<int, int> splits[] = {{4, 4}, {4, 2}, {4, 1}, {8, 8}, {8, 4}, {8, 2}};
                std::string mma_cols;
                double best = dp4a;
                for (const auto& split : splits) {
                    const int w = split.first, ks = split.second;  // (not a structured binding: hipcc's clang
                                                                   // cannot capture one in the lambda below)
                    if (!gpu::matvec_mma_supports(*t, n, cols) || (sh.swiglu && w == 8)) continue;
                    gpu::MatvecConfig c = chosen;
                    c.mma = true;
                    const double us = median_launch_us(stream, e0, e1, reps, [&](int i) {
                        gpu::MatvecArgs a = args_for(i);
                        a.warps_per_row = c.warps_per_row;
                        a.mma_warps = w;
                        a.mma_split = ks;
                        gpu::launch_matvec_q(l, *t, a, c);
                    });
                    best = std::min(best, us);
                    mma_cols += fmt::format(" {}/{}: {:.2f}", w, ks, us);
                }
                fmt::print("{:<6} {:>14} {:>4} {:>8.2f}  {:>9.2f}  {:>7.0f} {}\n", nm,
                           fmt::format("{}x{}{}", rows, cols, sh.swiglu ? " x2" : ""), n, bytes / 1e6, dp4a,
                           static_cast<double>(bytes) / (best * 1e-6) / 1e9, mma_cols);
                std::fflush(stdout);
                be->release(x);
                for (float* p : y) be->release(p);
                be->release(xq);
            }
            for (const Weight& w : ws) be->release(const_cast<void*>(w.data));
        }
    }
    return 0;
}

}  // namespace rf::bench
