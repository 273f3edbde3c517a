// Sampling on the device against the host chain and against rf::Sampler: greedy with ties,
// top-k / top-p / min-p / temperature, penalties, and the host fallback for wide nuclei.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include "backend/gpu/gpu_sampling_host.h"
#include "engine/sampler.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

constexpr int64_t kVocab = 151936;

TEST(GpuSampling, ArgmaxTakesTheLowestIndexOfTheMaximum) {
    auto logits = random_floats(kVocab, 1, 3.0f);
    logits[70001] = 100.0f;
    logits[123456] = 100.0f;
    DeviceActs d(logits, 1, kVocab);
    EXPECT_EQ(gpu().argmax(d.act().data, kVocab), 70001);
    for (int64_t n : {1, 31, 2049, 4097}) {
        const auto v = random_floats(static_cast<size_t>(n), 2 + static_cast<uint32_t>(n));
        DeviceActs dv(v, 1, n);
        EXPECT_EQ(gpu().argmax(dv.act().data, n), static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin()));
    }
}

// A row with NaN logits: greedy picks the largest of the others; a row of nothing but NaN is a
// clear error (synchronous and pipelined argmax, and the sampling chain), never an id past the
// vocabulary that a device-fed step would read out of bounds.
TEST(GpuSampling, NanLogitsAreSkippedAndAllNanIsAnError) {
    auto logits = random_floats(kVocab, 5, 3.0f);
    for (int64_t i = 0; i < kVocab; i += 3) logits[static_cast<size_t>(i)] = std::nanf("");
    logits[4000] = 50.0f;
    DeviceActs d(logits, 1, kVocab);
    EXPECT_EQ(gpu().argmax(d.act().data, kVocab), 4000);
    const std::vector<float> nan(static_cast<size_t>(kVocab), std::nanf(""));
    DeviceActs dn(nan, 1, kVocab);
    auto expect_error = [](auto&& call, const char* what) {
        try {
            call();
            ADD_FAILURE() << what << ": no error for an all-NaN row";
        } catch (const std::exception& e) {
            EXPECT_NE(std::string(e.what()).find("no comparable value"), std::string::npos) << what << ": " << e.what();
        }
    };
    expect_error([&] { (void)gpu().argmax(dn.act().data, kVocab); }, "argmax");
    gpu().argmax_async(dn.act().data, kVocab);
    expect_error([&] { (void)gpu().argmax_wait(); }, "argmax_async");
    GpuSamplingParams p;
    p.temperature = 0.7f;
    expect_error([&] { (void)gpu().sample(dn.act().data, kVocab, p, {}, 0.5); }, "sampling chain");
    EXPECT_EQ(gpu().argmax(d.act().data, kVocab), 4000) << "the backend after the errors";
}

