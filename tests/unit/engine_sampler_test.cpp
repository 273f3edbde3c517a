#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "core/error.h"
#include "engine/sampler.h"

namespace rf {
namespace {

std::vector<float> test_logits() { return {1.0f, 3.0f, 2.0f, -1.0f, 2.9f, 0.5f}; }

TEST(Sampler, GreedyPicksArgmax) {
    SamplingParams p;
    p.temperature = 0.0f;
    Sampler s(p);
    EXPECT_EQ(s.sample(test_logits(), {}).token, 1);
}

TEST(Sampler, SameSeedSameTokens) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 1234;
    Sampler a(p), b(p);
    std::vector<int32_t> ta, tb;
    for (int i = 0; i < 200; ++i) {
        ta.push_back(a.sample(test_logits(), {}).token);
        tb.push_back(b.sample(test_logits(), {}).token);
    }
    EXPECT_EQ(ta, tb);
    // And it really samples: more than one distinct token over 200 draws.
    std::map<int32_t, int> counts;
    for (auto t : ta) ++counts[t];
    EXPECT_GT(counts.size(), 2u);
}

TEST(Sampler, DistributionFollowsSoftmax) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 7;
    Sampler s(p);
    const std::vector<float> logits = {0.0f, std::log(3.0f)};  // p = 0.25 / 0.75
    int ones = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) ones += s.sample(logits, {}).token;
    EXPECT_NEAR(static_cast<double>(ones) / n, 0.75, 0.015);
}

TEST(Sampler, TopKOneIsGreedy) {
    SamplingParams p;
    p.temperature = 5.0f;
    p.top_k = 1;
    p.seed = 3;
    Sampler s(p);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(test_logits(), {}).token, 1);
}

TEST(Sampler, TopPAndMinPTruncate) {
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.min_p = 0.0f;
    p.top_p = 0.5f;  // token 1 (p~0.37) + token 4 (p~0.33) reach 0.5
    p.seed = 11;
    Sampler s(p);
    for (int i = 0; i < 300; ++i) {
        const int32_t t = s.sample(test_logits(), {}).token;
        EXPECT_TRUE(t == 1 || t == 4) << t;
    }
    SamplingParams m;
    m.temperature = 1.0f;
    m.top_k = 0;
    m.top_p = 1.0f;
    m.min_p = 0.5f;  // keeps tokens with p >= 0.5 * p_max: 1 (e^3), 4 (e^2.9), 2 (e^2 >= 0.5 e^3? e^-1=0.37 no)
    m.seed = 5;
    Sampler sm(m);
    for (int i = 0; i < 300; ++i) {
        const int32_t t = sm.sample(test_logits(), {}).token;
        EXPECT_TRUE(t == 1 || t == 4) << t;
    }
}

TEST(Sampler, PenaltiesChangeTheChoice) {
    SamplingParams p;
    p.temperature = 0.0f;
    p.repeat_penalty = 2.0f;  // token 1: 3.0 -> 1.5, so token 4 (2.9) wins
    Sampler s(p);
    const std::vector<int32_t> history = {1};
    EXPECT_EQ(s.sample(test_logits(), history).token, 4);

    SamplingParams f;
    f.temperature = 0.0f;
    f.frequency_penalty = 0.08f;  // token 1 seen twice: 3.0 - 0.16 = 2.84 < 2.9
    Sampler sf(f);
    const std::vector<int32_t> twice = {1, 1};
    EXPECT_EQ(sf.sample(test_logits(), twice).token, 4);
    const std::vector<int32_t> once = {1};
    EXPECT_EQ(sf.sample(test_logits(), once).token, 1);  // 3.0 - 0.08 = 2.92 > 2.9
}

