// Whole-step trace (profiling only; the build option ROCMFORGE_GPU_STEP_TRACE, CUDA): every kernel of
// the decode step opens RF_STEP_TRACE_SCOPE(tag, info) at its top and stamps RF_STEP_TRACE_WAIT() after
// its programmatic-dependent-launch wait. While a target is set (step_trace_set) thread 0 of each
// block takes a record from the target's counter and writes kStepTraceWords words:
//   [0] tag << 32 | info   [1] grid blocks << 32 | linear block id   [2] SM id
//   [3] global timer (ns) at entry   [4] ... after the wait (0: none)   [5] ... at thread 0's return
//   [6], [7] ... at the kernel's own marks (RF_STEP_TRACE_MARK(0 / 1); 0: none), e.g. x staged, dots done
// (src/backend/gpu_host/step_trace_timeline.h groups them into launches). Without the option, or on
// HIP, the macros are empty and the kernels are unchanged.
//
// Each translation unit has its own copy of the device target (no relocatable device code): every
// copy registers its symbol at static initialisation, and step_trace_set writes them all.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu_host/step_trace_timeline.h"

namespace rf::gpu {

struct StepTraceTarget {
    unsigned long long* words = nullptr;  // capacity * kStepTraceWords (null: off)
    unsigned int* count = nullptr;        // records taken so far (may exceed capacity: those are dropped)
    unsigned int capacity = 0;
    unsigned int pad = 0;
};

// Whether this build stamps anything (ROCMFORGE_GPU_STEP_TRACE on CUDA).
bool step_trace_compiled();
// Host: a translation unit's device target (its symbol), registered at static initialisation.
void step_trace_register_symbol(const void* symbol);
// Host: sets every registered device target (t.words null: off). Synchronous.
void step_trace_set(const StepTraceTarget& t);

}  // namespace rf::gpu

#if defined(ROCMFORGE_GPU_STEP_TRACE) && defined(__CUDACC__) && !defined(ROCMFORGE_WITH_HIP)

namespace rf::gpu {
namespace {

__device__ StepTraceTarget g_step_trace;

#if !defined(__CUDA_ARCH__)
struct StepTraceRegistrar {
    StepTraceRegistrar() { step_trace_register_symbol(&g_step_trace); }
};
const StepTraceRegistrar g_step_trace_registrar;
#endif

__device__ __forceinline__ unsigned long long step_trace_timer() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// One block's record, held by its thread 0 (null in every other thread and without a target).
struct StepTraceScope {
    unsigned long long* rec = nullptr;
    __device__ __forceinline__ StepTraceScope(uint32_t tag, uint32_t info) {
        if (threadIdx.x != 0 || threadIdx.y != 0 || threadIdx.z != 0) return;
        const StepTraceTarget t = g_step_trace;
        if (t.words == nullptr) return;
        const unsigned i = atomicAdd(t.count, 1u);
        if (i >= t.capacity) return;
        rec = t.words + static_cast<size_t>(i) * kStepTraceWords;
        const unsigned grid = gridDim.x * gridDim.y * gridDim.z;
        const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
        unsigned smid;
        asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
        rec[0] = (static_cast<unsigned long long>(tag) << 32) | info;
        rec[1] = (static_cast<unsigned long long>(grid) << 32) | block;
        rec[2] = smid;
        rec[3] = step_trace_timer();
        rec[4] = 0;
        rec[5] = 0;
        rec[6] = 0;
        rec[7] = 0;
    }
    __device__ __forceinline__ void waited() const {
        if (rec != nullptr) rec[4] = step_trace_timer();
    }
    __device__ __forceinline__ void mark(int k) const {
        if (rec != nullptr) rec[6 + k] = step_trace_timer();
    }
    __device__ __forceinline__ ~StepTraceScope() {
        if (rec != nullptr) rec[5] = step_trace_timer();
    }
};

}  // namespace
}  // namespace rf::gpu

#define RF_STEP_TRACE_SCOPE(tag, info)                                                                    \
    const ::rf::gpu::StepTraceScope rf_step_trace_scope_(static_cast<uint32_t>(::rf::StepTraceTag::tag), \
                                                         static_cast<uint32_t>(info))
#define RF_STEP_TRACE_WAIT() rf_step_trace_scope_.waited()
#define RF_STEP_TRACE_MARK(k) rf_step_trace_scope_.mark(k)

#else

#define RF_STEP_TRACE_SCOPE(tag, info) \
    do {                               \
    } while (0)
#define RF_STEP_TRACE_WAIT() \
    do {                     \
    } while (0)
#define RF_STEP_TRACE_MARK(k) \
    do {                      \
    } while (0)

#endif
