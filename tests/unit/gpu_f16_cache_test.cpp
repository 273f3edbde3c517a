// The policy of the GPU's f16 weight cache (gpu_host/f16_weight_cache.h) with a fake allocator:
// keys, budget, eviction of idle entries only, failed steps, forgetting released weights, giving
// memory back, the environment variable and the automatic budget. The device side (bit-identical
// results, the backend's use of it) is tested in the GPU harness (tests/gpu/gpu_f16_cache_test.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "backend/gpu_host/f16_weight_cache.h"
#include "core/error.h"

namespace rf {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

// Hands out distinct fake addresses and checks that every free matches a live allocation.
struct FakeDevice {
    std::set<uintptr_t> live;
    uintptr_t next = 0x100000;
    int allocs = 0, frees = 0;
    bool full = false;
    F16WeightCache make() {
        return F16WeightCache(
            [this](size_t bytes) -> void* {
                if (full) return nullptr;
                ++allocs;
                const uintptr_t p = next;
                next += (bytes + 0xfff) & ~uintptr_t{0xfff};
                live.insert(p);
                return reinterpret_cast<void*>(p);
            },
            [this](void* p) {
                ++frees;
                EXPECT_EQ(live.erase(reinterpret_cast<uintptr_t>(p)), 1u) << "free of memory not handed out";
            });
    }
};

// A fake quantized matrix at a fake device address.
F16CacheKey key_at(uintptr_t addr, int64_t rows = 64, int64_t cols = 256, int32_t type = 2) {
    return {reinterpret_cast<const void*>(addr), type, rows, cols};
}
constexpr size_t kSrc = 64 * 256 / 2;    // its quantized bytes (any value: only forget() reads it)
constexpr size_t kBytes = 64 * 256 * 2;  // its f16 copy

TEST(GpuF16Cache, FillsOnFirstUseThenHits) {
    FakeDevice dev;
    {
        F16WeightCache c = dev.make();
        c.set_budget(10 * kBytes);
        c.begin_step();
        const auto s1 = c.acquire(key_at(0xa000), kSrc, kBytes);
        ASSERT_NE(s1.ptr, nullptr);
        EXPECT_TRUE(s1.fill);
        // the same matrix again in the same step: the first op writes it, this one only reads
        const auto s1b = c.acquire(key_at(0xa000), kSrc, kBytes);
        EXPECT_EQ(s1b.ptr, s1.ptr);
        EXPECT_FALSE(s1b.fill);
        c.end_step(true);
        c.begin_step();
        const auto s2 = c.acquire(key_at(0xa000), kSrc, kBytes);
        EXPECT_EQ(s2.ptr, s1.ptr);
        EXPECT_FALSE(s2.fill);
        c.end_step(true);
        EXPECT_EQ(c.counters().fills, 1);
        EXPECT_EQ(c.counters().hits, 1);
        EXPECT_EQ(c.used_bytes(), kBytes);
        EXPECT_EQ(dev.allocs, 1);
    }
    EXPECT_EQ(dev.frees, 1);  // freed with the cache
    EXPECT_TRUE(dev.live.empty());
}

TEST(GpuF16Cache, DifferentMatricesNeverShareAnEntry) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(10 * kBytes);
    c.begin_step();
    // another address; the same address as another type or shape (a view of other bytes)
    const F16CacheKey keys[] = {key_at(0xa000), key_at(0xb000), key_at(0xa000, 64, 256, 8), key_at(0xa000, 32, 256),
                                key_at(0xa000, 64, 512)};
    std::set<void*> ptrs;
    for (const auto& k : keys) {
        const auto s = c.acquire(k, kSrc, kBytes);
        ASSERT_NE(s.ptr, nullptr);
        EXPECT_TRUE(s.fill);
        ptrs.insert(s.ptr);
    }
    c.end_step(true);
    EXPECT_EQ(ptrs.size(), 5u);
    EXPECT_EQ(c.entries(), 5u);
}

TEST(GpuF16Cache, TinyBudgetCachesNothing) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(kBytes - 1);
    for (int step = 0; step < 3; ++step) {
        c.begin_step();
        EXPECT_EQ(c.acquire(key_at(0xa000), kSrc, kBytes).ptr, nullptr);
        c.end_step(true);
    }
    EXPECT_EQ(dev.allocs, 0);
    EXPECT_EQ(c.counters().bypasses, 3);
    EXPECT_EQ(c.used_bytes(), 0u);
}

