#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/half.h"

namespace rf {
namespace {

TEST(Half, KnownValues) {
    EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
    EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
    EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
    EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
    EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
    EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // rounds to inf
    EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
    EXPECT_EQ(f32_to_f16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
    EXPECT_EQ(f32_to_f16(0.333333333f), 0x3555);
    EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::nanf("")))));
    EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(f16_to_f32(0x0001), 5.960464477539063e-08f);
    EXPECT_EQ(f16_to_f32(0x03ff), 6.097555160522461e-05f);
    EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
}

TEST(Half, RoundTripEveryF16) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = f16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(f)) continue;
        EXPECT_EQ(f32_to_f16(f), h) << "h=" << h;
    }
}

TEST(Half, RoundsToNearestEven) {
    // Halfway between 1.0 (0x3c00) and the next f16 (0x3c01) rounds to even (0x3c00).
    EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3c00);
    EXPECT_EQ(f32_to_f16(1.0f + 3.0f / 2048.0f), 0x3c02);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
    for (int i = 0; i < 100000; ++i) {
        const float x = dist(rng) * (i % 2 ? 1e-4f : 1.0f);
        const uint16_t h = f32_to_f16(x);
        const float back = f16_to_f32(h);
        if (std::isinf(back)) continue;
        // No other f16 neighbour is closer.
        const float up = f16_to_f32(static_cast<uint16_t>(h + 1));
        const float down = f16_to_f32(static_cast<uint16_t>(h - 1));
        EXPECT_LE(std::fabs(back - x), std::fabs(up - x));
        EXPECT_LE(std::fabs(back - x), std::fabs(down - x));
    }
}

TEST(BFloat16, RoundTripAndRounding) {
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
    EXPECT_EQ(f32_to_bf16(1.0f + 1.0f / 256.0f), 0x3f80);  // tie -> even
    EXPECT_EQ(f32_to_bf16(1.0f + 3.0f / 256.0f), 0x3f82);
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = bf16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(f)) continue;
        EXPECT_EQ(f32_to_bf16(f), h);
    }
}

}  // namespace
}  // namespace rf
