// The profiling selections of gpu_launch.h: kernels knocked out (RF_GPU_PROFILE_SKIP) or replaced by a
// stream of their weights (RF_GPU_PROFILE_STREAM), both chosen by kernel-name substrings.
#include "backend/gpu/gpu_launch.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace rf::gpu {

bool g_launch_skip_active = false;
bool g_launch_stream_active = false;

namespace {

// Kernels selected by name substrings (looked up once per kernel with cudaFuncGetName).
class KernelNameSet {
  public:
    // false if the list is the one already set
    bool set(const std::vector<std::string>& substrings, const char* what) {
        const std::lock_guard<std::mutex> lock(mu_);
        if (substrings == substrings_) return false;
#if defined(ROCMFORGE_WITH_HIP)
        if (!substrings.empty())
            fail_message(std::string("gpu: ") + what +
                         " needs kernel names (cudaFuncGetName): CUDA builds only");
#else
        (void)what;
#endif
        substrings_ = substrings;
        decided_.clear();
        return true;
    }
    bool contains(const void* kernel) {
        const std::lock_guard<std::mutex> lock(mu_);
        if (substrings_.empty()) return false;
        if (const auto it = decided_.find(kernel); it != decided_.end()) return it->second;
        bool hit = false;
#if !defined(ROCMFORGE_WITH_HIP)
        const char* name = nullptr;
        RF_GPU_CALL(cudaFuncGetName(&name, kernel));
        const std::string n = name ? name : "";
        hit = std::any_of(substrings_.begin(), substrings_.end(),
                          [&](const std::string& s) { return n.find(s) != std::string::npos; });
#endif
        decided_.emplace(kernel, hit);
        return hit;
    }

  private:
    std::mutex mu_;
    std::vector<std::string> substrings_;
    std::unordered_map<const void*, bool> decided_;  // kernel -> selected
};

KernelNameSet g_skip, g_stream;
std::mutex g_shape_mu;
StreamLaunch g_stream_launch;

}  // namespace

void set_launch_skip(const std::vector<std::string>& substrings) {
    if (g_skip.set(substrings, "RF_GPU_PROFILE_SKIP")) g_launch_skip_active = !substrings.empty();
}

bool launch_skipped_slow(const void* kernel) {
    return g_skip.contains(kernel);
}

void set_launch_stream(const std::vector<std::string>& substrings, StreamShape shape, int n_sm) {
    if (g_stream.set(substrings, "RF_GPU_PROFILE_STREAM"))
        g_launch_stream_active = !substrings.empty();
    const std::lock_guard<std::mutex> lock(g_shape_mu);
    g_stream_launch = {shape, std::max(1, n_sm)};
}

StreamLaunch launch_stream_config() {
    const std::lock_guard<std::mutex> lock(g_shape_mu);
    return g_stream_launch;
}

bool launch_streamed_slow(const void* kernel) {
    return g_stream.contains(kernel);
}

}  // namespace rf::gpu
