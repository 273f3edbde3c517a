// The greedy result as one 64-bit word (backend/gpu/sample_word.h), as the sampling chain's final
// kernel writes it for a host that polls it: every token with its logprob's bits back, the no-value
// result as token 0 with no_value set, and no result ever equal to the empty word the host waits on.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "backend/gpu/sample_word.h"

namespace rf::gpu {
namespace {

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

TEST(GpuSampleWord, RoundTripsTokensAndLogprobBits) {
    const float logprobs[] = {0.0f, -0.0f, -1e-30f, -3.25f, -87.5f, -std::numeric_limits<float>::infinity(),
                              std::nanf("")};
    for (const int32_t token : {0, 1, 151935, std::numeric_limits<int32_t>::max()}) {
        for (const float lp : logprobs) {
            const SampleOut r{lp, token, 0, 0};
            const uint64_t w = sample_word_encode(r);
            EXPECT_NE(w, kSampleWordEmpty) << "token " << token;
            const SampleOut back = sample_word_decode(w);
            EXPECT_EQ(back.token, token);
            EXPECT_EQ(bits(back.logprob), bits(lp)) << "token " << token << " logprob " << lp;
            EXPECT_EQ(back.no_value, 0);
            EXPECT_EQ(back.fallback, 0);
        }
    }
}

TEST(GpuSampleWord, NoValueIsTokenZeroWithTheFlag) {
    const SampleOut r{std::nanf(""), 0, 0, 1};  // (the final kernel's all-NaN result)
    const uint64_t w = sample_word_encode(r);
    EXPECT_NE(w, kSampleWordEmpty);
    const SampleOut back = sample_word_decode(w);
    EXPECT_EQ(back.no_value, 1);
    EXPECT_EQ(back.token, 0);
    EXPECT_TRUE(std::isnan(back.logprob));
    // a plain token 0 stays a value
    EXPECT_EQ(sample_word_decode(sample_word_encode(SampleOut{-1.0f, 0, 0, 0})).no_value, 0);
}

}  // namespace
}  // namespace rf::gpu