TEST(GpuF16Cache, EvictsOnlyEntriesIdleForAWholeStep) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(kBytes);  // room for one copy
    const F16CacheKey a = key_at(0xa000), b = key_at(0xb000);
    c.begin_step();
    const void* pa = c.acquire(a, kSrc, kBytes).ptr;
    ASSERT_NE(pa, nullptr);
    EXPECT_EQ(c.acquire(b, kSrc, kBytes).ptr, nullptr);  // a is bound in this step
    c.end_step(true);
    c.begin_step();
    EXPECT_EQ(c.acquire(b, kSrc, kBytes).ptr, nullptr);  // a was used in the previous step
    c.end_step(true);
    c.begin_step();
    const auto sb = c.acquire(b, kSrc, kBytes);  // a idle for a whole step: evicted
    ASSERT_NE(sb.ptr, nullptr);
    EXPECT_TRUE(sb.fill);
    c.end_step(true);
    EXPECT_EQ(c.counters().evictions, 1);
    EXPECT_EQ(c.entries(), 1u);
    EXPECT_LE(c.used_bytes(), c.budget());
    EXPECT_EQ(dev.live.size(), 1u);
    // a is gone: asking for it fills again (after b has been idle)
    c.begin_step();
    c.end_step(true);
    c.begin_step();
    EXPECT_TRUE(c.acquire(a, kSrc, kBytes).fill);
    c.end_step(true);
}

TEST(GpuF16Cache, LeastRecentlyUsedGoesFirst) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(3 * kBytes);
    c.begin_step();
    const void* p1 = c.acquire(key_at(0x1000), kSrc, kBytes).ptr;
    const void* p2 = c.acquire(key_at(0x2000), kSrc, kBytes).ptr;
    const void* p3 = c.acquire(key_at(0x3000), kSrc, kBytes).ptr;
    c.end_step(true);
    c.begin_step();  // 1 used again, later than 2 and 3
    EXPECT_EQ(c.acquire(key_at(0x1000), kSrc, kBytes).ptr, p1);
    c.end_step(true);
    c.begin_step();
    c.end_step(true);
    c.begin_step();  // all three idle now; 2 is the least recently used
    EXPECT_TRUE(c.acquire(key_at(0x4000), kSrc, kBytes).fill);
    c.end_step(true);
    EXPECT_EQ(dev.live.count(reinterpret_cast<uintptr_t>(p2)), 0u);
    EXPECT_EQ(dev.live.count(reinterpret_cast<uintptr_t>(p1)), 1u);
    EXPECT_EQ(dev.live.count(reinterpret_cast<uintptr_t>(p3)), 1u);
    // a lower budget evicts in the same order: 3, then 1
    c.set_budget(2 * kBytes);
    EXPECT_EQ(dev.live.count(reinterpret_cast<uintptr_t>(p3)), 0u);
    EXPECT_EQ(dev.live.count(reinterpret_cast<uintptr_t>(p1)), 1u);
    EXPECT_EQ(c.used_bytes(), 2 * kBytes);
}

TEST(GpuF16Cache, FailedStepDropsItsNewCopies) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(4 * kBytes);
    c.begin_step();
    const void* pa = c.acquire(key_at(0xa000), kSrc, kBytes).ptr;
    c.end_step(true);
    c.begin_step();
    EXPECT_EQ(c.acquire(key_at(0xa000), kSrc, kBytes).ptr, pa);
    EXPECT_TRUE(c.acquire(key_at(0xb000), kSrc, kBytes).fill);
    c.end_step(false);  // b was never written
    EXPECT_EQ(c.entries(), 1u);
    EXPECT_EQ(dev.live.size(), 1u);
    c.begin_step();
    EXPECT_TRUE(c.acquire(key_at(0xb000), kSrc, kBytes).fill);  // written this time
    EXPECT_FALSE(c.acquire(key_at(0xa000), kSrc, kBytes).fill);
    c.end_step(true);
}

