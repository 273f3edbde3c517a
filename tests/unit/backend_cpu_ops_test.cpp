// CPU ops against direct, naive formulas (the CPU path is the oracle for every GPU op, so it is
// itself checked against the textbook definitions here).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_ops.h"
#include "kv/kv_cache.h"

namespace rf {
namespace {

std::vector<float> random_vector(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}

TEST(CpuOps, RmsNormMatchesDefinition) {
    ThreadPool pool(2);
    const int rows = 3, cols = 37;
    auto x = random_vector(rows * cols, 1);
    auto w = random_vector(cols, 2);
    std::vector<float> out(x.size());
    cpu::rms_norm(pool, {x.data(), rows, cols}, w.data(), 1e-6f, {out.data(), rows, cols});
    for (int r = 0; r < rows; ++r) {
        double ss = 0;
        for (int i = 0; i < cols; ++i) ss += double(x[r * cols + i]) * x[r * cols + i];
        const double scale = 1.0 / std::sqrt(ss / cols + 1e-6);
        for (int i = 0; i < cols; ++i) EXPECT_NEAR(out[r * cols + i], x[r * cols + i] * scale * w[i], 1e-5);
    }
}

TEST(CpuOps, RopeRotatesPairsByPositionTimesFrequency) {
    ThreadPool pool(1);
    const int heads = 2, hd = 8;
    for (bool neox : {true, false}) {
        RopeParams p;
        p.n_rot = 6;  // partial rotation: dims 6, 7 untouched
        p.neox = neox;
        p.freq_base = 10000.0f;
        auto x = random_vector(2 * heads * hd, 3);
        auto y = x;
        const int32_t pos[2] = {0, 5};
        cpu::rope(pool, {y.data(), 2, heads * hd}, pos, heads, hd, p);
        for (int t = 0; t < 2; ++t) {
            for (int h = 0; h < heads; ++h) {
                const float* a = x.data() + (t * heads + h) * hd;
                const float* b = y.data() + (t * heads + h) * hd;
                for (int i = 0; i < 3; ++i) {
                    const double theta = pos[t] * std::pow(10000.0, -2.0 * i / 6);
                    const int i0 = neox ? i : 2 * i, i1 = neox ? i + 3 : 2 * i + 1;
                    EXPECT_NEAR(b[i0], a[i0] * std::cos(theta) - a[i1] * std::sin(theta), 1e-5);
                    EXPECT_NEAR(b[i1], a[i0] * std::sin(theta) + a[i1] * std::cos(theta), 1e-5);
                }
                EXPECT_EQ(b[6], a[6]);
                EXPECT_EQ(b[7], a[7]);
            }
        }
    }
}

TEST(CpuOps, YarnRopeScalesMagnitude) {
    RopeParams p;
    p.n_rot = 64;
    p.freq_base = 1e6f;
    p.freq_scale = 0.25f;
    p.ext_factor = 1.0f;
    p.n_ctx_orig = 4096;
    std::vector<float> c(32), s(32);
    cpu::rope_cos_sin(100, p, c.data(), s.data());
    const double mscale = 1.0 + 0.1 * std::log(4.0);
    for (int i = 0; i < 32; ++i) EXPECT_NEAR(std::hypot(c[i], s[i]), mscale, 1e-5);
    // The highest frequency (i = 0) extrapolates (not interpolated): theta = pos.
    EXPECT_NEAR(std::atan2(s[0], c[0]), std::remainder(100.0, 2 * M_PI), 1e-4);
}

// Attention through the paged cache equals attention over plain contiguous K/V.
TEST(CpuOps, PagedAttentionMatchesContiguousReference) {
    CpuBackend be(2);
    const int n_head = 4, n_kv = 2, hd = 16;
    for (KvCodec codec : {KvCodec::F32, KvCodec::F16}) {
        KvCache kv(be, {16, 4, codec}, {{n_kv, hd}});
        // Two sequences: A has 5 tokens in the cache and 3 new; B has 0 and 6 new.
        const int32_t a = kv.create_sequence(), b = kv.create_sequence();
        // Interleave allocation so block tables are not contiguous.
        ASSERT_TRUE(kv.reserve(a, 5));
        ASSERT_TRUE(kv.reserve(b, 6));
        ASSERT_TRUE(kv.reserve(a, 3));
        const int lens[2] = {8, 6};
        const int seqs[2] = {a, b};
        std::vector<std::vector<float>> K(2), V(2);
        for (int s = 0; s < 2; ++s) {
            K[s] = random_vector(size_t(lens[s]) * n_kv * hd, 10 + s);
            V[s] = random_vector(size_t(lens[s]) * n_kv * hd, 20 + s);
        }
        // Store A's first 5 tokens in a first step.
        {
            StepPlan pre;
            for (int i = 0; i < 5; ++i) {
                pre.tokens.push_back(0);
                pre.positions.push_back(i);
                pre.token_seq.push_back(0);
            }
            kv.append_slots(a, 5, pre.kv_slots);
            be.begin_step(pre);
            be.kv_store(kv.layer(0), {K[0].data(), 5, n_kv * hd}, {V[0].data(), 5, n_kv * hd});
            kv.commit(a, 5);
        }
        // Step with A's 3 new tokens and B's 6 tokens.
        StepPlan plan;
        SeqStep sa{0, 3, 5, kv.block_table(a)}, sb{3, 6, 0, kv.block_table(b)};
        plan.seqs = {sa, sb};
        std::vector<float> knew, vnew;
        for (int i = 0; i < 3; ++i) {
            plan.tokens.push_back(0);
            plan.positions.push_back(5 + i);
            plan.token_seq.push_back(0);
        }
        for (int i = 0; i < 6; ++i) {
            plan.tokens.push_back(0);
            plan.positions.push_back(i);
            plan.token_seq.push_back(1);
        }
        kv.append_slots(a, 3, plan.kv_slots);
        kv.append_slots(b, 6, plan.kv_slots);
        knew.insert(knew.end(), K[0].begin() + 5 * n_kv * hd, K[0].end());
        knew.insert(knew.end(), K[1].begin(), K[1].end());
        vnew.insert(vnew.end(), V[0].begin() + 5 * n_kv * hd, V[0].end());
        vnew.insert(vnew.end(), V[1].begin(), V[1].end());
        be.begin_step(plan);
        be.kv_store(kv.layer(0), {knew.data(), 9, n_kv * hd}, {vnew.data(), 9, n_kv * hd});
        auto q = random_vector(9 * n_head * hd, 30);
        std::vector<float> out(q.size());
        AttentionParams ap{n_head, n_kv, hd, 0.25f};
        be.attention({q.data(), 9, n_head * hd}, kv.layer(0), ap, {out.data(), 9, n_head * hd});

        const double tol = codec == KvCodec::F32 ? 1e-5 : 3e-3;
        for (int t = 0; t < 9; ++t) {
            const int s = plan.token_seq[t];
            const int pos = plan.positions[t];
            for (int h = 0; h < n_head; ++h) {
                const int kvh = h / (n_head / n_kv);
                std::vector<double> w(pos + 1);
                double mx = -1e30, sum = 0;
                for (int j = 0; j <= pos; ++j) {
                    double d = 0;
                    for (int i = 0; i < hd; ++i)
                        d += double(q[(t * n_head + h) * hd + i]) * K[s][(j * n_kv + kvh) * hd + i];
                    w[j] = d * 0.25;
                    mx = std::max(mx, w[j]);
                }
                for (auto& x : w) sum += (x = std::exp(x - mx));
                for (int i = 0; i < hd; ++i) {
                    double o = 0;
                    for (int j = 0; j <= pos; ++j) o += w[j] / sum * V[s][(j * n_kv + kvh) * hd + i];
                    EXPECT_NEAR(out[(t * n_head + h) * hd + i], o, tol) << "t=" << t << " h=" << h;
                }
            }
        }
        (void)seqs;
    }
}

TEST(CpuOps, MatmulF32WithBias) {
    CpuBackend be(2);
    const int n = 3, in = 19, outf = 7;
    auto w = random_vector(size_t(in) * outf, 40);
    auto x = random_vector(size_t(n) * in, 41);
    auto bias = random_vector(outf, 42);
    Weight W = be.load_weight(TensorType::F32, in, outf, 1, w.data());
    Weight B = be.load_weight(TensorType::F32, outf, 1, 1, bias.data());
    std::vector<float> y(size_t(n) * outf);
    be.matmul(W, {x.data(), n, in}, {y.data(), n, outf}, &B);
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < outf; ++r) {
            double d = bias[r];
            for (int i = 0; i < in; ++i) d += double(w[r * in + i]) * x[t * in + i];
            EXPECT_NEAR(y[t * outf + r], d, 1e-4);
        }
}

}  // namespace
}  // namespace rf
