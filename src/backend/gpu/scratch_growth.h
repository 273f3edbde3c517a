// How a GPU scratch buffer grows (GpuBackendImpl::ensure_scratch): a buffer that must grow takes what
// is asked of it and at least a quarter more than it held, so that a size creeping up step by step
// costs a device synchronisation, a free and an allocation a logarithmic number of times rather than
// at every step.
#pragma once

#include <algorithm>
#include <cstddef>

namespace rf::gpu {

// have: the buffer's current size (0: none yet); need: the bytes the next use takes. Returns the size
// to allocate: `have` where it suffices (no growth), else at least need and 5/4 of have.
constexpr size_t scratch_bytes_after_growth(size_t have, size_t need) {
    if (have >= need) return have;
    return std::max(need, have + have / 4);
}

}  // namespace rf::gpu
