// Round trips dequantize(quantize(x)) for every type: the relative RMSE stays under the type's
// bound on several input distributions and on the tiny model's real weights, and the K-quants'
// searched scales beat plain round-to-nearest in the same format.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "formats/quant/quantize.h"
#include "formats/quant_blocks.h"
#include "formats_quant_test_util.h"
#include "test_paths.h"

namespace rf {
namespace {

using test::Dist;

// Upper bounds on sqrt(sum (x - y)^2 / sum x^2). Measured with the seeds below (16384 values,
// bit-identical to llama.cpp's quantizers), rounded up by ~10%:
//   type   N(0,1)  U(-1,1)  outliers   (normal is also the bound for x1e4 and imatrix inputs)
//   f16    0.00021 0.00018  0.00021
//   bf16   0.00167 0.00147  0.00147
//   q4_0   0.0857  0.0645   0.139      q4_1 0.0779 0.0609 0.102
//   q5_0   0.0434  0.0312   0.0821     q5_1 0.0380 0.0294 0.0514
//   q8_0   0.00542 0.00380  0.0105     q8_1 0.00532 0.00379 0.0102
//   q2_K   0.295   0.232    0.268      q3_K 0.151 0.125 0.148
//   q4_K   0.0718  0.0549   0.0930     q5_K 0.0362 0.0278 0.0473
//   q6_K   0.0177  0.0132   0.0305     q8_K 0.00697 0.00392 0.0283
// (Blocks of 32 with one f16 scale: a Gaussian block's largest |x| is ~2.1 sigma, so even Q8_0
// has a step of ~0.017 sigma and an RMSE of ~0.005 sigma.)
struct Bound {
    TensorType type;
    double normal;    // N(0,1), U(-1,1), x1e4, with an importance matrix, real weights
    double outliers;  // N(0,1) with 2% of values x20
};

const Bound kBounds[] = {
    {TensorType::F32, 0.0, 0.0},        {TensorType::F16, 2.5e-4, 2.5e-4},
    {TensorType::BF16, 1.9e-3, 1.9e-3}, {TensorType::Q4_0, 0.095, 0.155},
    {TensorType::Q4_1, 0.086, 0.115},   {TensorType::Q5_0, 0.048, 0.090},
    {TensorType::Q5_1, 0.042, 0.057},   {TensorType::Q8_0, 0.0060, 0.0115},
    {TensorType::Q8_1, 0.0060, 0.0115}, {TensorType::Q2_K, 0.325, 0.300},
    {TensorType::Q3_K, 0.166, 0.165},   {TensorType::Q4_K, 0.079, 0.103},
    {TensorType::Q5_K, 0.040, 0.052},   {TensorType::Q6_K, 0.0195, 0.034},
    {TensorType::Q8_K, 0.0077, 0.031},
};

constexpr int64_t kN = 256 * 64;

std::vector<float> round_trip(TensorType t, const std::vector<float>& x, int64_t n_per_row,
                              const float* importance = nullptr) {
    const int64_t rows = static_cast<int64_t>(x.size()) / n_per_row;
    std::vector<uint8_t> q(static_cast<size_t>(rows) * row_size(t, n_per_row));
    quantize_rows(t, x.data(), q.data(), rows, n_per_row, importance);
    std::vector<float> y(x.size());
    dequantize_row(t, q.data(), y.data(), static_cast<int64_t>(x.size()));
    return y;
}

bool has_f32_scale(TensorType t) {
    return t == TensorType::F32 || t == TensorType::BF16 || t == TensorType::Q8_K;
}

TEST(FormatsQuantRoundTrip, RandomDistributionsStayUnderBounds) {
    for (const Bound& b : kBounds) {
        SCOPED_TRACE(type_name(b.type));
        uint32_t seed = 100;
        for (Dist d : {Dist::normal, Dist::uniform, Dist::outliers, Dist::huge}) {
            const auto x = test::make_values(d, kN, seed++);
            const double err = test::relative_rmse(x, round_trip(b.type, x, kN));
            EXPECT_LE(err, d == Dist::outliers ? b.outliers : b.normal) << test::dist_name(d);
        }
    }
}

TEST(FormatsQuantRoundTrip, WithImportanceStaysUnderBounds) {
    const auto x = test::make_values(Dist::normal, kN, 7);
    std::vector<float> importance = test::make_values(Dist::uniform, kN, 8);
    for (float& v : importance) v = std::fabs(v) + 0.1f;
    for (const Bound& b : kBounds) {
        SCOPED_TRACE(type_name(b.type));
        EXPECT_LE(test::relative_rmse(x, round_trip(b.type, x, kN, importance.data())), b.normal);
    }
}

TEST(FormatsQuantRoundTrip, ZeroConstantAndTinyInputs) {
    const auto zero = test::make_values(Dist::zero, kN, 1);
    const auto constant = test::make_values(Dist::constant, kN, 1);
    const auto tiny = test::make_values(Dist::tiny, kN, 3);
    for (const Bound& b : kBounds) {
        SCOPED_TRACE(type_name(b.type));
        for (float v : round_trip(b.type, zero, kN)) ASSERT_EQ(v, 0.0f);
        // A constant is one level of every type, up to the rounding of the scale to f16
        // (relative 2^-11) or of the value to bf16 (2^-8).
        EXPECT_LE(test::relative_rmse(constant, round_trip(b.type, constant, kN)),
                  b.type == TensorType::BF16 ? 0x1p-8 : 0x1p-11);
        // Values ~1e-8 are below what an f16 scale can resolve (its smallest step is 6e-8):
        // such blocks decode to (nearly) zero, never to anything large or non-finite.
        const auto y = round_trip(b.type, tiny, kN);
        if (has_f32_scale(b.type)) {
            EXPECT_LE(test::relative_rmse(tiny, y), b.normal);
        } else {
            for (size_t i = 0; i < y.size(); ++i) {
                ASSERT_TRUE(std::isfinite(y[i]));
                ASSERT_LE(std::fabs(y[i] - tiny[i]), 2e-7f) << i;
            }
        }
    }
}

// Plain round-to-nearest in a K-quant's own format (no search): sub-block scale from the range
// (asymmetric types) or from the signed largest value (symmetric types), sub-scales rounded to
// the format's levels relative to the largest, f16 super-scales, each weight rounded to its
// nearest level. Returns the decoded values.
struct KFormat {
    int sub;     // weights per sub-block
    int nmax;    // asymmetric: quants 0..nmax; symmetric: -nmax..nmax-1
    int levels;  // asymmetric: sub-scales 0..levels; symmetric: -levels..levels-1
    bool asymmetric;
};

std::vector<float> round_to_nearest_k(const KFormat& f, const std::vector<float>& x) {
    std::vector<float> y(x.size());
    const int n_sub = QK_K / f.sub;
    for (size_t s = 0; s < x.size(); s += QK_K) {
        std::vector<float> scale(n_sub), min(n_sub);
        for (int j = 0; j < n_sub; ++j) {
            const float* xs = &x[s + static_cast<size_t>(j * f.sub)];
            float lo = 0, hi = xs[0], amax = 0, signed_max = 0;
            for (int i = 0; i < f.sub; ++i) {
                lo = std::min(lo, xs[i]);
                hi = std::max(hi, xs[i]);
                if (std::fabs(xs[i]) > amax) {
                    amax = std::fabs(xs[i]);
                    signed_max = xs[i];
                }
            }
            scale[j] = f.asymmetric ? (hi - lo) / f.nmax : signed_max / -f.nmax;
            min[j] = -lo;
        }
        auto ref_of = [&](const std::vector<float>& v, bool signed_ref) {
            float r = 0;
            for (float e : v)
                if (std::fabs(e) > std::fabs(r)) r = signed_ref ? e : std::fabs(e);
            return r;
        };
        const float max_scale = ref_of(scale, !f.asymmetric), max_min = ref_of(min, false);
        const float d =
            f16_to_f32(f32_to_f16(f.asymmetric ? max_scale / f.levels : max_scale / -f.levels));
        const float dmin = f16_to_f32(f32_to_f16(max_min / f.levels));
        for (int j = 0; j < n_sub; ++j) {
            const int lo_level = f.asymmetric ? 0 : -f.levels;
            const int hi_level = f.asymmetric ? f.levels : f.levels - 1;
            const int sc = d == 0 ? 0
                                  : std::clamp(static_cast<int>(std::lround(scale[j] / d)),
                                               lo_level, hi_level);
            const int mq =
                (!f.asymmetric || dmin == 0)
                    ? 0
                    : std::clamp(static_cast<int>(std::lround(min[j] / dmin)), 0, f.levels);
            const float dl = d * sc, ml = dmin * mq;
            for (int i = 0; i < f.sub; ++i) {
                const size_t k = s + static_cast<size_t>(j * f.sub + i);
                if (dl == 0) {
                    y[k] = -ml;
                    continue;
                }
                const long q = std::lround((x[k] + ml) / dl);
                const long qc = f.asymmetric ? std::clamp(q, 0L, static_cast<long>(f.nmax))
                                             : std::clamp(q, static_cast<long>(-f.nmax),
                                                          static_cast<long>(f.nmax - 1));
                y[k] = dl * static_cast<float>(qc) - ml;
            }
        }
    }
    return y;
}

const std::pair<TensorType, KFormat> kKFormats[] = {
    {TensorType::Q2_K, {16, 3, 15, true}},    {TensorType::Q3_K, {16, 4, 32, false}},
    {TensorType::Q4_K, {32, 15, 63, true}},   {TensorType::Q5_K, {32, 31, 63, true}},
    {TensorType::Q6_K, {16, 32, 128, false}},
};

TEST(FormatsQuantRoundTrip, KQuantsBeatRoundToNearest) {
    uint32_t seed = 500;
    for (Dist d : {Dist::normal, Dist::uniform, Dist::outliers}) {
        const auto x = test::make_values(d, kN, seed++);
        for (const auto& [type, format] : kKFormats) {
            SCOPED_TRACE(std::string(type_name(type)) + " " + test::dist_name(d));
            const double searched = test::relative_rmse(x, round_trip(type, x, kN));
            const double nearest = test::relative_rmse(x, round_to_nearest_k(format, x));
            EXPECT_LE(searched, nearest);
        }
    }
}

// Real weights: a few bf16 matrices of the tiny Qwen3 model (rows of 256 or 768 weights).
const char* const kRealTensors[] = {
    "model.layers.0.mlp.down_proj.weight", "model.layers.3.mlp.gate_proj.weight",
    "model.layers.5.self_attn.q_proj.weight", "model.layers.2.self_attn.v_proj.weight"};

TEST(FormatsQuantRoundTrip, RealWeightsStayUnderBoundsAndBeatRoundToNearest) {
    RF_REQUIRE_SHARED();
    const auto path = test::shared_dir() / "models/tiny-qwen3/model.safetensors";
    for (const char* name : kRealTensors) {
        std::vector<int64_t> shape;
        const auto x = test::read_safetensors_bf16(path, name, &shape);
        ASSERT_EQ(shape.size(), 2u);
        for (const Bound& b : kBounds) {
            SCOPED_TRACE(std::string(name) + " " + type_name(b.type));
            const double err = test::relative_rmse(x, round_trip(b.type, x, shape[1]));
            // bf16 weights are exact in f32 and bf16.
            EXPECT_LE(err, b.type == TensorType::BF16 ? 0.0 : b.normal);
        }
        for (const auto& [type, format] : kKFormats) {
            SCOPED_TRACE(std::string(name) + " " + type_name(type));
            EXPECT_LE(test::relative_rmse(x, round_trip(type, x, shape[1])),
                      test::relative_rmse(x, round_to_nearest_k(format, x)));
        }
    }
}

}  // namespace
}  // namespace rf
