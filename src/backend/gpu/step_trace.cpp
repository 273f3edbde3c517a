// Host side of the whole-step trace (step_trace.cuh): the registry of every translation unit's device
// target, and writing them.
#include <mutex>
#include <vector>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}
std::vector<const void*>& registry() {
    static std::vector<const void*> r;
    return r;
}

}  // namespace

bool step_trace_compiled() {
#if defined(ROCMFORGE_GPU_STEP_TRACE) && !defined(ROCMFORGE_WITH_HIP)
    return true;
#else
    return false;
#endif
}

void step_trace_register_symbol(const void* symbol) {
    const std::lock_guard<std::mutex> lock(registry_mutex());
    registry().push_back(symbol);
}

void step_trace_set(const StepTraceTarget& t) {
#if !defined(ROCMFORGE_WITH_HIP)
    const std::lock_guard<std::mutex> lock(registry_mutex());
    for (const void* symbol : registry()) RF_GPU_CALL(cudaMemcpyToSymbol(symbol, &t, sizeof t));
#else
    (void)t;
#endif
}

}  // namespace rf::gpu