// Greedy sampling without penalties takes the greedy stage 1 (f32 sums, one packed reduction of the
// maximum and its lowest index; RF_GPU_SAMPLE_FAST=off: the general stage 1): the same token and a
// log-probability within f32 rounding, ties to the lowest index, on rows of one block and of many; the
// general stage-1 kernel knocked out by name leaves the greedy result right (it is not launched), the
// greedy one knocked out does not.
TEST(GpuSampling, GreedyStageOneMatchesTheGeneralOne) {
    for (const int64_t n : {int64_t{1}, int64_t{2049}, int64_t{4097}, kVocab}) {
        for (uint32_t rep = 0; rep < 3; ++rep) {
            auto v = random_floats(static_cast<size_t>(n), 300 + static_cast<uint32_t>(n) + rep, 3.0f);
            if (rep == 1 && n > 3000) v[2500] = v[3000] = 40.0f;  // a tie across two blocks: the lower index
            if (rep == 2 && n > 5) v[3] = v[5] = 40.0f;           // a tie inside one block
            DeviceActs d(v, 1, n);
            GpuSampleResult r[2];
            for (int off = 0; off < 2; ++off) {
                std::unique_ptr<ScopedEnv> env;
                if (off == 1) env = std::make_unique<ScopedEnv>("RF_GPU_SAMPLE_FAST", "off");
                GpuSamplingParams greedy;
                greedy.temperature = 0.0f;
                r[off] = gpu().sample(d.act().data, n, greedy, {}, 0.5);
            }
            const auto best = static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
            EXPECT_EQ(r[0].token, best) << "n " << n << " rep " << rep;
            EXPECT_EQ(r[0].token, r[1].token) << "n " << n << " rep " << rep;
            EXPECT_NEAR(r[0].logprob, r[1].logprob, 1e-5) << "n " << n << " rep " << rep;
        }
    }
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) return;  // (kernel names: CUDA builds only)
    auto a = random_floats(kVocab, 401, 3.0f), b = random_floats(kVocab, 402, 3.0f);
    a[10] = 50.0f;
    b[20] = 50.0f;
    DeviceActs da(a, 1, kVocab), db(b, 1, kVocab);
    {
        ScopedEnv skip("RF_GPU_PROFILE_SKIP", "sample_stage1_kernel");
        EXPECT_EQ(gpu().argmax(db.act().data, kVocab), 20) << "greedy sampling launched the general stage 1";
    }
    EXPECT_EQ(gpu().argmax(da.act().data, kVocab), 10);
    ScopedEnv skip("RF_GPU_PROFILE_SKIP", "sample_greedy_stage1");
    EXPECT_NE(gpu().argmax(db.act().data, kVocab), 20) << "the greedy stage 1 was not launched";
}

TEST(GpuSampling, ChainMatchesTheHostChain) {
    struct Case {
        GpuSamplingParams p;
        bool penalties;
    };
    std::vector<Case> cases;
    auto mk = [](float t, int k, float top_p, float min_p) {
        GpuSamplingParams p;
        p.temperature = t;
        p.top_k = k;
        p.top_p = top_p;
        p.min_p = min_p;
        return p;
    };
    cases.push_back({mk(0.8f, 40, 0.95f, 0.05f), false});
    cases.push_back({mk(1.3f, 1, 1.0f, 0.0f), false});
    cases.push_back({mk(0.7f, 256, 1.0f, 0.0f), false});
    cases.push_back({mk(1.0f, 100, 0.5f, 0.0f), false});
    cases.push_back({mk(0.9f, 0, 0.9f, 0.0f), false});   // top-k off: nucleus from the full row
    cases.push_back({mk(1.0f, 0, 1.0f, 0.1f), false});   // min-p only
    cases.push_back({mk(0.0f, 40, 0.95f, 0.05f), true}); // greedy with penalties
    GpuSamplingParams pen = mk(0.8f, 40, 0.95f, 0.05f);
    pen.repeat_penalty = 1.3f;
    pen.presence_penalty = 0.5f;
    pen.frequency_penalty = 0.2f;
    cases.push_back({pen, true});
    const std::vector<GpuTokenCount> window = {{5, 2}, {77, 1}, {151935, 3}, {0, 1}};
    // the result read back by cudaMemcpyAsync and (the default) written to the host by the kernel
    for (const char* zero_copy : {"on", "off"}) {
        SCOPED_TRACE(std::string("RF_GPU_ZERO_COPY=") + zero_copy);
        ScopedEnv env("RF_GPU_ZERO_COPY", zero_copy);
        int seed = 0;
        for (const Case& c : cases) {
            for (float spread : {1.0f, 4.0f}) {
                auto logits = random_floats(kVocab, 10 + seed++, spread);
                // make the penalised tokens matter
                for (const auto& tc : window) logits[static_cast<size_t>(tc.token)] = 3.5f * spread;
                DeviceActs d(logits, 1, kVocab);
                for (double u : {0.03, 0.31, 0.5, 0.77, 0.97}) {
                    const auto pens = c.penalties ? std::span<const GpuTokenCount>(window) : std::span<const GpuTokenCount>();
                    const GpuSampleResult g = gpu().sample(d.act().data, kVocab, c.p, pens, u);
                    const GpuSampleResult h = gpu::sample_row_host(logits, c.p, pens, u);
                    EXPECT_EQ(g.token, h.token) << "T " << c.p.temperature << " k " << c.p.top_k << " p " << c.p.top_p
                                                << " min_p " << c.p.min_p << " u " << u << " spread " << spread;
                    EXPECT_NEAR(g.logprob, h.logprob, 1e-4);
                }
            }
        }
    }
}

