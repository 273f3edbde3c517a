// The GPU scratch buffers' growth rule (backend/gpu/scratch_growth.h): no growth while a buffer
// suffices, at least the bytes asked for, and a quarter of headroom over the old size, so that a size
// creeping up by a few bytes per step reallocates a logarithmic number of times, not at every step.
#include <gtest/gtest.h>

#include <cstddef>

#include "backend/gpu/scratch_growth.h"

namespace rf::gpu {
namespace {

TEST(GpuScratchGrowth, KeepsABufferThatSuffices) {
    EXPECT_EQ(scratch_bytes_after_growth(4096, 4096), 4096u);
    EXPECT_EQ(scratch_bytes_after_growth(4096, 1), 4096u);
    EXPECT_EQ(scratch_bytes_after_growth(0, 0), 0u);
}

TEST(GpuScratchGrowth, AFirstAllocationTakesWhatIsAsked) { EXPECT_EQ(scratch_bytes_after_growth(0, 8320), 8320u); }

TEST(GpuScratchGrowth, GrowsByAQuarterOverTheOldSizeAtLeast) {
    // a few bytes more than held: a quarter more than held (the rule ensure_scratch had lost: it
    // reset the old size before computing the growth, and grew to exactly the bytes asked for)
    EXPECT_EQ(scratch_bytes_after_growth(8320, 8452), 10400u);
    // far more than held: what is asked
    EXPECT_EQ(scratch_bytes_after_growth(8320, 1u << 20), size_t{1} << 20);
}

TEST(GpuScratchGrowth, ASizeCreepingUpEveryStepReallocatesLogarithmically) {
    size_t have = 0;
    int reallocations = 0;
    for (size_t need = 1024; need <= 1024 + 64 * 100000; need += 64) {  // +64 bytes per step
        const size_t next = scratch_bytes_after_growth(have, need);
        ASSERT_GE(next, need);
        if (next != have) ++reallocations;
        have = next;
    }
    EXPECT_LE(reallocations, 48);  // 1024 B -> 6.4 MB by quarters: 41; one per step would be 100,001
}

}  // namespace
}  // namespace rf::gpu
