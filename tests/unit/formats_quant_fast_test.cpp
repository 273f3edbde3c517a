// The SIMD paths against the scalar reference: dequantize_row_fast == dequantize_row, and the
// AVX2 / AVX-512 quantizers (lane-parallel scale searches, vector Q8_0) give the scalar path's
// bytes, on random data with odd block counts, with and without importance, and with NaN/inf.
// Also: quantize_rows on a thread pool, and what non-finite input produces.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/quant/quant_isa.h"
#include "formats/quant/quant_k_search.h"
#include "formats/quant/quantize.h"
#include "formats_quant_test_util.h"

namespace rf {
namespace {

using test::Dist;

// Odd numbers of blocks, so that batches of SIMD lanes end part-full.
int64_t odd_row_length(TensorType t, int variant) {
    const int64_t bs = block_size(t);
    if (bs == 1) return 37 + 64 * variant;
    if (bs == 32) return 32 * (7 + 6 * variant);
    return 256 * (3 + 2 * variant);
}

std::vector<uint8_t> quantize_with(quant::QuantIsa isa, TensorType t, const std::vector<float>& x,
                                   int64_t rows, int64_t n, const float* importance) {
    quant::set_quant_isa(isa);
    std::vector<uint8_t> q(static_cast<size_t>(rows) * row_size(t, n), 0xAB);
    quantize_rows(t, x.data(), q.data(), rows, n, importance);
    return q;
}

void expect_same_floats(const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k)
        ASSERT_TRUE(test::same_float(a[k], b[k]))
            << "value " << k << ": " << a[k] << " vs " << b[k];
}

TEST(FormatsQuantFast, DequantizeFastEqualsReference) {
    test::IsaGuard guard;
    std::mt19937 rng(11);
    for (TensorType t : test::all_quant_types()) {
        SCOPED_TRACE(type_name(t));
        for (int variant = 0; variant < 3; ++variant) {
            const int64_t n = odd_row_length(t, variant);
            // Quantized random data, and plain random bytes (any scale bits: subnormal, inf, NaN).
            std::vector<std::vector<uint8_t>> inputs;
            const auto x = test::make_values(variant == 2 ? Dist::outliers : Dist::normal,
                                             static_cast<size_t>(n), 21 + variant);
            inputs.emplace_back(row_size(t, n));
            quantize_row(t, x.data(), inputs.back().data(), n);
            inputs.emplace_back(row_size(t, n));
            for (auto& byte : inputs.back()) byte = static_cast<uint8_t>(rng());
            for (const auto& q : inputs) {
                std::vector<float> ref(static_cast<size_t>(n));
                dequantize_row(t, q.data(), ref.data(), n);
                for (quant::QuantIsa isa : test::available_isas()) {
                    SCOPED_TRACE(quant::quant_isa_name(isa));
                    quant::set_quant_isa(isa);
                    std::vector<float> fast(static_cast<size_t>(n), -1.f);
                    dequantize_row_fast(t, q.data(), fast.data(), n);
                    expect_same_floats(ref, fast);
                }
            }
        }
    }
}

TEST(FormatsQuantFast, SimdQuantizersEqualScalar) {
    test::IsaGuard guard;
    const auto isas = test::available_isas();
    for (TensorType t : test::all_quant_types()) {
        SCOPED_TRACE(type_name(t));
        for (int variant = 0; variant < 2; ++variant) {
            const int64_t n = odd_row_length(t, variant);
            const int64_t rows = 3;
            std::vector<float> importance =
                test::make_values(Dist::uniform, static_cast<size_t>(n), 5);
            for (float& v : importance) v = v * v;  // >= 0, some near 0
            for (Dist d : {Dist::normal, Dist::outliers, Dist::uniform, Dist::huge, Dist::tiny}) {
                SCOPED_TRACE(test::dist_name(d));
                const auto x = test::make_values(d, static_cast<size_t>(rows * n), 40 + variant);
                for (const float* imp : {static_cast<const float*>(nullptr),
                                         static_cast<const float*>(importance.data())}) {
                    const auto ref = quantize_with(quant::QuantIsa::scalar, t, x, rows, n, imp);
                    for (quant::QuantIsa isa : isas)
                        ASSERT_EQ(quantize_with(isa, t, x, rows, n, imp), ref)
                            << quant::quant_isa_name(isa) << (imp ? " with importance" : "");
                }
            }
        }
    }
}

// The batched searches against the scalar ones, group by group, including NaN/inf groups and
// every group count up to 40 (partial SIMD batches).
TEST(FormatsQuantFast, BatchedSearchesEqualScalar) {
    test::IsaGuard guard;
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.f, 1.f);
    const quant::ScaleMinSearch searches[] = {{3, -0.5f, 0.1f, 15, true},
                                              {15, -1.f, 0.1f, 20, false},
                                              {31, -0.5f, 0.1f, 15, false},
                                              {15, -0.9f, 0.05f, 36, false}};
    for (int n : {16, 32}) {
        for (int n_groups = 1; n_groups <= 40; n_groups += 3) {
            std::vector<float> x(static_cast<size_t>(n * n_groups)), w(x.size());
            for (size_t k = 0; k < x.size(); ++k) {
                x[k] = normal(rng) + (k % 97 == 0 ? 0.5f : 0.f);
                w[k] = std::fabs(normal(rng));
            }
            if (n_groups > 4) {
                x[static_cast<size_t>(n + 3)] = NAN;
                x[static_cast<size_t>(3 * n)] = INFINITY;
                for (int i = 0; i < n; ++i) x[static_cast<size_t>(2 * n + i)] = 0.25f;  // constant
            }
            for (const auto& p : searches) {
                std::vector<uint8_t> L_ref(x.size());
                std::vector<float> s_ref(static_cast<size_t>(n_groups)), m_ref(s_ref.size());
                for (int g = 0; g < n_groups; ++g)
                    s_ref[g] =
                        quant::fit_scale_min(n, &x[g * n], &w[g * n], &L_ref[g * n], &m_ref[g], p);
                for (quant::QuantIsa isa : test::available_isas()) {
                    quant::set_quant_isa(isa);
                    std::vector<uint8_t> L(x.size());
                    std::vector<float> s(s_ref.size()), m(s_ref.size());
                    quant::fit_scale_min_batch(n_groups, n, x.data(), w.data(), L.data(), s.data(),
                                               m.data(), p);
                    EXPECT_EQ(L, L_ref) << quant::quant_isa_name(isa);
                    for (int g = 0; g < n_groups; ++g) {
                        EXPECT_TRUE(test::same_float(s[g], s_ref[g])) << g;
                        EXPECT_TRUE(test::same_float(m[g], m_ref[g])) << g;
                    }
                }
            }
            for (int nmax : {4, 8, 16, 32}) {
                for (const float* weights :
                     {static_cast<const float*>(nullptr), static_cast<const float*>(w.data())}) {
                    std::vector<int8_t> L_ref(x.size());
                    std::vector<float> s_ref(static_cast<size_t>(n_groups));
                    for (int g = 0; g < n_groups; ++g)
                        s_ref[g] = quant::fit_scale_symmetric(
                            n, nmax, &x[g * n], weights ? weights + g * n : nullptr, &L_ref[g * n]);
                    for (quant::QuantIsa isa : test::available_isas()) {
                        quant::set_quant_isa(isa);
                        std::vector<int8_t> L(x.size());
                        std::vector<float> s(s_ref.size());
                        quant::fit_scale_symmetric_batch(n_groups, n, nmax, x.data(), weights,
                                                         L.data(), s.data());
                        EXPECT_EQ(L, L_ref) << quant::quant_isa_name(isa) << " nmax " << nmax;
                        for (int g = 0; g < n_groups; ++g)
                            EXPECT_TRUE(test::same_float(s[g], s_ref[g])) << g;
                    }
                }
            }
        }
    }
}

