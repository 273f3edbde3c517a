// Profiling substitute (RF_GPU_PROFILE_STREAM=a,b; benchmarks only, results are wrong): a matvec
// launch whose kernel name contains a or b is replaced by a plain streaming read of the same weight
// bytes (every plane of every matrix of the launch, four 16-byte loads per thread in flight, 256-thread
// blocks). Its shape (gpu_launch.h StreamShape, RF_GPU_PROFILE_STREAM_BLOCKS / _EARLY / _SPLIT / _PAD):
// blocks per SM (default 4), loads before the programmatic-dependent-launch wait (default 4), grid-stride
// or 16 KB chunks (from a counter or dealt), registers held for nothing. Nothing is written, so
// everything after it reads stale values. A step timed with a kernel class substituted says how far that
// class is, inside the step, from a stream of its bytes — what the knock-out (RF_GPU_PROFILE_SKIP) cannot
// say, since it also removes the bytes (docs/gpu_notes.md, twenty-first pass: the best form measured, 2
// blocks per SM, one load before the wait, chunks from the counter, 32 registers).
#pragma once

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/matvec.cuh"

namespace rf::gpu {

// Launches the stream of a's weights (type: the launch's weight type) on l.
void launch_weight_stream(Launcher& l, TensorType type, const MatvecArgs& a);

// If `kernel` is selected by RF_GPU_PROFILE_STREAM, launches the stream of its weights instead and
// returns true; otherwise launches nothing and returns false.
template <typename K>
bool launch_streamed_instead(Launcher& l, K kernel, TensorType type, const MatvecArgs& a) {
    if (!launch_streamed(reinterpret_cast<const void*>(kernel))) return false;
    launch_weight_stream(l, type, a);
    return true;
}

}  // namespace rf::gpu
