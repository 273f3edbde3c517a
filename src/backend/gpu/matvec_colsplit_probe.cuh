// A probe for the batch-1 decode question "is the activation traffic of the many-token matvec's one
// warp per row what holds its long rows back" (docs/gpu_notes.md, eleventh pass): Q4_0, one token,
// the planar layout. The many-token kernel gives each of a block's 4 warps a row, so every warp loads
// all of x (40 bytes of x per 18 bytes of weights through L1); the column-split kernel gives a block
// R rows and splits their units over all of its threads (thread t: units t, t + THREADS, ...), so
// each x unit is loaded once per block and dotted with R rows' weights, and the rows are reduced
// across the block at the end. Timing and a comparison of the outputs (same matrix, same x).
// Benchmarks only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

struct ColsplitTiming {
    std::string name;
    double us = 0.0;
    double max_rel_diff = 0.0;  // against the many-token kernel's output
};

// rows % 8 == 0, cols % 256 == 0. `copies` matrices rotated so that L2 does not hold the weights
// between launches; the median of `reps` launches each. The first entry is the many-token kernel.
std::vector<ColsplitTiming> time_matvec_colsplit(cudaStream_t stream, int64_t rows, int64_t cols, int copies, int reps);

}  // namespace rf::gpu
