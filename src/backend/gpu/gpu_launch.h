// Every kernel launch of the GPU backend goes through a Launcher, which either launches it on
// the stream (Launch mode; inside a stream capture this records a graph node) or only appends
// its description to a signature (DryRun mode). Two signatures are kept:
//   topology: the sequence of kernels (and library calls), what a graph's shape depends on;
//   full:     topology + grid/block/shared-memory sizes + the bytes of every argument.
// The step runner (gpu_graph.h) replays a graph while the full signature repeats, updates it in
// place when only the full signature changed, and captures a new one when the topology changed.
// Arguments are hashed by their bytes, so argument structs must have no padding (use
// zeroed<T>() to build them).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <functional>
#include <tuple>
#include <type_traits>
#include <vector>

#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/gpu_errors.h"

namespace rf::gpu {

template <typename T>
T zeroed() {
    static_assert(std::is_trivially_copyable_v<T>);
    T t;
    std::memset(static_cast<void*>(&t), 0, sizeof t);
    return t;
}

// Profiling knock-out (RF_GPU_PROFILE_SKIP, gpu_emit.cpp; benchmarks only): kernels whose name
// contains one of the substrings are not launched and leave their outputs stale, so a step timed
// without them says what they cost inside the step (with programmatic dependent launch, where
// isolated or serialized timings cannot). An entry "NAME@N/P" knocks out only the launches N, N + P, ...
// among a step's launches of a kernel whose name contains NAME (from 0: one of the launches per layer a
// kernel serves, e.g. the q/k/v of "q/k/v, wo, down"). An empty list switches it off. Not on HIP.
void set_launch_skip(const std::vector<std::string>& substrings);
extern bool g_launch_skip_active;
// nth: the launch's number among the launches of `kernel` in its Launcher (from 0)
bool launch_skipped_slow(const void* kernel, int64_t nth);

// Profiling substitute (RF_GPU_PROFILE_STREAM, weight_stream.cuh; benchmarks only): matvec kernels whose
// name contains one of the substrings are replaced by a plain stream of their weight bytes. Empty: off.
// shape: blocks of 256 threads per SM, the 16-byte loads per thread before the PDL wait (0, 1 or 4),
// the split: 0 grid-stride, 1 16 KB chunks taken from a counter, 2 the same chunks dealt statically;
// and registers held live for nothing (0, kStreamPadSmall or kStreamPadLarge)
constexpr int kStreamPadSmall = 32;
constexpr int kStreamPadLarge = 72;
struct StreamShape {
    int blocks_per_sm = 4;
    int early_loads = 4;
    int split = 0;
    int pad_regs = 0;
    bool operator==(const StreamShape&) const = default;
};
// n_sm: the device's SMs (the stream's grid is shape.blocks_per_sm x n_sm)
void set_launch_stream(const std::vector<std::string>& substrings, StreamShape shape, int n_sm);
struct StreamLaunch {
    StreamShape shape;
    int n_sm = 1;
};
StreamLaunch launch_stream_config();
extern bool g_launch_stream_active;
bool launch_streamed_slow(const void* kernel);
inline bool launch_streamed(const void* kernel) { return g_launch_stream_active && launch_streamed_slow(kernel); }

class Launcher {
public:
    enum class Mode { DryRun, Launch };

    // pdl: launch kernels with programmatic stream serialization (CUDA, sm_90+; see RF_PDL_ENTRY).
    Launcher(Mode mode, cudaStream_t stream, bool pdl = false) : mode_(mode), stream_(stream), pdl_(pdl) {
        if (mode_ == Mode::DryRun) topo_.push_back(pdl ? 1 : 0);
    }

