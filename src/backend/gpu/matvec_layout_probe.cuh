// A probe for the batch-1 decode question "does DRAM page locality limit the many-token matvec's
// long rows" (docs/gpu_notes.md, tenth pass): the one-token Q4_0 path of the many-token kernel (three
// units per lane per iteration) timed on the planar layout (each row's blocks contiguous, a block's 4
// rows 9.5 KB apart at 18944 columns) and on the same bytes with the rows of each 4-row group
// interleaved per block ([row group][block][row in group]) or per run of 32 blocks ([row group][run]
// [row in group][32 blocks]): either way a block's warps read one contiguous run per unit column. Timing only: both layouts hold the same arbitrary bytes, the results are not
// compared. Benchmarks only.
#pragma once

#include <cstdint>

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

struct MatvecLayoutTiming {
    double us_planar = 0.0;
    double us_interleaved = 0.0;    // rows interleaved per block
    double us_interleaved32 = 0.0;  // per run of 32 blocks (a warp's column of units)
    double bytes = 0.0;  // weight bytes of one matrix
};

// rows % 4 == 0, cols % 256 == 0. `copies` matrices of each layout are rotated so that L2 does not
// hold the weights between launches; the median of `reps` launches each.
MatvecLayoutTiming time_matvec_layouts(cudaStream_t stream, int64_t rows, int64_t cols, int copies, int reps);

}  // namespace rf::gpu
