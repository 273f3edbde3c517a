#include "backend/gpu_host/vram_budget.h"

#include <cstdlib>

#include "core/error.h"

namespace rf {
namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
double gib(uint64_t b) { return static_cast<double>(b) / kGiB; }
}  // namespace

uint64_t vram_reserve_bytes(bool drives_display) {
    if (const char* env = std::getenv("ROCMFORGE_RESERVE_VRAM_GB"); env && *env) {
        char* end = nullptr;
        const double v = std::strtod(env, &end);
        RF_CHECK(end != env && *end == '\0' && v >= 0.0, "ROCMFORGE_RESERVE_VRAM_GB='{}' is not a number >= 0", env);
        return static_cast<uint64_t>(v * kGiB);
    }
    return static_cast<uint64_t>((drives_display ? 4.0 : 1.0) * kGiB);
}

void check_vram_budget(const VramNeed& need, uint64_t free_bytes, uint64_t total_bytes, uint64_t reserve_bytes) {
    const uint64_t usable = free_bytes > reserve_bytes ? free_bytes - reserve_bytes : 0;
    if (need.total() <= usable) return;
    fail("gpu: model needs {:.2f} GiB (weights {:.2f} + KV {:.2f} + workspace {:.2f}), GPU has {:.2f} GiB free "
         "of {:.2f}, keeping {:.2f} GiB in reserve (ROCMFORGE_RESERVE_VRAM_GB); use a smaller --ctx-size, a "
         "smaller quantization, or --device cpu",
         gib(need.total()), gib(need.weights), gib(need.kv), gib(need.workspace), gib(free_bytes), gib(total_bytes),
         gib(reserve_bytes));
}

}  // namespace rf