    Mode mode() const { return mode_; }
    cudaStream_t stream() const { return stream_; }
    const std::vector<uint8_t>& full_signature() const { return full_; }
    const std::vector<uint8_t>& topology() const { return topo_; }
    int64_t kernels() const { return kernels_; }
    bool pdl() const { return pdl_; }

#if defined(__CUDACC__) || defined(__HIPCC__)
    template <typename... KArgs, typename... Args>
    void launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, Args&&... args) {
        static_assert(sizeof...(KArgs) == sizeof...(Args), "kernel argument count");
        ++kernels_;
        if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;  // nothing to do (empty shapes)
        if (g_launch_skip_active && skipped(reinterpret_cast<const void*>(kernel))) return;  // profiling knock-out
        if (mode_ == Mode::DryRun) {
            const void* fn = reinterpret_cast<const void*>(kernel);
            append(topo_, &fn, sizeof fn);
            append(full_, &fn, sizeof fn);
            const uint32_t dims[7] = {grid.x, grid.y, grid.z, block.x, block.y, block.z, static_cast<uint32_t>(smem)};
            append(full_, dims, sizeof dims);
            const std::tuple<KArgs...> converted(static_cast<KArgs>(args)...);
            std::apply([&](const auto&... a) { (append(full_, &a, sizeof a), ...); }, converted);
            return;
        }
#if !defined(ROCMFORGE_WITH_HIP)
        if (pdl_) {
            cudaLaunchConfig_t cfg = {};
            cfg.gridDim = grid;
            cfg.blockDim = block;
            cfg.dynamicSmemBytes = smem;
            cfg.stream = stream_;
            cudaLaunchAttribute attr[1];
            attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
            attr[0].val.programmaticStreamSerializationAllowed = 1;
            cfg.attrs = attr;
            cfg.numAttrs = 1;
            RF_GPU_CALL(cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...));
            return;
        }
#endif
        kernel<<<grid, block, smem, stream_>>>(static_cast<KArgs>(args)...);
        RF_GPU_CALL(cudaPeekAtLastError());
    }
#endif

#if defined(__CUDACC__) || defined(__HIPCC__)
    // A kernel that takes more dynamic shared memory than the default limit (48 KiB): the limit of
    // `kernel` is raised to `smem` first (once per kernel and size), then it is launched.
    template <typename... KArgs, typename... Args>
    void launch_large_smem(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, Args&&... args) {
        static std::mutex mu;
        static std::vector<std::pair<const void*, size_t>> raised;
        const void* fn = reinterpret_cast<const void*>(kernel);
        {
            const std::lock_guard<std::mutex> lock(mu);
            if (std::find(raised.begin(), raised.end(), std::make_pair(fn, smem)) == raised.end()) {
                RF_GPU_CALL(cudaFuncSetAttribute(fn, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
                raised.emplace_back(fn, smem);
            }
        }
        launch(kernel, grid, block, smem, std::forward<Args>(args)...);
    }
#endif

    // A library call (BLAS) described by a tag and its parameter bytes; `run` issues it on the
    // stream in Launch mode.
    void custom(uint32_t tag, const void* params, size_t bytes, const std::function<void(cudaStream_t)>& run) {
        ++kernels_;
        if (mode_ == Mode::DryRun) {
            append(topo_, &tag, sizeof tag);
            append(full_, &tag, sizeof tag);
            append(full_, params, bytes);
            return;
        }
        run(stream_);
    }

private:
    // the profiling knock-out's decision for this launch of `fn` (counted per kernel in this Launcher)
    bool skipped(const void* fn) {
        auto it = std::find_if(launches_of_.begin(), launches_of_.end(), [&](const auto& p) { return p.first == fn; });
        if (it == launches_of_.end()) it = launches_of_.insert(launches_of_.end(), {fn, 0});
        return launch_skipped_slow(fn, it->second++);
    }

    static void append(std::vector<uint8_t>& v, const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        v.insert(v.end(), b, b + n);
    }

    Mode mode_;
    cudaStream_t stream_;
    bool pdl_ = false;
    std::vector<uint8_t> full_, topo_;
    int64_t kernels_ = 0;
    std::vector<std::pair<const void*, int64_t>> launches_of_;  // kernel -> its launches so far (knock-out only)
};

inline unsigned ceil_div(int64_t a, int64_t b) { return static_cast<unsigned>((a + b - 1) / b); }

}  // namespace rf::gpu