TEST(FormatsQuantFast, ThreadPoolGivesTheSameBytes) {
    ThreadPool pool(3);
    const int64_t rows = 13, n = 512;
    const auto x = test::make_values(Dist::normal, static_cast<size_t>(rows * n), 77);
    std::vector<float> importance(static_cast<size_t>(n), 1.5f);
    for (TensorType t : test::all_quant_types()) {
        SCOPED_TRACE(type_name(t));
        for (const float* imp :
             {static_cast<const float*>(nullptr), static_cast<const float*>(importance.data())}) {
            const size_t bytes = static_cast<size_t>(rows) * row_size(t, n);
            std::vector<uint8_t> serial(bytes), parallel(bytes);
            EXPECT_EQ(quantize_rows(t, x.data(), serial.data(), rows, n, imp), bytes);
            EXPECT_EQ(quantize_rows(t, x.data(), parallel.data(), rows, n, imp, &pool), bytes);
            EXPECT_EQ(serial, parallel);
            // Row r of quantize_rows is quantize_row of row r.
            std::vector<uint8_t> one(row_size(t, n));
            quantize_row(t, x.data() + 5 * n, one.data(), n, imp);
            EXPECT_TRUE(std::equal(one.begin(), one.end(),
                                   serial.begin() + 5 * static_cast<long>(one.size())));
        }
    }
}

