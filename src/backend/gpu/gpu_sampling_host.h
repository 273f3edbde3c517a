// The sampling chain of rf::Sampler on a host row with a given uniform draw u in [0, 1): the GPU
// backend's fallback when the nucleus is wider than its device candidate list, and the
// reference its tests compare the device chain with.
#pragma once

#include <cstdint>
#include <span>

#include "backend/gpu/gpu_backend.h"

namespace rf::gpu {

GpuSampleResult sample_row_host(std::span<const float> logits, const GpuSamplingParams& params,
                                std::span<const GpuTokenCount> penalties, double u);

}  // namespace rf::gpu
