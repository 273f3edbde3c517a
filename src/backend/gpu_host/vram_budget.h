// VRAM budget: before allocating, the GPU backend adds up weights + KV cache + workspace and
// refuses a model that does not fit in free memory minus a reserve:
//   "model needs 9.10 GiB (weights 7.20 + KV 1.50 + workspace 0.40), GPU has 7.80 GiB free,
//    keeping 1.00 GiB in reserve (ROCMFORGE_RESERVE_VRAM_GB)".
// The reserve is ROCMFORGE_RESERVE_VRAM_GB when set, else 4 GiB on a card driving a display and
// 1 GiB on a datacenter card without one.
#pragma once

#include <cstdint>
#include <string>

namespace rf {

struct VramNeed {
    uint64_t weights = 0;
    uint64_t kv = 0;
    uint64_t workspace = 0;
    uint64_t total() const { return weights + kv + workspace; }
};

// Reserve in bytes; `drives_display` from the device (kernel execution timeout attribute).
uint64_t vram_reserve_bytes(bool drives_display);

// Throws rf::Error with the numbers when need > free - reserve.
void check_vram_budget(const VramNeed& need, uint64_t free_bytes, uint64_t total_bytes, uint64_t reserve_bytes);

}  // namespace rf
