// Copying a decode step's data (ints in pinned host memory, through its device mapping) into the step
// buffer from inside a kernel that waits on its predecessor (programmatic dependent launch): the host
// reads, a PCIe round trip that depends on no earlier kernel, are issued before the wait so that their
// latency overlaps the kernel before; the writes come after it. Shared by the step upload kernel
// (elementwise.cu, a grid of its own) and the greedy chain's final kernel (sampling.cu, one block,
// token 0 its own result).
#pragma once

#include <cstdint>

namespace rf::gpu {

constexpr int kStepCopyHeld = 4;  // ints per thread read before the wait

// Thread `first` of `stride` threads: its first kStepCopyHeld ints of src[0, n).
__device__ inline void step_copy_load(const int32_t* src, int64_t n, int64_t first, int64_t stride,
                                      int32_t (&held)[kStepCopyHeld]) {
#pragma unroll
    for (int k = 0; k < kStepCopyHeld; ++k) held[k] = first + k * stride < n ? src[first + k * stride] : 0;
}

// After the wait: the held ints and the rest of src to dst; dst[0] only where write0 (else its writer
// is someone else: the token).
__device__ inline void step_copy_store(int32_t* dst, const int32_t* src, int64_t n, int64_t first, int64_t stride,
                                       const int32_t (&held)[kStepCopyHeld], bool write0) {
#pragma unroll
    for (int k = 0; k < kStepCopyHeld; ++k) {
        const int64_t i = first + k * stride;
        if (i < n && (i > 0 || write0)) dst[i] = held[k];
    }
    for (int64_t i = first + kStepCopyHeld * stride; i < n; i += stride) dst[i] = src[i];
}

}  // namespace rf::gpu