// logit_bias: added before everything else; -inf bans a token; the reported logprobs stay the model's.
TEST(Sampler, LogitBiasMovesAndBansTokens) {
    SamplingParams p;
    p.temperature = 0.0f;
    p.logit_bias = {{1, -std::numeric_limits<float>::infinity()}};  // the argmax banned: 4 (2.9) next
    EXPECT_EQ(Sampler(p).sample(test_logits(), {}).token, 4);
    p.logit_bias = {{1, -0.2f}, {5, 2.0f}};  // 3.0 - 0.2 < 0.5 + 2.0 < 2.9? no: 2.5 < 2.9, so 4
    EXPECT_EQ(Sampler(p).sample(test_logits(), {}).token, 4);
    p.logit_bias = {{5, 2.6f}};  // 3.1 > 3.0
    EXPECT_EQ(Sampler(p).sample(test_logits(), {}).token, 5);
    // sampled: a +100 token is all but certain, a banned one never drawn
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 7;
    p.logit_bias = {{3, 100.0f}};
    Sampler hot(p);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(hot.sample(test_logits(), {}).token, 3);
    p.logit_bias = {{1, -std::numeric_limits<float>::infinity()}, {4, -std::numeric_limits<float>::infinity()}};
    p.n_logprobs = 1;
    Sampler banned(p);
    for (int i = 0; i < 200; ++i) {
        const SampleResult r = banned.sample(test_logits(), {});
        EXPECT_NE(r.token, 1);
        EXPECT_NE(r.token, 4);
        EXPECT_EQ(r.top.at(0).token, 1);  // (the model's own distribution)
    }
    // a token outside the row, a NaN or +inf bias
    p.logit_bias = {{6, 1.0f}};
    EXPECT_THROW((void)Sampler(p).sample(test_logits(), {}), Error);
    p.logit_bias = {{1, std::nanf("")}};
    EXPECT_THROW(Sampler{p}, Error);
    p.logit_bias = {{1, std::numeric_limits<float>::infinity()}};
    EXPECT_THROW(Sampler{p}, Error);
}

TEST(Sampler, ReportsLogprobsOfTheModelDistribution) {
    SamplingParams p;
    p.temperature = 0.0f;
    p.n_logprobs = 3;
    Sampler s(p);
    const auto logits = test_logits();
    const SampleResult r = s.sample(logits, {});
    double z = 0.0;
    for (float l : logits) z += std::exp(l);
    ASSERT_EQ(r.top.size(), 3u);
    EXPECT_EQ(r.top[0].token, 1);
    EXPECT_EQ(r.top[1].token, 4);
    EXPECT_EQ(r.top[2].token, 2);
    EXPECT_NEAR(r.top[0].logprob, 3.0 - std::log(z), 1e-5);
    EXPECT_NEAR(r.logprob, r.top[0].logprob, 1e-6);
}

TEST(Sampler, RejectsBadParameters) {
    SamplingParams p;
    p.top_p = 0.0f;
    EXPECT_THROW(Sampler{p}, Error);
}


TEST(Sampler, RefusesValuesOutOfRangeNamingTheField) {
    const float nan = std::nanf(""), inf = INFINITY;
    struct Case {
        void (*set)(SamplingParams&, float nan, float inf);
        const char* message;
    };
    const Case cases[] = {
        {[](SamplingParams& p, float n, float) { p.temperature = n; }, "temperature must be finite and >= 0 (got nan)"},
        {[](SamplingParams& p, float, float) { p.temperature = -0.5f; }, "temperature must be finite and >= 0 (got -0.5)"},
        {[](SamplingParams& p, float n, float) { p.top_p = n; }, "top_p must be > 0"},
        {[](SamplingParams& p, float n, float) { p.min_p = n; }, "min_p must be < 1"},
        {[](SamplingParams& p, float, float i) { p.repeat_penalty = i; }, "repeat_penalty must be finite and > 0"},
        {[](SamplingParams& p, float, float) { p.repeat_last_n = -2; }, "repeat_last_n must be >= -1 (-1: all; got -2)"},
        {[](SamplingParams& p, float n, float) { p.presence_penalty = n; }, "presence_penalty must be finite"},
        {[](SamplingParams& p, float, float i) { p.frequency_penalty = -i; }, "frequency_penalty must be finite (got -inf)"},
    };
    for (const Case& c : cases) {
        SamplingParams p;
        c.set(p, nan, inf);
        try {
            Sampler s(p);
            ADD_FAILURE() << c.message << ": accepted";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
        }
    }
    // the documented "off" values stay valid
    SamplingParams p;
    p.top_k = -1;
    p.top_p = 1.5f;
    p.min_p = -0.1f;
    p.repeat_last_n = -1;
    EXPECT_NO_THROW(check_sampling_params(p));
}

}  // namespace
}  // namespace rf
