// Profiling substitute (RF_GPU_PROFILE_STREAM=a,b; benchmarks only, results are wrong): a matvec
// launch whose kernel name contains a or b is replaced by a plain streaming read of the same weight
// bytes (every plane of every matrix of the launch, grid-stride over 4 blocks of 256 threads per
// SM, four 16-byte loads per thread in flight, the first batch before the
// programmatic-dependent-launch wait). Nothing is written, so everything after it reads stale
// values. A step timed with a kernel class substituted says how far that class is, inside the step,
// from a perfect stream of its bytes — what the knock-out (RF_GPU_PROFILE_SKIP) cannot say, since
// it also removes the bytes (benchmarks/probes/layer_ring_probe.cu measured the same step shape as
// a chain of such streams).
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
