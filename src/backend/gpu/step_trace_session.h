// The whole-step trace on the engine's own decode steps (profiling builds, step_trace.cuh):
// RF_GPU_STEP_TRACE=N or K:N traces the begin_steps K + 1 .. K + N of the backend (K default 16) and
// then prints the timeline of the complete steps among them (step_trace_timeline.h) to stderr. The
// backend idles the device at the window's two edges (those two steps are perturbed, not traced).
#pragma once

#include <cstdint>
#include <memory>

namespace rf::gpu {

class StepTraceSession {
public:
    // Null when RF_GPU_STEP_TRACE is unset; a malformed value, or a build without the stamps, fails
    // naming the variable.
    static std::unique_ptr<StepTraceSession> from_env();
    ~StepTraceSession();
    StepTraceSession(const StepTraceSession&) = delete;
    StepTraceSession& operator=(const StepTraceSession&) = delete;

    // Called at every begin_step; true where the device must be idle before on_edge (a window edge).
    bool next_step_is_edge();
    // With the device idle: opens the window (sets the device target) or closes it (clears it,
    // downloads the records and prints the timeline).
    void on_edge();

private:
    StepTraceSession(int64_t skip, int64_t steps);
    int64_t skip_, steps_, seen_ = 0;
    bool open_ = false, done_ = false;
    void* buf_ = nullptr;
};

}  // namespace rf::gpu