// Non-finite input: quantizing never crashes and never writes outside the row; every SIMD path
// gives the scalar bytes; and (without importance, where blocks are independent) the blocks
// that hold only finite values are exactly what they would be without the NaN/inf elsewhere.
// What a block holding NaN/inf decodes to is unspecified: typically NaN or inf for that block
// (e.g. Q8_0 with +inf: d = inf, all quants 0).
TEST(FormatsQuantFast, NonFiniteInputIsContained) {
    test::IsaGuard guard;
    const float specials[] = {NAN, INFINITY, -INFINITY, std::numeric_limits<float>::max()};
    for (TensorType t : test::all_quant_types()) {
        SCOPED_TRACE(type_name(t));
        const int64_t bs = block_size(t) == 1 ? 32 : block_size(t);
        const int64_t n = 4 * bs;
        const size_t rb = row_size(t, n);
        for (float special : specials) {
            for (int64_t pos : {int64_t{0}, bs + 5, 3 * bs - 1}) {
                auto x = test::make_values(Dist::normal, static_cast<size_t>(n), 9);
                auto clean = x;
                x[static_cast<size_t>(pos)] = special;
                clean[static_cast<size_t>(pos)] = 0.f;
                for (const bool imp : {false, true}) {
                    std::vector<float> importance(static_cast<size_t>(n), 1.f);
                    const float* w = imp ? importance.data() : nullptr;
                    std::vector<uint8_t> ref;
                    for (quant::QuantIsa isa : test::available_isas()) {
                        quant::set_quant_isa(isa);
                        std::vector<uint8_t> q(rb + 64, 0xCD);
                        quantize_row(t, x.data(), q.data(), n, w);
                        for (size_t k = rb; k < q.size(); ++k)
                            ASSERT_EQ(q[k], 0xCD) << "wrote past the row";
                        q.resize(rb);
                        if (ref.empty()) ref = q;
                        ASSERT_EQ(q, ref) << quant::quant_isa_name(isa);
                        std::vector<float> y(static_cast<size_t>(n));
                        dequantize_row_fast(t, q.data(), y.data(), n);
                    }
                    if (imp) continue;
                    std::vector<uint8_t> q_clean(rb);
                    quantize_row(t, clean.data(), q_clean.data(), n);
                    const size_t block_bytes = rb / static_cast<size_t>(n / bs);
                    const size_t bad_block = static_cast<size_t>(pos / bs);
                    for (size_t b = 0; b < static_cast<size_t>(n / bs); ++b) {
                        if (b == bad_block) continue;
                        EXPECT_TRUE(
                            std::equal(ref.begin() + static_cast<long>(b * block_bytes),
                                       ref.begin() + static_cast<long>((b + 1) * block_bytes),
                                       q_clean.begin() + static_cast<long>(b * block_bytes)))
                            << "block " << b;
                    }
                }
            }
        }
    }
}

// F16 / BF16 conversion of random bit patterns (NaNs with payloads, subnormals, infinities,
// values that overflow f16) agrees with core/half.h on every path; odd length for the tails.
TEST(FormatsQuantFast, PlainConversionsOfRandomBitPatterns) {
    test::IsaGuard guard;
    std::mt19937 rng(99);
    std::vector<float> x(100003);
    for (float& v : x) {
        const uint32_t bits = rng();
        std::memcpy(&v, &bits, sizeof v);
    }
    const auto n = static_cast<int64_t>(x.size());
    for (quant::QuantIsa isa : test::available_isas()) {
        SCOPED_TRACE(quant::quant_isa_name(isa));
        quant::set_quant_isa(isa);
        std::vector<uint16_t> h(x.size()), b(x.size());
        quantize_row(TensorType::F16, x.data(), h.data(), n);
        quantize_row(TensorType::BF16, x.data(), b.data(), n);
        for (size_t k = 0; k < x.size(); ++k) {
            ASSERT_EQ(h[k], f32_to_f16(x[k])) << k;
            ASSERT_EQ(b[k], f32_to_bf16(x[k])) << k;
        }
    }
}

TEST(FormatsQuantFast, Q8_0WithInfinityDecodesToNaNNotGarbage) {
    std::vector<float> x(32, 0.5f);
    x[7] = INFINITY;
    std::vector<uint8_t> q(row_size(TensorType::Q8_0, 32));
    quantize_row(TensorType::Q8_0, x.data(), q.data(), 32);
    std::vector<float> y(32);
    dequantize_row(TensorType::Q8_0, q.data(), y.data(), 32);
    for (float v : y) EXPECT_TRUE(std::isnan(v));  // d = inf, quants 0: 0 * inf
}

}  // namespace
}  // namespace rf
