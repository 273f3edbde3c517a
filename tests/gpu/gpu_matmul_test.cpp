// Matrix products of every weight type against the CPU: odd row counts, odd legal widths, token
// counts on both sides of the matvec / GEMM switch, with and without bias; and the fused
// neighbours (q/k/v sharing an input, gate + up + swiglu, matmul + residual add).
#include <gtest/gtest.h>

#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
                                TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
                                TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

// Error bound of y = x . W^T against the CPU (which computes in f32 from the same weights).
// Quantized types see the q8_1 rounding of x (~3e-5 for Gaussian inputs); many-token products
// on the vendor GEMM see x rounded to f16 / bf16.
double matmul_bound(TensorType t) {
    switch (t) {
        case TensorType::F32: return 1e-10;
        case TensorType::F16: return 1e-6;
        case TensorType::BF16: return 3e-5;
        default: return 4e-4;
    }
}

struct HostWeight {
    std::vector<uint8_t> bytes;
    Weight cpu, gpu;
};

HostWeight make_weight(TensorType t, int64_t rows, int64_t cols, uint32_t seed) {
    HostWeight w;
    w.bytes = random_weight_bytes(t, rows, cols, seed);
    w.cpu.type = t;
    w.cpu.cols = cols;
    w.cpu.rows = rows;
    w.cpu.data = w.bytes.data();
    w.cpu.row_bytes = row_size(t, cols);
    w.gpu = gpu().load_weight(t, cols, rows, 1, w.bytes.data());
    return w;
}

// sum_t sum_r sum_k (w[r, k] x[t, k])^2: the error of a dot product from rounding its terms
// scales with this, not with the (possibly cancelling) result, so a bound on
// sum (gpu - cpu)^2 / product_scale holds even for a single output.
double product_scale(const HostWeight& w, const std::vector<float>& x, int64_t T) {
    std::vector<float> row(static_cast<size_t>(w.cpu.cols));
    double s = 0.0;
    for (int64_t r = 0; r < w.cpu.rows; ++r) {
        cpu::weight_row_to_f32(w.cpu, 0, r, row.data());
        for (int64_t t = 0; t < T; ++t)
            for (int64_t k = 0; k < w.cpu.cols; ++k) {
                const double p = static_cast<double>(row[static_cast<size_t>(k)]) * x[static_cast<size_t>(t * w.cpu.cols + k)];
                s += p * p;
            }
    }
    return s;
}

std::vector<float> cpu_matmul(const HostWeight& w, const std::vector<float>& x, int64_t T, const float* bias) {
    std::vector<float> y(static_cast<size_t>(T * w.cpu.rows));
    cpu::matmul(pool(), w.cpu, {const_cast<float*>(x.data()), T, w.cpu.cols}, {y.data(), T, w.cpu.rows}, bias);
    return y;
}

// A step of T sequences of one token each (batched decode), begun before a test's ops where the
// dispatch depends on it (the int8-mma matvec).
void begin_decode_batch(int64_t T) {
    StepPlan p;
    for (int32_t t = 0; t < static_cast<int32_t>(T); ++t) {
        p.tokens.push_back(0);
        p.positions.push_back(0);
        p.kv_slots.push_back(t * 16);
        p.token_seq.push_back(t);
        p.seqs.push_back(SeqStep{t, 1, 0, {t}, -1});
        p.output_rows.push_back(t);
    }
    gpu().begin_step(p);
}

