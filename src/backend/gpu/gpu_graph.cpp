#include "backend/gpu/gpu_graph.h"

#include <algorithm>
#include <exception>

#include "backend/gpu/gpu_check.h"

namespace rf::gpu {
namespace {

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
    return h ^ bytes.size();
}

// True when the executable now runs `graph` (same topology, parameters changed).
bool exec_update(cudaGraphExec_t exec, cudaGraph_t graph) {
#if defined(ROCMFORGE_WITH_HIP)
    hipGraphNode_t error_node = nullptr;
    hipGraphExecUpdateResult result = hipGraphExecUpdateSuccess;
    const hipError_t err = hipGraphExecUpdate(exec, graph, &error_node, &result);
#else
    cudaGraphExecUpdateResultInfo info{};
    const cudaError_t err = cudaGraphExecUpdate(exec, graph, &info);
#endif
    if (err != cudaSuccess) {
        (void)cudaGetLastError();  // a refused update leaves a sticky-free error behind
        return false;
    }
    return true;
}

}  // namespace

StepGraphs::~StepGraphs() { clear(); }

void StepGraphs::clear() {
    for (auto& e : entries_)
        if (e.exec) (void)cudaGraphExecDestroy(e.exec);
    entries_.clear();
    seen_topologies_.clear();
    last_exec_ = nullptr;
}

bool StepGraphs::relaunch_last(cudaStream_t stream, GpuGraphStats& stats) {
    if (last_exec_ == nullptr) return false;
    RF_GPU_CHECK(cudaGraphLaunch(last_exec_, stream));
    ++stats.steps;
    ++stats.graph_launches;
    ++stats.fast_replays;
    stats.kernels += last_kernels_;
    return true;
}

cudaGraph_t StepGraphs::capture(cudaStream_t stream, bool pdl, const std::function<void(Launcher&)>& emit) {
    RF_GPU_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
    Launcher launcher(Launcher::Mode::Launch, stream, pdl);
    try {
        emit(launcher);
    } catch (...) {
        cudaGraph_t broken = nullptr;
        (void)cudaStreamEndCapture(stream, &broken);
        if (broken) (void)cudaGraphDestroy(broken);
        throw;
    }
    cudaGraph_t graph = nullptr;
    RF_GPU_CHECK(cudaStreamEndCapture(stream, &graph));
    return graph;
}

void StepGraphs::run(cudaStream_t stream, bool use_graphs, bool pdl, const std::function<void(Launcher&)>& emit,
                     GpuGraphStats& stats) {
    last_exec_ = nullptr;
    if (!use_graphs) {  // no signature needed: launch directly
        Launcher launcher(Launcher::Mode::Launch, stream, pdl);
        emit(launcher);
        if (launcher.kernels() == 0) return;
        ++stats.steps;
        stats.kernels += launcher.kernels();
        ++stats.eager_flushes;
        return;
    }
    Launcher dry(Launcher::Mode::DryRun, stream, pdl);
    emit(dry);
    if (dry.kernels() == 0) return;
    ++stats.steps;
    stats.kernels += dry.kernels();
    ++clock_;
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.topology == dry.topology(); });
    if (it != entries_.end()) {
        it->last_use = clock_;
        if (it->full != dry.full_signature()) {
            ScopedNs timer(stats.graph_build_ns);
            cudaGraph_t graph = capture(stream, pdl, emit);
            if (exec_update(it->exec, graph)) {
                ++stats.graph_updates;
            } else {
                (void)cudaGraphExecDestroy(it->exec);
                it->exec = nullptr;
                const cudaError_t err = cudaGraphInstantiate(&it->exec, graph, 0);
                (void)cudaGraphDestroy(graph);
                if (err != cudaSuccess) {
                    entries_.erase(it);
                    RF_GPU_CHECK(err);
                }
                ++stats.graph_instantiations;
                graph = nullptr;
            }
            if (graph) RF_GPU_CHECK(cudaGraphDestroy(graph));
            it->full = dry.full_signature();
        }
        RF_GPU_CHECK(cudaGraphLaunch(it->exec, stream));
        ++stats.graph_launches;
        last_exec_ = it->exec;
        last_kernels_ = dry.kernels();
        return;
    }

    const uint64_t h = fnv1a(dry.topology());
    if (std::find(seen_topologies_.begin(), seen_topologies_.end(), h) == seen_topologies_.end()) {
        seen_topologies_.push_back(h);
        if (seen_topologies_.size() > 64) seen_topologies_.erase(seen_topologies_.begin());
        Launcher launcher(Launcher::Mode::Launch, stream, pdl);
        emit(launcher);
        ++stats.eager_flushes;
        return;
    }

    if (entries_.size() >= kMaxGraphs) {
        auto lru = std::min_element(entries_.begin(), entries_.end(),
                                    [](const Entry& a, const Entry& b) { return a.last_use < b.last_use; });
        if (lru->exec) (void)cudaGraphExecDestroy(lru->exec);
        entries_.erase(lru);
    }
    Entry e;
    {
        ScopedNs timer(stats.graph_build_ns);
        cudaGraph_t graph = capture(stream, pdl, emit);
        e.topology = dry.topology();
        e.full = dry.full_signature();
        e.last_use = clock_;
        const cudaError_t err = cudaGraphInstantiate(&e.exec, graph, 0);
        (void)cudaGraphDestroy(graph);
        RF_GPU_CHECK(err);
    }
    ++stats.graph_instantiations;
    entries_.push_back(std::move(e));
    RF_GPU_CHECK(cudaGraphLaunch(entries_.back().exec, stream));
    ++stats.graph_launches;
    last_exec_ = entries_.back().exec;
    last_kernels_ = dry.kernels();
}

}  // namespace rf::gpu
