// Recording the whole-step trace (profiling builds, step_trace.cuh) and the engine's use of it.
//
// StepTraceRecorder: a device buffer for the records; start() sets every kernel's target to it, stop()
// (with the device idle) clears the target and returns the records grouped into launches
// (step_trace_timeline.h). Used by the step benchmark and by StepTraceSession.
//
// StepTraceSession, on the engine's own decode steps: RF_GPU_STEP_TRACE=N or K:N traces the
// begin_steps K + 1 .. K + N of the backend (K default 16) and then prints the report of the complete
// steps among them to stderr. The backend idles the device at the window's two edges (those two steps
// are perturbed, not traced).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/gpu_host/step_trace_timeline.h"

namespace rf::gpu {

class StepTraceRecorder {
public:
    StepTraceRecorder() = default;
    ~StepTraceRecorder();
    StepTraceRecorder(const StepTraceRecorder&) = delete;
    StepTraceRecorder& operator=(const StepTraceRecorder&) = delete;

    // Fails naming the build option where this build has no stamps.
    void start();
    // Call with the device idle. Fails where the buffer overflowed (trace fewer steps).
    std::vector<StepTraceLaunch> stop();

private:
    void* buf_ = nullptr;
    bool on_ = false;
};

class StepTraceSession {
public:
    // Null when RF_GPU_STEP_TRACE is unset; a malformed value, or a build without the stamps, fails
    // naming the variable.
    static std::unique_ptr<StepTraceSession> from_env();

    // Called at every begin_step; true where the device must be idle before on_edge (a window edge).
    bool next_step_is_edge();
    // With the device idle: opens the window or closes it (and prints the report).
    void on_edge();

private:
    StepTraceSession(int64_t skip, int64_t steps) : skip_(skip), steps_(steps) {}
    int64_t skip_, steps_, seen_ = 0;
    bool open_ = false, done_ = false;
    StepTraceRecorder recorder_;
};

}  // namespace rf::gpu