TEST(GpuF16Cache, ForgetsReleasedOrOverwrittenWeights) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(4 * kBytes);
    c.begin_step();
    c.acquire(key_at(0xa000), kSrc, kBytes);
    c.acquire(key_at(0xa000 + kSrc), kSrc, kBytes);  // the next matrix of the same allocation
    c.end_step(true);
    c.forget(reinterpret_cast<const void*>(0xa000 + kSrc - 1), 1);  // last byte of the first
    EXPECT_EQ(c.entries(), 1u);
    c.forget(reinterpret_cast<const void*>(0x9000), 0xa000 - 0x9000);  // ends where it starts: no overlap
    EXPECT_EQ(c.entries(), 1u);
    c.forget(reinterpret_cast<const void*>(0xa000), 2 * kSrc);  // the whole allocation
    EXPECT_EQ(c.entries(), 0u);
    EXPECT_TRUE(dev.live.empty());
    EXPECT_EQ(c.counters().evictions, 0);
    // a new weight at the same address fills a new copy
    c.begin_step();
    EXPECT_TRUE(c.acquire(key_at(0xa000), kSrc, kBytes).fill);
    c.end_step(true);
}

TEST(GpuF16Cache, FullDeviceStopsGrowing) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(10 * kBytes);
    c.begin_step();
    ASSERT_NE(c.acquire(key_at(0x1000), kSrc, kBytes).ptr, nullptr);
    dev.full = true;
    EXPECT_EQ(c.acquire(key_at(0x2000), kSrc, kBytes).ptr, nullptr);
    c.end_step(true);
    EXPECT_EQ(c.budget(), kBytes);  // lowered to what it holds
    EXPECT_EQ(c.counters().bypasses, 1);
}

TEST(GpuF16Cache, GivesMemoryBackOnDemand) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    c.set_budget(10 * kBytes);
    c.begin_step();
    for (uintptr_t a = 1; a <= 4; ++a) c.acquire(key_at(a * 0x10000), kSrc, kBytes);
    c.end_step(true);
    EXPECT_EQ(c.release_for(kBytes + 1), 2 * kBytes);  // two copies cover it
    EXPECT_EQ(c.used_bytes(), 2 * kBytes);
    EXPECT_EQ(c.budget(), 2 * kBytes);
    EXPECT_EQ(c.release_for(100 * kBytes), 2 * kBytes);  // everything it has
    EXPECT_EQ(c.used_bytes(), 0u);
    EXPECT_TRUE(dev.live.empty());
    // inside a step the copies bound to it stay
    c.set_budget(10 * kBytes);
    c.begin_step();
    c.acquire(key_at(0x1000), kSrc, kBytes);
    EXPECT_EQ(c.release_for(kBytes), 0u);
    c.end_step(true);
}

TEST(GpuF16Cache, StepRulesAreChecked) {
    FakeDevice dev;
    F16WeightCache c = dev.make();
    EXPECT_THROW(c.begin_step(), Error);  // no budget yet
    c.set_budget(kBytes);
    EXPECT_THROW(c.acquire(key_at(0x1000), kSrc, kBytes), Error);  // outside a step
    c.begin_step();
    EXPECT_THROW(c.begin_step(), Error);
    EXPECT_THROW(c.set_budget(0), Error);
    c.end_step(true);
}

TEST(GpuF16Cache, BudgetFromEnvironmentAndDevice) {
    unsetenv("ROCMFORGE_GPU_F16_CACHE_GB");
    EXPECT_FALSE(f16_cache_budget_from_env().has_value());
    setenv("ROCMFORGE_GPU_F16_CACHE_GB", "0", 1);
    EXPECT_EQ(f16_cache_budget_from_env(), uint64_t{0});
    setenv("ROCMFORGE_GPU_F16_CACHE_GB", "1.5", 1);
    EXPECT_EQ(f16_cache_budget_from_env(), 3 * kGiB / 2);
    for (const char* bad : {"-1", "lots", "2GB", "nan"}) {
        setenv("ROCMFORGE_GPU_F16_CACHE_GB", bad, 1);
        EXPECT_THROW(f16_cache_budget_from_env(), Error) << bad;
    }
    unsetenv("ROCMFORGE_GPU_F16_CACHE_GB");
    // 80 GiB card, 74 free, 1 GiB reserve: the margin is total / 16 = 5 GiB
    EXPECT_EQ(f16_cache_margin(80 * kGiB), 5 * kGiB);
    EXPECT_EQ(f16_cache_auto_budget(74 * kGiB, 80 * kGiB, kGiB), 68 * kGiB);
    // 8 GiB card: the margin is at least 1 GiB; nothing left is 0, not a wrap-around
    EXPECT_EQ(f16_cache_margin(8 * kGiB), kGiB);
    EXPECT_EQ(f16_cache_auto_budget(3 * kGiB, 8 * kGiB, kGiB), kGiB);
    EXPECT_EQ(f16_cache_auto_budget(kGiB, 8 * kGiB, kGiB), 0u);
}

}  // namespace
}  // namespace rf