// sample_rows (a batched decode step's rows, one round trip): the same results as row by row, for
// greedy, sampled and penalised rows mixed, more rows than one group of host slots, and a row whose
// nucleus is wider than the device list (the host fallback) among them.
TEST(GpuSampling, RowsInOneBatchGiveWhatEachRowGives) {
    const int64_t n = 32000;
    const int n_rows = 70;
    std::vector<float> all;
    for (int i = 0; i < n_rows; ++i) {
        const auto v = random_floats(static_cast<size_t>(n), 900 + static_cast<uint32_t>(i), i % 7 == 3 ? 0.01f : 3.0f);
        all.insert(all.end(), v.begin(), v.end());
    }
    DeviceActs d(all, n_rows, n);
    std::vector<GpuRowSample> rows(static_cast<size_t>(n_rows));
    for (int i = 0; i < n_rows; ++i) {
        GpuRowSample& r = rows[static_cast<size_t>(i)];
        r.row = d.act().data + static_cast<size_t>(i) * n;
        r.n = n;
        r.params.temperature = i % 3 == 0 ? 0.0f : 0.9f;
        r.params.top_k = i % 7 == 3 ? 0 : 40;  // (flat rows, top-k off, top-p 1: a nucleus of the whole row)
        r.params.top_p = i % 7 == 3 ? 1.0f : 0.95f;
        r.params.min_p = i % 7 == 3 ? 0.0f : 0.05f;
        if (i % 5 == 1) {
            r.params.repeat_penalty = 1.2f;
            r.penalties = {{3, 1}, {17, 2}};
        }
        r.u = (i * 0.137) - static_cast<int>(i * 0.137);
    }
    const std::vector<GpuSampleResult> batch = gpu().sample_rows(rows);
    ASSERT_EQ(batch.size(), rows.size());
    int fallbacks = 0;
    for (int i = 0; i < n_rows; ++i) {
        const GpuRowSample& r = rows[static_cast<size_t>(i)];
        const GpuSampleResult one = gpu().sample(r.row, n, r.params, r.penalties, r.u);
        EXPECT_EQ(batch[static_cast<size_t>(i)].token, one.token) << "row " << i;
        EXPECT_EQ(batch[static_cast<size_t>(i)].logprob, one.logprob) << "row " << i;
        EXPECT_EQ(batch[static_cast<size_t>(i)].on_device, one.on_device) << "row " << i;
        fallbacks += !one.on_device;
    }
    EXPECT_GT(fallbacks, 0);
    EXPECT_TRUE(gpu().sample_rows({}).empty());
}

TEST(GpuSampling, AgreesWithTheCpuSamplerForTheSameSeed) {
    auto logits = random_floats(kVocab, 5, 2.5f);
    DeviceActs d(logits, 1, kVocab);
    int on_device = 0;
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        SamplingParams sp;
        sp.seed = seed;
        Sampler sampler(sp);
        const SampleResult ref = sampler.sample(logits, {});
        std::mt19937_64 rng(seed);
        const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
        GpuSamplingParams gp;
        gp.temperature = sp.temperature;
        gp.top_k = sp.top_k;
        gp.top_p = sp.top_p;
        gp.min_p = sp.min_p;
        const GpuSampleResult g = gpu().sample(d.act().data, kVocab, gp, {}, u);
        EXPECT_EQ(g.token, ref.token) << "seed " << seed;
        EXPECT_NEAR(g.logprob, ref.logprob, 1e-4);
        on_device += g.on_device ? 1 : 0;
    }
    EXPECT_EQ(on_device, 20);  // top-k 40 never needs the host
}

}  // namespace
}  // namespace rf::gputest
