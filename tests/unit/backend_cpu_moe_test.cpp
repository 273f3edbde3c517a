// The CPU mixture-of-experts op (Backend::moe_ffn, cpu_moe.cpp): the routing (top-k of the softmax,
// ties to the lower expert, the chosen weights over their sum or over all) and the whole op against
// a plain per-token evaluation with dequantized expert rows, for f32 and q8_0 experts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "backend/moe_routing.h"
#include "core/error.h"
#include "formats/quant/quantize.h"

namespace rf::cpu {
namespace {

TEST(CpuMoe, RoutingTakesTheLargestLogitsAndNormalisesTheirWeights) {
    // token 0: experts 2 (3.0) and 0 (1.0); token 1: a tie between 1 and 3 goes to 1 first
    const std::vector<float> logits = {1.0f, -2.0f, 3.0f, 0.5f, /**/ 0.0f, 2.0f, -1.0f, 2.0f};
    const MoeRouting r = moe_route(logits.data(), 2, 4, 2, true);
    ASSERT_EQ(r.expert.size(), 4u);
    EXPECT_EQ(r.expert[0], 2);
    EXPECT_EQ(r.expert[1], 0);
    EXPECT_EQ(r.expert[2], 1);
    EXPECT_EQ(r.expert[3], 3);
    EXPECT_NEAR(r.weight[0], std::exp(3.0) / (std::exp(3.0) + std::exp(1.0)), 1e-6);
    EXPECT_NEAR(r.weight[0] + r.weight[1], 1.0, 1e-6);
    EXPECT_NEAR(r.weight[2], 0.5, 1e-6);
    EXPECT_NEAR(r.weight[3], 0.5, 1e-6);
}

TEST(CpuMoe, RoutingWithoutNormalisationKeepsTheSoftmaxProbabilities) {
    const std::vector<float> logits = {1.0f, -2.0f, 3.0f, 0.5f};
    const MoeRouting r = moe_route(logits.data(), 1, 4, 2, false);
    double all = 0.0;
    for (float l : logits) all += std::exp(static_cast<double>(l));
    EXPECT_NEAR(r.weight[0], std::exp(3.0) / all, 1e-6);
    EXPECT_NEAR(r.weight[1], std::exp(1.0) / all, 1e-6);
}

TEST(CpuMoe, AssignmentListsEachExpertsTokensInOrder) {
    // 3 tokens, 4 experts, top-2: t0 -> 2, 0; t1 -> 1, 3; t2 -> 2, 3
    const std::vector<float> logits = {1.0f, -2.0f, 3.0f, 0.5f, /**/ 0.0f, 2.0f, -1.0f, 1.0f, /**/ 0.0f, 0.1f, 5.0f, 4.0f};
    const MoeRouting r = moe_route(logits.data(), 3, 4, 2, true);
    const MoeAssignment a = moe_assign(r, 3, 4);
    EXPECT_EQ(a.offset, (std::vector<int32_t>{0, 1, 2, 4, 6}));
    EXPECT_EQ(a.token, (std::vector<int32_t>{0, 1, 0, 2, 1, 2}));
    EXPECT_FLOAT_EQ(a.weight[2], r.weight[0]);  // t0's expert 2
    EXPECT_FLOAT_EQ(a.weight[0], r.weight[1]);  // t0's expert 0
    EXPECT_FLOAT_EQ(a.weight[5], r.weight[5]);  // t2's expert 3
}

TEST(CpuMoe, RoutingRefusesNaNLogitsAndBadCounts) {
    const std::vector<float> nan_row = {0.0f, std::nanf(""), 1.0f};
    EXPECT_THROW(moe_route(nan_row.data(), 1, 3, 1, true), Error);
    const std::vector<float> row = {0.0f, 1.0f, 2.0f};
    EXPECT_THROW(moe_route(row.data(), 1, 3, 4, true), Error);
    EXPECT_THROW(moe_route(row.data(), 1, 3, 0, true), Error);
}

// Experts of one weight tensor: n_expert x [rows, cols] of `type`, from random f32 values.
struct Experts {
    std::vector<uint8_t> bytes;
    Weight w;
    Experts(TensorType type, int64_t n_expert, int64_t rows, int64_t cols, std::mt19937& rng) {
        std::normal_distribution<float> nd(0.0f, 0.5f);
        std::vector<float> f(static_cast<size_t>(n_expert * rows * cols));
        for (float& x : f) x = nd(rng);
        const size_t row_bytes = row_size(type, cols);
        bytes.resize(row_bytes * static_cast<size_t>(n_expert * rows));
        for (int64_t r = 0; r < n_expert * rows; ++r) quantize_row(type, f.data() + r * cols, bytes.data() + r * row_bytes, cols);
        w = Weight::view(type, cols, rows, n_expert, bytes.data());
    }
};

// out[t] by the definition, one token at a time, in double (expert rows dequantized; the op itself
// quantizes activations for the q8_0 experts like the dense matmuls).
std::vector<double> reference_moe(const std::vector<float>& h, const std::vector<float>& logits, int64_t T, int64_t E,
                                  const Experts& gate, const Experts& up, const Experts& down, int n_used, bool norm) {
    const int64_t X = gate.w.n_mats, F = gate.w.rows;
    const MoeRouting r = moe_route(logits.data(), T, static_cast<int>(X), n_used, norm);
    std::vector<double> out(static_cast<size_t>(T * E), 0.0);
    std::vector<float> row(static_cast<size_t>(std::max(E, F)));
    for (int64_t t = 0; t < T; ++t) {
        for (int k = 0; k < n_used; ++k) {
            const int x = r.expert[static_cast<size_t>(t * n_used + k)];
            std::vector<double> a(static_cast<size_t>(F));
            for (int64_t f = 0; f < F; ++f) {
                double g = 0.0, u = 0.0;
                weight_row_to_f32(gate.w, x, f, row.data());
                for (int64_t j = 0; j < E; ++j) g += double(row[size_t(j)]) * h[size_t(t * E + j)];
                weight_row_to_f32(up.w, x, f, row.data());
                for (int64_t j = 0; j < E; ++j) u += double(row[size_t(j)]) * h[size_t(t * E + j)];
                a[size_t(f)] = g / (1.0 + std::exp(-g)) * u;
            }
            for (int64_t e = 0; e < E; ++e) {
                weight_row_to_f32(down.w, x, e, row.data());
                double d = 0.0;
                for (int64_t f = 0; f < F; ++f) d += double(row[size_t(f)]) * a[size_t(f)];
                out[size_t(t * E + e)] += r.weight[static_cast<size_t>(t * n_used + k)] * d;
            }
        }
    }
    return out;
}

void check_moe(TensorType type, int n_used, bool norm, double bound) {
    std::mt19937 rng(1234 + static_cast<int>(type) * 7 + n_used);
    const int64_t T = 7, E = 64, F = 96, X = 5;
    Experts gate(type, X, F, E, rng), up(type, X, F, E, rng), down(type, X, E, F, rng);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> h(static_cast<size_t>(T * E)), logits(static_cast<size_t>(T * X));
    for (float& x : h) x = nd(rng);
    for (float& x : logits) x = nd(rng);
    std::vector<float> out(static_cast<size_t>(T * E), -1.0f);
    ThreadPool pool(2);
    MoeScratch scratch;
    const MoeFfn moe{&gate.w, &up.w, &down.w, n_used, norm};
    moe_ffn(pool, {h.data(), T, E}, {logits.data(), T, X}, moe, {out.data(), T, E}, scratch);
    const std::vector<double> want = reference_moe(h, logits, T, E, gate, up, down, n_used, norm);
    double max_ref = 0.0, max_err = 0.0;
    for (size_t i = 0; i < out.size(); ++i) {
        max_ref = std::max(max_ref, std::fabs(want[i]));
        max_err = std::max(max_err, std::fabs(want[i] - out[i]));
    }
    ASSERT_GT(max_ref, 0.1);
    std::printf("%s top-%d%s: max |d| / max |out| = %.3g\n", type_name(type), n_used, norm ? " normalised" : "",
                max_err / max_ref);
    EXPECT_LE(max_err / max_ref, bound) << type_name(type) << " top-" << n_used << (norm ? " normalised" : "");
}

TEST(CpuMoe, F32ExpertsMatchThePerTokenDefinition) {
    check_moe(TensorType::F32, 2, true, 1e-6);
    check_moe(TensorType::F32, 2, false, 1e-6);
    check_moe(TensorType::F32, 5, true, 1e-6);  // every expert
    check_moe(TensorType::F32, 1, true, 1e-6);
}

TEST(CpuMoe, Q8_0ExpertsMatchThePerTokenDefinition) {
    // the matmuls quantize the activations to q8_0 as for dense weights: ~1e-2 of the largest output
    check_moe(TensorType::Q8_0, 2, true, 2e-2);
}

TEST(CpuMoe, RefusesMismatchedShapesAndAnAliasedOutput) {
    std::mt19937 rng(7);
    Experts gate(TensorType::F32, 3, 8, 16, rng), up(TensorType::F32, 3, 8, 16, rng), down(TensorType::F32, 3, 16, 8, rng);
    Experts narrow(TensorType::F32, 3, 8, 12, rng);
    std::vector<float> h(2 * 16, 0.5f), logits(2 * 3, 0.0f), out(2 * 16);
    ThreadPool pool(1);
    MoeScratch s;
    const MoeFfn good{&gate.w, &up.w, &down.w, 2, true};
    EXPECT_NO_THROW(moe_ffn(pool, {h.data(), 2, 16}, {logits.data(), 2, 3}, good, {out.data(), 2, 16}, s));
    EXPECT_THROW(moe_ffn(pool, {h.data(), 2, 16}, {logits.data(), 2, 3}, good, {h.data(), 2, 16}, s), Error);
    EXPECT_THROW(moe_ffn(pool, {h.data(), 2, 16}, {logits.data(), 3, 2}, good, {out.data(), 2, 16}, s), Error);
    const MoeFfn bad{&narrow.w, &up.w, &down.w, 2, true};
    EXPECT_THROW(moe_ffn(pool, {h.data(), 2, 16}, {logits.data(), 2, 3}, bad, {out.data(), 2, 16}, s), Error);
}

}  // namespace
}  // namespace rf::cpu
