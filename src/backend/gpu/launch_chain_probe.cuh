// A probe for the batch-1 decode question "what does one kernel boundary cost inside a step"
// (docs/gpu_notes.md): a CUDA graph of n dependent kernels that do nothing but the dependency
// (every block reads the word the previous kernel wrote; block 0 writes the next word), replayed
// and timed per kernel, with and without programmatic dependent launch. Benchmarks only.
#pragma once

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

struct LaunchChainTiming {
    double us_per_kernel = 0.0;
    bool checked = false;  // the last kernel saw every earlier one's write
};

LaunchChainTiming time_launch_chain(cudaStream_t stream, int blocks, int threads, int n_kernels, bool pdl, int reps);

}  // namespace rf::gpu
