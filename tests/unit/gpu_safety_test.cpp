// The GPU safety protocol's host side: cross-process lock, VRAM budget, staged preflight.
#include <gtest/gtest.h>

#include <string>

#include "backend/gpu_host/gpu_lock.h"
#include "backend/gpu_host/preflight.h"
#include "backend/gpu_host/vram_budget.h"
#include "core/error.h"
#include "test_paths.h"

namespace rf {
namespace {

TEST(GpuLock, SecondHolderTimesOutWithAClearMessage) {
    const std::string path = (test::temp_dir() / "gpu.lock").string();
    GpuLock first({path, 1.0});
    try {
        GpuLock second({path, 0.2});
        FAIL() << "second lock should not be granted";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(path), std::string::npos) << msg;
        EXPECT_NE(msg.find("pid " + std::to_string(::getpid())), std::string::npos) << msg;
        EXPECT_NE(msg.find("ROCMFORGE_GPU_LOCK_TIMEOUT"), std::string::npos) << msg;
    }
}

TEST(GpuLock, IsReleasedOnDestruction) {
    const std::string path = (test::temp_dir() / "gpu2.lock").string();
    { GpuLock a({path, 1.0}); }
    GpuLock b({path, 0.0});
    EXPECT_EQ(b.path(), path);
}

TEST(VramBudget, RefusesWithTheNumbers) {
    const uint64_t GiB = 1ull << 30;
    VramNeed need{7 * GiB, 2 * GiB, GiB / 2};
    EXPECT_NO_THROW(check_vram_budget(need, 20 * GiB, 24 * GiB, GiB));
    try {
        check_vram_budget(need, 10 * GiB, 24 * GiB, GiB);  // 9.5 needed, 9 usable
        FAIL();
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("needs 9.50 GiB"), std::string::npos) << msg;
        EXPECT_NE(msg.find("weights 7.00"), std::string::npos) << msg;
        EXPECT_NE(msg.find("10.00 GiB free"), std::string::npos) << msg;
        EXPECT_NE(msg.find("1.00 GiB in reserve"), std::string::npos) << msg;
    }
}

TEST(VramBudget, ReserveDependsOnDisplayAndEnvironment) {
    ::unsetenv("ROCMFORGE_RESERVE_VRAM_GB");
    EXPECT_EQ(vram_reserve_bytes(false), 1ull << 30);
    EXPECT_EQ(vram_reserve_bytes(true), 4ull << 30);
    ::setenv("ROCMFORGE_RESERVE_VRAM_GB", "2.5", 1);
    EXPECT_EQ(vram_reserve_bytes(true), (5ull << 30) / 2);
    ::setenv("ROCMFORGE_RESERVE_VRAM_GB", "lots", 1);
    EXPECT_THROW(vram_reserve_bytes(false), Error);
    ::unsetenv("ROCMFORGE_RESERVE_VRAM_GB");
}

class FakeDevice : public PreflightDevice {
public:
    int fail_at = -1;  // stage index that fails
    std::vector<std::string> calls;
    std::string stage(int i, const char* name) {
        calls.emplace_back(name);
        return i == fail_at ? std::string("planted failure") : std::string();
    }
    std::string device_present() override { return stage(0, "present"); }
    std::string runtime_sees_device() override { return stage(1, "runtime"); }
    std::string memory_round_trip() override { return stage(2, "memory"); }
    std::string trivial_kernel() override { return stage(3, "kernel"); }
};

TEST(Preflight, RunsStagesInOrderAndStopsAtTheFirstFailure) {
    FakeDevice ok;
    EXPECT_EQ(run_preflight(ok).passed.size(), 4u);
    EXPECT_EQ(ok.calls, (std::vector<std::string>{"present", "runtime", "memory", "kernel"}));

    FakeDevice bad;
    bad.fail_at = 2;
    try {
        run_preflight(bad);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("stage 'memory round trip': planted failure"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(bad.calls, (std::vector<std::string>{"present", "runtime", "memory"}));  // nothing after
}

}  // namespace
}  // namespace rf