void check_odd_shapes(const std::vector<TensorType>& types, const std::vector<int64_t>& token_counts, bool decode_batch = false) {
    uint32_t seed = 100;
    for (TensorType t : types) {
        const int64_t bs = block_size(t);
        const int64_t widths[] = {bs == 1 ? 31 : bs, bs == 1 ? 33 : bs * 3, bs == 1 ? 4097 : bs * (bs == 256 ? 17 : 129)};
        for (int64_t cols : widths)
            for (int64_t rows : {1, 31, 33, 300})
                for (int64_t T : token_counts) {
                    if (rows == 300 && T != 1 && T != 9) continue;  // keep the run short
                    HostWeight w = make_weight(t, rows, cols, ++seed);
                    const auto x = random_floats(static_cast<size_t>(T * cols), ++seed);
                    const auto bias = random_floats(static_cast<size_t>(rows), ++seed);
                    const Weight bg = gpu().load_weight(TensorType::F32, rows, 1, 1, bias.data());
                    DeviceActs dx(x, T, cols), dy(T, rows);
                    for (bool with_bias : {false, true}) {
                        if (with_bias && T != 1 && T != 9) continue;
                        dy.poison();
                        if (decode_batch) begin_decode_batch(T);
                        gpu().matmul(w.gpu, dx.act(), dy.act(), with_bias ? &bg : nullptr);
                        const auto ref = cpu_matmul(w, x, T, with_bias ? bias.data() : nullptr);
                        const auto got = dy.get();
                        const std::string what = std::string("matmul ") + type_name(t) + " " + std::to_string(rows) + "x" +
                                                 std::to_string(cols) + " T=" + std::to_string(T) + (with_bias ? " bias" : "");
                        ASSERT_TRUE(all_finite(got)) << what;
                        double err = 0.0;
                        for (size_t i = 0; i < got.size(); ++i) err += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
                        // relative to the terms (any size), and plain NMSE where there are enough outputs
                        EXPECT_LE(err / product_scale(w, x, T), matmul_bound(t)) << what;
                        if (rows * T >= 64) EXPECT_NMSE_LE(got, ref, 3 * matmul_bound(t), what);
                    }
                }
    }
}

TEST(GpuMatmul, EveryTypeOddShapesAndTokenCounts) {
    check_odd_shapes(std::vector<TensorType>(std::begin(kAllTypes), std::end(kAllTypes)), {1, 2, 5, 8, 9, 33});
}

// A larger shape that exercises several warps per row, 2 rows per warp and the tail units; the
// 0.5b down projection's shape (896 x 4864: the one-token kernel's wide variant, a lane's 4.75
// units in one batch), the 7b q/k/v width (the many-token kernel's whole rows) and an output-like
// height (70000 rows: Q6_K on 128-thread blocks, short rows on the persistent grid). The whole-row
// loads (RF_GPU_MATVEC_WHOLE_ROW) and the one-token units in flight (RF_GPU_MATVEC1_WIDE) change when
// weights are loaded, not a bit of the result.
TEST(GpuMatmul, WideAndTallShapes) {
    uint32_t seed = 900;
    for (TensorType t : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::F16}) {
        for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 18944}, {9000, 256}, {20000, 1024}, {896, 4864}, {4608, 3584}, {70000, 512}}) {
            HostWeight w = make_weight(t, rows, cols, ++seed);
            const auto x = random_floats(static_cast<size_t>(cols), ++seed);
            DeviceActs dx(x, 1, cols), dy(1, rows);
            const std::string what = std::string("matmul ") + type_name(t) + " " + std::to_string(rows) + "x" + std::to_string(cols);
            dy.poison();
            gpu().matmul(w.gpu, dx.act(), dy.act(), nullptr);
            const auto got = dy.get();
            EXPECT_NMSE_LE(got, cpu_matmul(w, x, 1, nullptr), matmul_bound(t), what);
            // (matvec1 "1": the kernels by shape; "0": the many-token kernel everywhere; triple: long
            // Q4_0 rows three units per iteration, the sums in another order)
            auto run = [&](const char* matvec1, const char* whole, const char* triple = "on", const char* wide = "tall") {
                ScopedEnv mv("RF_GPU_MATVEC1", matvec1), wr("RF_GPU_MATVEC_WHOLE_ROW", whole),
                    tr("RF_GPU_MATVEC_TRIPLE", triple), wi("RF_GPU_MATVEC1_WIDE", wide);
                dy.poison();
                gpu().matmul(w.gpu, dx.act(), dy.act(), nullptr);
                return dy.get();
            };
            EXPECT_EQ(got, run("1", "on")) << what << ": whole-row loads changed the result";
            for (const char* wide : {"off", "shape", "all"})
                EXPECT_EQ(got, run("1", "off", "on", wide)) << what << ": one-token units in flight (" << wide << ") changed the result";
            EXPECT_EQ(run("0", "on", "off"), run("0", "off", "off")) << what << ": many-token kernel: whole-row loads changed the result";
            const auto many = run("0", "off");
            EXPECT_NMSE_LE(many, cpu_matmul(w, x, 1, nullptr), matmul_bound(t), what + " (many-token kernel)");
            EXPECT_NMSE_LE(many, run("0", "off", "off"), 1e-10, what + ": three units per iteration vs two");
        }
    }
}

