// A probe for the persistent-kernel question of batch-1 decode (docs/gpu_notes.md): how long a
// device-wide barrier takes on this GPU. A grid of blocks_per_sm blocks per SM (all resident)
// runs n_barriers barriers (block barrier, one arrival atomic per block, spin on a generation
// word); the time of a launch with no barrier is subtracted. Benchmarks only (not used by the
// backend).
#pragma once

#include <cstdint>

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

struct GridBarrierTiming {
    double launch_us = 0.0;       // the same grid with no barrier, per launch
    double us_per_barrier = 0.0;  // (time with n barriers - launch) / n
    int blocks = 0;
    int threads = 0;
};

GridBarrierTiming time_grid_barrier(cudaStream_t stream, int n_sm, int blocks_per_sm, int threads, int n_barriers);

}  // namespace rf::gpu
