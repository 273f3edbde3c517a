// The vectorised CPU ops (every tier this CPU runs) against the scalar reference ops of
// cpu_reference.h: rms_norm, swiglu (incl. the polynomial exp at extreme gates), add, rope with
// the per-step table (plain and YaRN, NeoX and normal pairing), and the tiled online-softmax
// attention over the paged cache (several sequences, more tokens than a tile, GQA groups split
// into head runs, f32 and f16 caches, 1 and 2 threads).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_reference.h"
#include "backend/cpu/cpu_vec.h"
#include "backend_cpu_test_util.h"
#include "core/half.h"
#include "kv/kv_cache.h"

namespace rf {
namespace {

using test::random_floats;

TEST(CpuVecOps, ExpSumMatchesStdExpAcrossTheRange) {
    for (cpu::CpuIsa isa : test::supported_cpu_isas()) {
        const cpu::VecOps& v = cpu::vec_ops(isa);
        std::vector<float> x;
        for (float a = -87.0f; a <= 88.0f; a += 0.0731f) x.push_back(a);
        std::vector<float> e = x;
        v.exp_sum(e.data(), 0.0f, static_cast<int64_t>(e.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            const double ref = std::exp(double(x[i]));
            EXPECT_NEAR(e[i], ref, 3e-7 * ref) << cpu::cpu_isa_name(isa) << " x=" << x[i];
        }
        // The returned sum, with a subtracted maximum as in softmax.
        std::vector<float> s = random_floats(37, 3, 5.0f);
        double ref_sum = 0;
        for (float a : s) ref_sum += std::exp(double(a) - 2.0);
        EXPECT_NEAR(v.exp_sum(s.data(), 2.0f, 37), ref_sum, 1e-6 * ref_sum)
            << cpu::cpu_isa_name(isa);
        // Below the normal range: exactly 0; far above: finite.
        std::vector<float> ext = {-1000.0f, -88.0f, 100.0f, 1000.0f, 0.0f, 0.0f, 0.0f, 0.0f,
                                  0.0f,     0.0f,   0.0f,   0.0f,    0.0f, 0.0f, 0.0f, 0.0f};
        v.exp_sum(ext.data(), 0.0f, static_cast<int64_t>(ext.size()));
        EXPECT_EQ(ext[0], 0.0f);
        EXPECT_EQ(ext[1], 0.0f);
        EXPECT_TRUE(std::isfinite(ext[2]) && ext[2] > 1e38f);
        EXPECT_TRUE(std::isfinite(ext[3]));
    }
}

TEST(CpuVecOps, NormsAndElementwiseMatchReference) {
    test::CpuIsaGuard guard;
    ThreadPool pool(2);
    for (cpu::CpuIsa isa : test::supported_cpu_isas()) {
        cpu::set_cpu_isa(isa);
        for (int64_t cols : {1, 7, 37, 896}) {
            SCOPED_TRACE(testing::Message() << cpu::cpu_isa_name(isa) << " cols=" << cols);
            const int64_t rows = 5;
            auto x = random_floats(static_cast<size_t>(rows * cols), 1, 3.0f);
            const auto w = random_floats(static_cast<size_t>(cols), 2);
            std::vector<float> got(x.size()), ref(x.size());
            cpu::rms_norm(pool, {x.data(), rows, cols}, w.data(), 1e-6f, {got.data(), rows, cols});
            cpu::ref::rms_norm({x.data(), rows, cols}, w.data(), 1e-6f, {ref.data(), rows, cols});
            for (size_t i = 0; i < x.size(); ++i)
                EXPECT_NEAR(got[i], ref[i], 2e-6f * (1 + std::fabs(ref[i])));

            auto g = random_floats(x.size(), 3, 4.0f);
            if (g.size() > 4) g[0] = -100.0f, g[1] = 100.0f, g[2] = -90.0f, g[3] = 0.0f;
            const auto u = random_floats(x.size(), 4);
            cpu::swiglu(pool, {g.data(), rows, cols}, {const_cast<float*>(u.data()), rows, cols},
                        {got.data(), rows, cols});
            cpu::ref::swiglu({g.data(), rows, cols}, {const_cast<float*>(u.data()), rows, cols},
                             {ref.data(), rows, cols});
            for (size_t i = 0; i < x.size(); ++i)
                EXPECT_NEAR(got[i], ref[i], 1e-6f * (1 + std::fabs(ref[i]))) << g[i];

            cpu::add(pool, {x.data(), rows, cols}, {g.data(), rows, cols},
                     {got.data(), rows, cols});
            for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(got[i], x[i] + g[i]);
        }
    }
}

TEST(CpuVecOps, RopeTableMatchesReference) {
    ThreadPool pool(2);
    const int heads = 3, hd = 64;
    const std::vector<int32_t> pos = {0, 1, 7, 100, 4095, 20000};
    for (bool neox : {true, false}) {
        for (bool yarn : {false, true}) {
            RopeParams p;
            p.n_rot = yarn ? 64 : 48;
            p.neox = neox;
            p.freq_base = 1e6f;
            if (yarn) p.freq_scale = 0.25f, p.ext_factor = 1.0f, p.n_ctx_orig = 4096;
            auto x = random_floats(pos.size() * heads * hd, 9);
            auto y = x;
            const int64_t T = static_cast<int64_t>(pos.size());
            cpu::rope(pool, {x.data(), T, heads * hd}, pos.data(), heads, hd, p);
            cpu::ref::rope({y.data(), T, heads * hd}, pos.data(), heads, hd, p);
            for (size_t i = 0; i < x.size(); ++i)
                EXPECT_NEAR(x[i], y[i], 2e-6f * (1 + std::fabs(y[i])));
        }
    }
}

// Attention of a multi-sequence step: sequence A has 40 cached tokens and 21 new ones (two
// token tiles), B has 3 cached and 1 new (decode). 8 query heads on 2 KV heads.
void check_attention(KvCodec codec, int n_threads, cpu::CpuIsa isa) {
    CpuBackend be(n_threads);
    const int n_head = 8, n_kv = 2, hd = 64;
    KvCache kv(be, {32, 16, codec}, {{n_kv, hd}});
    const int32_t a = kv.create_sequence(), b = kv.create_sequence();
    const int cached[2] = {40, 3}, fresh[2] = {21, 1};
    // Cached tokens first (one step per sequence), with interleaved block allocation.
    for (int s = 0; s < 2; ++s) ASSERT_TRUE(kv.reserve(s == 0 ? a : b, cached[s]));
    for (int s = 0; s < 2; ++s) {
        const int32_t seq = s == 0 ? a : b;
        StepPlan pre;
        for (int i = 0; i < cached[s]; ++i) {
            pre.tokens.push_back(0);
            pre.positions.push_back(i);
            pre.token_seq.push_back(0);
        }
        kv.append_slots(seq, cached[s], pre.kv_slots);
        const auto k = random_floats(size_t(cached[s]) * n_kv * hd, 50 + s),
                   v = random_floats(k.size(), 60 + s);
        be.begin_step(pre);
        be.kv_store(kv.layer(0), {const_cast<float*>(k.data()), cached[s], n_kv * hd},
                    {const_cast<float*>(v.data()), cached[s], n_kv * hd});
        kv.commit(seq, cached[s]);
    }
    ASSERT_TRUE(kv.reserve(a, fresh[0]));
    ASSERT_TRUE(kv.reserve(b, fresh[1]));
    StepPlan plan;
    plan.seqs = {SeqStep{0, fresh[0], cached[0], kv.block_table(a)},
                 SeqStep{fresh[0], fresh[1], cached[1], kv.block_table(b)}};
    for (int s = 0; s < 2; ++s)
        for (int i = 0; i < fresh[s]; ++i) {
            plan.tokens.push_back(0);
            plan.positions.push_back(cached[s] + i);
            plan.token_seq.push_back(s);
        }
    kv.append_slots(a, fresh[0], plan.kv_slots);
    kv.append_slots(b, fresh[1], plan.kv_slots);
    const int T = fresh[0] + fresh[1];
    const auto k = random_floats(size_t(T) * n_kv * hd, 70), v = random_floats(k.size(), 71);
    be.begin_step(plan);
    be.kv_store(kv.layer(0), {const_cast<float*>(k.data()), T, n_kv * hd},
                {const_cast<float*>(v.data()), T, n_kv * hd});
    const auto q = random_floats(size_t(T) * n_head * hd, 72, 2.0f);
    std::vector<float> out(q.size()), ref(q.size());
    const AttentionParams ap{n_head, n_kv, hd, 0.125f};
    cpu::set_cpu_isa(isa);
    be.attention({const_cast<float*>(q.data()), T, n_head * hd}, kv.layer(0), ap,
                 {out.data(), T, n_head * hd});
    cpu::ref::attention({const_cast<float*>(q.data()), T, n_head * hd}, kv.layer(0), plan, ap,
                        {ref.data(), T, n_head * hd});
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-5f) << "value " << i;
}

TEST(CpuVecOps, TiledAttentionMatchesReference) {
    test::CpuIsaGuard guard;
    for (cpu::CpuIsa isa : test::supported_cpu_isas())
        for (KvCodec codec : {KvCodec::F32, KvCodec::F16})
            for (int threads : {1, 2}) {
                SCOPED_TRACE(testing::Message() << cpu::cpu_isa_name(isa) << " "
                                                << kv_codec_name(codec) << " threads=" << threads);
                check_attention(codec, threads, isa);
            }
}

TEST(CpuVecOps, KvStoreRoundsToF16LikeTheScalarConversion) {
    test::CpuIsaGuard guard;
    for (cpu::CpuIsa isa : test::supported_cpu_isas()) {
        cpu::set_cpu_isa(isa);
        CpuBackend be(1);
        const int hd = 40;
        KvCache kv(be, {2, 4, KvCodec::F16}, {{1, hd}});
        const int32_t s = kv.create_sequence();
        ASSERT_TRUE(kv.reserve(s, 1));
        StepPlan plan{{0}, {0}, {}, {0}, {}, {}};
        kv.append_slots(s, 1, plan.kv_slots);
        const auto k = random_floats(hd, 80, 100.0f), v = random_floats(hd, 81, 1e-3f);
        be.begin_step(plan);
        be.kv_store(kv.layer(0), {const_cast<float*>(k.data()), 1, hd},
                    {const_cast<float*>(v.data()), 1, hd});
        const auto* kh = static_cast<const uint16_t*>(kv.layer(0).k);
        const auto* vh = static_cast<const uint16_t*>(kv.layer(0).v);
        const int64_t row = kv.layer(0).row_index(kv.block_table(s)[0], 0, 0);
        for (int i = 0; i < hd; ++i) {
            EXPECT_EQ(kh[row * hd + i], f32_to_f16(k[i])) << cpu::cpu_isa_name(isa);
            EXPECT_EQ(vh[row * hd + i], f32_to_f16(v[i])) << cpu::cpu_isa_name(isa);
        }
    }
}

}  // namespace
}  // namespace rf