// The fused launches write what the unfused ops write.
void check_fused_neighbours(const std::vector<TensorType>& types, const std::vector<int64_t>& token_counts, bool decode_batch = false) {
    uint32_t seed = 2000;
    for (TensorType t : types) {
        for (int64_t T : token_counts) {
            for (bool fuse : {true, false}) {
                gpu().set_fuse_ops(fuse);
                const int64_t E = 256, F = 512, KV = 64;
                const auto x0 = random_floats(static_cast<size_t>(T * E), ++seed);
                const auto nw = random_floats(static_cast<size_t>(E), ++seed);
                const Weight norm = gpu().load_weight(TensorType::F32, E, 1, 1, nw.data());
                HostWeight wq = make_weight(t, E, E, ++seed), wk = make_weight(t, KV, E, ++seed), wv = make_weight(t, KV, E, ++seed);
                HostWeight wg = make_weight(t, F, E, ++seed), wu = make_weight(t, F, E, ++seed), wd = make_weight(t, E, F, ++seed);
                const auto bq = random_floats(static_cast<size_t>(E), ++seed);
                const Weight bqg = gpu().load_weight(TensorType::F32, E, 1, 1, bq.data());
                DeviceActs x(x0, T, E), h(T, E), q(T, E), k(T, KV), v(T, KV), g(T, F), u(T, F);
                for (DeviceActs* a : {&h, &q, &k, &v, &g, &u}) a->poison();
                if (decode_batch) begin_decode_batch(T);
                // attention-input block: norm, q/k/v; ffn: norm, gate, up, swiglu, down + residual
                gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
                gpu().matmul(wq.gpu, h.act(), q.act(), &bqg);
                gpu().matmul(wk.gpu, h.act(), k.act(), nullptr);
                gpu().matmul(wv.gpu, h.act(), v.act(), nullptr);
                gpu().matmul(wg.gpu, h.act(), g.act(), nullptr);
                gpu().matmul(wu.gpu, h.act(), u.act(), nullptr);
                gpu().swiglu(g.act(), u.act(), g.act());
                gpu().matmul(wd.gpu, g.act(), h.act(), nullptr);
                gpu().add(x.act(), h.act(), x.act());

                std::vector<float> hx(static_cast<size_t>(T * E));
                cpu::rms_norm(pool(), {const_cast<float*>(x0.data()), T, E}, nw.data(), 1e-6f, {hx.data(), T, E});
                const auto rq = cpu_matmul(wq, hx, T, bq.data());
                const auto rk = cpu_matmul(wk, hx, T, nullptr), rv = cpu_matmul(wv, hx, T, nullptr);
                auto rg = cpu_matmul(wg, hx, T, nullptr);
                const auto ru = cpu_matmul(wu, hx, T, nullptr);
                cpu::swiglu(pool(), {rg.data(), T, F}, {const_cast<float*>(ru.data()), T, F}, {rg.data(), T, F});
                const auto rd = cpu_matmul(wd, rg, T, nullptr);
                std::vector<float> rx = x0;
                for (size_t i = 0; i < rx.size(); ++i) rx[i] += rd[i];
                const double b = matmul_bound(t) * 3;
                const std::string what = std::string(type_name(t)) + " T=" + std::to_string(T) + (fuse ? " fused" : " unfused");
                EXPECT_NMSE_LE(q.get(), rq, b, "q " + what);
                EXPECT_NMSE_LE(k.get(), rk, b, "k " + what);
                EXPECT_NMSE_LE(v.get(), rv, b, "v " + what);
                EXPECT_NMSE_LE(u.get(), ru, b, "up " + what);
                EXPECT_NMSE_LE(g.get(), rg, b, "swiglu " + what);
                EXPECT_NMSE_LE(h.get(), rd, b * 3, "down " + what);
                EXPECT_NMSE_LE(x.get(), rx, b * 3, "residual " + what);
            }
        }
    }
    gpu().set_fuse_ops(true);
}

