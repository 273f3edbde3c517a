// The dot kernels of every SIMD tier this CPU runs (forced one by one), for every weight type
// and 1..4 token rows, against float math on the dequantized weights:
//   |kernel - sum w x| <= sum |w| |x - x_q|  (the activation quantization error, x_q being the
//                         activations as the kernel sees them: Q8 / BF16 decoded)
//                        + sum_blocks |m| |s| 2^-10   (Q8_1's f16 block sum, Q4_1 / Q5_1 only)
//                        + 3e-5 sum |w x_q|           (f32 rounding)
// and every tier against the scalar kernels (same integer sums, f32 order differs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/quant_dot/quant_dot.h"
#include "backend_cpu_test_util.h"
#include "core/half.h"
#include "formats/quant_blocks.h"

namespace rf {
namespace {

using cpu::CpuIsa;

// Row lengths with odd block counts (1, 3, 7 blocks; 1, 3 super-blocks; odd float lengths).
std::vector<int64_t> row_lengths(TensorType t) {
    const int64_t bs = block_size(t);
    if (bs == 1) return {1, 37, 64, 133};
    if (bs == 32) return {32, 96, 224};
    return {256, 768};
}

std::vector<float> decode_activation(cpu::ActFormat f, const uint8_t* a, int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    cpu::dequantize_activation(f, a, v.data(), n);
    return v;
}

// Sum over blocks of |m| |d sum(q)| 2^-9: Q8_1 keeps d sum(q) as an f16 (and its d was rounded to
// f16 after the quants were fitted), the q8_x4_sum format keeps it in f32; either differs from
// the sum of the decoded activations by less than this.
double q8_1_sum_term(TensorType w_type, const uint8_t* w, const std::vector<float>& xq, int64_t n) {
    if (w_type != TensorType::Q4_1 && w_type != TensorType::Q5_1) return 0.0;
    double s = 0.0;
    for (int64_t b = 0; b < n / 32; ++b) {
        uint16_t m;
        std::memcpy(&m, w + static_cast<size_t>(b) * type_size(w_type) + 2, 2);  // m follows d
        double sum = 0;
        for (int i = 0; i < 32; ++i) sum += xq[static_cast<size_t>(b * 32 + i)];
        s += std::fabs(f16_to_f32(m)) * std::fabs(sum);
    }
    return s * std::ldexp(1.0, -9);
}

void check_kernels(TensorType wt, bool random_bits) {
    test::CpuIsaGuard guard;
    for (const int64_t n : row_lengths(wt)) {
        const auto w = test::make_weights(wt, 1, n, 100 + static_cast<uint32_t>(n), random_bits);
        std::vector<float> wf(static_cast<size_t>(n));
        dequantize_row(wt, w.data(), wf.data(), n);
        const auto x = test::random_floats(static_cast<size_t>(n * cpu::kDotMaxTokens),
                                           7 + static_cast<uint32_t>(n));
        std::vector<float> scalar_out(cpu::kDotMaxTokens);
        for (CpuIsa isa : test::supported_cpu_isas()) {
            const cpu::DotKernel k = cpu::dot_kernel(wt, isa);
            ASSERT_NE(k.dot, nullptr);
            const size_t stride = cpu::act_row_bytes(k.act, n);
            std::vector<uint8_t> act(stride * cpu::kDotMaxTokens);
            for (int j = 0; j < cpu::kDotMaxTokens; ++j)
                cpu::quantize_activation(k.act, x.data() + j * n, act.data() + j * stride, n);
            for (int nt = 1; nt <= cpu::kDotMaxTokens; ++nt) {
                SCOPED_TRACE(testing::Message()
                             << type_name(wt) << " n=" << n << " isa=" << cpu::cpu_isa_name(isa)
                             << " nt=" << nt << (random_bits ? " random bits" : ""));
                std::vector<float> out(static_cast<size_t>(nt) * 3, -1.0f);
                k.dot(n, w.data(), act.data(), stride, nt, out.data(), 3);  // out_stride 3
                for (int j = 0; j < nt; ++j) {
                    const float* xj = x.data() + j * n;
                    const auto xq = decode_activation(k.act, act.data() + j * stride, n);
                    double exact = 0, act_err = 0, mag = 0;
                    for (int64_t i = 0; i < n; ++i) {
                        exact += double(wf[i]) * xj[i];
                        act_err += std::fabs(double(wf[i])) * std::fabs(double(xj[i]) - xq[i]);
                        mag += std::fabs(double(wf[i]) * xq[i]);
                    }
                    const double bound =
                        act_err + q8_1_sum_term(wt, w.data(), xq, n) + 3e-5 * mag + 1e-30;
                    const float got = out[static_cast<size_t>(j) * 3];
                    EXPECT_LE(std::fabs(got - exact), bound)
                        << "token " << j << " got " << got << " exact " << exact;
                    if (isa == CpuIsa::scalar && nt == cpu::kDotMaxTokens) scalar_out[j] = got;
                }
            }
            // Every tier whose activations take the scalar tier's values (all but BF16 on
            // avx512_vnni) gives the scalar result up to f32 rounding (and Q8_1's f16 sums).
            const cpu::DotKernel ks = cpu::dot_kernel(wt, CpuIsa::scalar);
            std::vector<uint8_t> sact(cpu::act_row_bytes(ks.act, n));
            bool same_values = true;
            for (int j = 0; j < cpu::kDotMaxTokens; ++j) {
                cpu::quantize_activation(ks.act, x.data() + j * n, sact.data(), n);
                same_values &= decode_activation(ks.act, sact.data(), n) ==
                               decode_activation(k.act, act.data() + j * stride, n);
            }
            if (isa != CpuIsa::scalar && same_values) {
                std::vector<float> out(cpu::kDotMaxTokens);
                k.dot(n, w.data(), act.data(), stride, cpu::kDotMaxTokens, out.data(), 1);
                for (int j = 0; j < cpu::kDotMaxTokens; ++j) {
                    double mag = 0;
                    const auto xq = decode_activation(k.act, act.data() + j * stride, n);
                    for (int64_t i = 0; i < n; ++i) mag += std::fabs(double(wf[i]) * xq[i]);
                    EXPECT_NEAR(out[j], scalar_out[j],
                                3e-5 * mag + 2 * q8_1_sum_term(wt, w.data(), xq, n) + 1e-30)
                        << type_name(wt) << " n=" << n << " isa=" << cpu::cpu_isa_name(isa)
                        << " token " << j;
                }
            }
        }
    }
}

class CpuQuantDot : public testing::TestWithParam<TensorType> {};

TEST_P(CpuQuantDot, EveryTierMatchesFloatMathOnQuantizedWeights) {
    check_kernels(GetParam(), false);
}

TEST_P(CpuQuantDot, EveryTierMatchesFloatMathOnRandomBlocks) {
    check_kernels(GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, CpuQuantDot, testing::ValuesIn(test::dot_weight_types()),
                         [](const testing::TestParamInfo<TensorType>& p) {
                             return std::string(type_name(p.param));
                         });

// The activation quantization error is what the bound says it is, not a loose catch-all: for
// Q8 activations of N(0,1) data it is below 1% of sum |w x|.
TEST(CpuQuantDot, ActivationErrorBoundIsTight) {
    const int64_t n = 256;
    const auto x = test::random_floats(n, 5);
    for (cpu::ActFormat act : {cpu::ActFormat::q8_0, cpu::ActFormat::q8_1, cpu::ActFormat::q8_k,
                               cpu::ActFormat::q8_x4_off8, cpu::ActFormat::q8_x4_sum}) {
        std::vector<uint8_t> a(cpu::act_row_bytes(act, n));
        cpu::quantize_activation(act, x.data(), a.data(), n);
        std::vector<float> xq(n);
        cpu::dequantize_activation(act, a.data(), xq.data(), n);
        double err = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
            err += std::fabs(double(x[i]) - xq[i]);
            mag += std::fabs(double(x[i]));
        }
        EXPECT_LT(err, 0.01 * mag) << cpu::act_format_name(act);
        EXPECT_GT(err, 0.0) << cpu::act_format_name(act);
    }
}

TEST(CpuQuantDot, EverySupportedTierCanBeForced) {
    test::CpuIsaGuard guard;
    for (CpuIsa isa : test::supported_cpu_isas()) EXPECT_EQ(cpu::set_cpu_isa(isa), isa);
    EXPECT_EQ(cpu::set_cpu_isa(CpuIsa::scalar), CpuIsa::scalar);
    EXPECT_EQ(cpu::cpu_isa(), CpuIsa::scalar);
}

}  // namespace
}  // namespace rf
