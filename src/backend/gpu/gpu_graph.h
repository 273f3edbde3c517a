// Runs the launches of one step, eagerly or as a replayed CUDA/HIP graph.
//
// run(emit) with graphs off emits once in Launch mode (kernel by kernel). With graphs on it calls
// emit(Launcher) once in DryRun mode to get the step's signatures, then:
//   - a cached graph with the same full signature: relaunch it (no capture, no update);
//   - a cached graph with the same topology: capture the step, update the cached executable in
//     place (cudaGraphExecUpdate; re-instantiate if the update is refused), launch;
//   - a topology seen once before: capture and instantiate a new cached graph, launch;
//   - a topology never seen: launch eagerly (one-off steps such as a long prefill do not pay
//     for instantiation).
// relaunch_last() replays the executable the last run() launched, without emitting: for a caller
// that knows the step is identical to the previous one (GpuBackendImpl's fast replay).
// At most kMaxGraphs executables are kept (least recently used goes first).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "backend/gpu/gpu_backend.h"
#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {

// Adds the host time of its scope to a GpuGraphStats counter (ns).
struct ScopedNs {
    explicit ScopedNs(int64_t& acc) : acc_(acc), t0_(std::chrono::steady_clock::now()) {}
    ~ScopedNs() {
        acc_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_).count();
    }
    ScopedNs(const ScopedNs&) = delete;
    ScopedNs& operator=(const ScopedNs&) = delete;

private:
    int64_t& acc_;
    std::chrono::steady_clock::time_point t0_;
};

class StepGraphs {
public:
    static constexpr size_t kMaxGraphs = 8;

    StepGraphs() = default;
    ~StepGraphs();
    StepGraphs(const StepGraphs&) = delete;
    StepGraphs& operator=(const StepGraphs&) = delete;

    void run(cudaStream_t stream, bool use_graphs, bool pdl, const std::function<void(Launcher&)>& emit,
             GpuGraphStats& stats);
    // False when the last run() did not end in a graph launch (eager, or nothing cached).
    bool relaunch_last(cudaStream_t stream, GpuGraphStats& stats);
    void clear();

private:
    struct Entry {
        std::vector<uint8_t> topology;
        std::vector<uint8_t> full;
        cudaGraphExec_t exec = nullptr;
        uint64_t last_use = 0;
    };
    cudaGraph_t capture(cudaStream_t stream, bool pdl, const std::function<void(Launcher&)>& emit);

    std::vector<Entry> entries_;
    std::vector<uint64_t> seen_topologies_;  // hashes of topologies run eagerly once
    uint64_t clock_ = 0;
    cudaGraphExec_t last_exec_ = nullptr;  // what the last run() launched (null: eager / nothing)
    int64_t last_kernels_ = 0;
};

}  // namespace rf::gpu
