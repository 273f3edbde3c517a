// A probe for the persistent-kernel question of batch-1 decode (docs/gpu_notes.md): how long a
// device-wide barrier takes on this GPU. A grid of blocks_per_sm blocks per SM (all resident)
// runs n_barriers barriers; the time of a launch with no barrier is subtracted. Two barriers:
//   Generation: block barrier, one arrival atomic per block (fenced), the last arriver resets the
//               count and bumps a generation word the others spin on;
//   Flip:       one release add per block to a word whose top bit flips when all have arrived
//               (cooperative groups' scheme), acquire spin on it.
// Benchmarks only (not used by the backend).
#pragma once

#include <cstdint>

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

struct GridBarrierTiming {
    double launch_us = 0.0;       // the same grid with no barrier, per launch
    double us_per_barrier = 0.0;  // (time with n barriers - launch) / n
    int blocks = 0;
    int threads = 0;
    bool checked = true;  // Flip: a checked launch saw no block leave a barrier early
};

enum class GridBarrierKind { Generation, Flip };

GridBarrierTiming time_grid_barrier(cudaStream_t stream, int n_sm, int blocks_per_sm, int threads, int n_barriers,
                                    GridBarrierKind kind);

}  // namespace rf::gpu