TEST(GpuMatmul, FusedNeighboursMatchTheCpu) {
    check_fused_neighbours({TensorType::Q4_0, TensorType::Q5_1, TensorType::Q4_K, TensorType::Q6_K, TensorType::F16}, {1, 3});
}

// The int8-mma matvec (matvec_mma.cu: Q4_0 / Q8_0, by default 5-16 tokens of batched decode on sm_80+): every shape, bias,
// the fused q/k/v, SwiGLU and residual epilogues, at 2-16 tokens, against the CPU, in batched-decode
// steps with the dispatch forced onto it where the device has int8 mma.
TEST(GpuMatmul, Int8MmaMatvecMatchesTheCpu) {
    gpu::DispatchTable t = gpu::dispatch_table_for(gpu().device_info().arch);
    if (t.gemm_compute != gpu::GemmCompute::Mma) GTEST_SKIP() << "no int8 mma on " << gpu().device_info().arch;
    t.matvec_mma_min_tokens = 2;
    t.matvec_mma_max_tokens = 16;
    t.matvec_mma_min_weights = 0;  // (small matrices too: not left to the one-token kernel)
    gpu::set_dispatch_override(&t);
    check_odd_shapes({TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K}, {2, 5, 8, 9, 16}, /*decode_batch=*/true);
    check_fused_neighbours({TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K}, {3, 8, 12}, /*decode_batch=*/true);
    // rows whose block count is a multiple of 8 (the scales staged with the codes), at every split of a
    // block (warps per block / warps per 16-row tile): the CPU's products, and the splits within
    // rounding of each other; the fused launches (SwiGLU's two tiles) with one and two warps per tile
    uint32_t seed = 4000;
    const std::pair<const char*, const char*> splits[] = {{"4", "4"}, {"4", "2"}, {"4", "1"}, {"8", "8"}, {"8", "4"}, {"8", "2"}};
    for (TensorType type : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K})
        for (auto [rows, cols] : {std::pair<int64_t, int64_t>{33, 256}, {301, 2048}, {4100, 3584}})
            for (int64_t T : {5, 8, 13}) {
                HostWeight w = make_weight(type, rows, cols, ++seed);
                const auto x = random_floats(static_cast<size_t>(T * cols), ++seed);
                DeviceActs dx(x, T, cols), dy(T, rows);
                auto run = [&](const char* warps, const char* split) {
                    ScopedEnv e("RF_GPU_MATVEC_MMA_WARPS", warps), f("RF_GPU_MATVEC_MMA_SPLIT", split);
                    dy.poison();
                    begin_decode_batch(T);
                    gpu().matmul(w.gpu, dx.act(), dy.act(), nullptr);
                    return dy.get();
                };
                const std::string what = std::string("int8-mma ") + type_name(type) + " " + std::to_string(rows) + "x" +
                                         std::to_string(cols) + " T=" + std::to_string(T);
                const auto ref = run("4", "4");
                ASSERT_TRUE(all_finite(ref)) << what;
                EXPECT_NMSE_LE(ref, cpu_matmul(w, x, T, nullptr), 3 * matmul_bound(type), what + " (4 warps)");
                for (auto [warps, split] : splits) {
                    const auto got = run(warps, split);
                    ASSERT_TRUE(all_finite(got)) << what << " " << warps << "/" << split;
                    EXPECT_NMSE_LE(got, ref, 1e-10, what + " (" + warps + " warps, " + split + " per tile, vs 4 / 4)");
                }
            }
    for (const char* split : {"1", "2"}) {
        ScopedEnv f("RF_GPU_MATVEC_MMA_SPLIT", split);
        check_fused_neighbours({TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K}, {5, 12}, /*decode_batch=*/true);
    }
    gpu::set_dispatch_override(nullptr);
    begin_decode_batch(1);  // (later tests' direct ops do not run in a batched-decode step)
}

}  // namespace
}  // namespace rf::gputest
