// The matmul driver (decode split, prefill tiles, OpenBLAS for f32) for every weight type and
// tier, odd shapes (1, 3, 7, 33 rows; 1, 2, 5, 17 tokens), against float math on the
// dequantized weights within the activation-quantization bound (see backend_cpu_quant_dot_test),
// and 1 vs 2 threads giving the same bits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/quant_dot/quant_dot.h"
#include "backend_cpu_test_util.h"
#include "core/half.h"
#include "formats/quant_blocks.h"

namespace rf {
namespace {

int64_t cols_for(TensorType t) {
    const int64_t bs = block_size(t);
    return bs == 1 ? 37 : bs == 32 ? 96 : 512;
}

// max over outputs of |y - exact| / bound, where bound is the activation quantization error
// plus f32 rounding (and Q8_1's f16 sums).
double worst_ratio(TensorType wt, const std::vector<uint8_t>& w, int64_t rows, int64_t cols,
                   const std::vector<float>& x, int64_t tokens, const std::vector<float>& y) {
    const cpu::DotKernel k = cpu::dot_kernel(wt);
    const bool blas = wt == TensorType::F32 && tokens >= 16;
    std::vector<float> wf(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)
        dequantize_row(wt, w.data() + r * row_size(wt, cols), wf.data() + r * cols, cols);
    double worst = 0;
    for (int64_t t = 0; t < tokens; ++t) {
        const float* xt = x.data() + t * cols;
        std::vector<float> xq(xt, xt + cols);
        std::vector<uint8_t> a(cpu::act_row_bytes(k.act, cols));
        if (!blas && k.act != cpu::ActFormat::f32) {
            cpu::quantize_activation(k.act, xt, a.data(), cols);
            cpu::dequantize_activation(k.act, a.data(), xq.data(), cols);
        }
        for (int64_t r = 0; r < rows; ++r) {
            double exact = 0, err = 0, mag = 0, sums = 0;
            for (int64_t i = 0; i < cols; ++i) {
                const double wv = wf[r * cols + i];
                exact += wv * xt[i];
                err += std::fabs(wv) * std::fabs(double(xt[i]) - xq[i]);
                mag += std::fabs(wv * xq[i]);
            }
            if (wt == TensorType::Q4_1 || wt == TensorType::Q5_1) {
                for (int64_t b = 0; b < cols / 32; ++b) {
                    uint16_t m;
                    std::memcpy(&m, w.data() + r * row_size(wt, cols) + b * type_size(wt) + 2, 2);
                    double s = 0;  // |d sum(q)| of the activation block
                    for (int i = 0; i < 32; ++i) s += xq[b * 32 + i];
                    sums += std::fabs(f16_to_f32(m) * s) * std::ldexp(1.0, -9);
                }
            }
            const double bound = err + sums + 3e-5 * mag + 1e-30;
            worst = std::max(worst, std::fabs(y[t * rows + r] - exact) / bound);
        }
    }
    return worst;
}

class CpuMatmul : public testing::TestWithParam<TensorType> {};

TEST_P(CpuMatmul, OddShapesEveryTierWithinBoundAndThreadInvariant) {
    const TensorType wt = GetParam();
    test::CpuIsaGuard guard;
    ThreadPool one(1), two(2);
    const int64_t cols = cols_for(wt);
    for (cpu::CpuIsa isa : test::supported_cpu_isas()) {
        cpu::set_cpu_isa(isa);
        for (int64_t rows : {1, 3, 7, 33}) {
            const auto w = test::make_weights(wt, rows, cols, 300 + static_cast<uint32_t>(rows));
            Weight W;
            W.type = wt;
            W.cols = cols;
            W.rows = rows;
            W.data = w.data();
            W.row_bytes = row_size(wt, cols);
            for (int64_t tokens : {1, 2, 5, 17}) {
                SCOPED_TRACE(testing::Message()
                             << type_name(wt) << " isa=" << cpu::cpu_isa_name(isa)
                             << " rows=" << rows << " tokens=" << tokens);
                const auto x = test::random_floats(static_cast<size_t>(tokens * cols),
                                                   11 + static_cast<uint32_t>(tokens));
                std::vector<float> y1(static_cast<size_t>(tokens * rows), NAN), y2(y1.size(), NAN);
                cpu::matmul(one, W, {const_cast<float*>(x.data()), tokens, cols},
                            {y1.data(), tokens, rows}, nullptr);
                cpu::matmul(two, W, {const_cast<float*>(x.data()), tokens, cols},
                            {y2.data(), tokens, rows}, nullptr);
                EXPECT_LE(worst_ratio(wt, w, rows, cols, x, tokens, y1), 1.0);
                EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)))
                    << "1 vs 2 threads";
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, CpuMatmul, testing::ValuesIn(test::dot_weight_types()),
                         [](const testing::TestParamInfo<TensorType>& p) {
                             return std::string(type_name(p.param));
                         });

// A large decode and prefill product (many row tiles, several tiles per thread, 3 token groups
// with a partial one) equals the single-row kernel applied row by row.
TEST(CpuMatmul, TiledPrefillEqualsRowByRowKernel) {
    ThreadPool pool(2);
    const TensorType wt = TensorType::Q4_K;
    const int64_t rows = 1000, cols = 1024, tokens = 11;
    const auto w = test::make_weights(wt, rows, cols, 5, true);
    Weight W{wt, cols, rows, 1, w.data(), row_size(wt, cols)};
    const auto x = test::random_floats(static_cast<size_t>(tokens * cols), 6);
    std::vector<float> y(static_cast<size_t>(tokens * rows));
    cpu::matmul(pool, W, {const_cast<float*>(x.data()), tokens, cols}, {y.data(), tokens, rows},
                nullptr);
    const cpu::DotKernel k = cpu::dot_kernel(wt);
    std::vector<uint8_t> a(cpu::act_row_bytes(k.act, cols));
    for (int64_t t = 0; t < tokens; ++t) {
        cpu::quantize_activation(k.act, x.data() + t * cols, a.data(), cols);
        for (int64_t r = 0; r < rows; ++r) {
            float expect;
            k.dot(cols, w.data() + r * W.row_bytes, a.data(), 0, 1, &expect, 1);
            ASSERT_NEAR(y[t * rows + r], expect, 1e-5f * (1.0f + std::fabs(expect)))
                << "t=" << t << " r=" << r;
        }
    }
}

}  // namespace
}  // namespace rf
